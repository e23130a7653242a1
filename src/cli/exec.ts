import { type Command, Option } from 'commander';
import { TesseraClient } from '../client/client.ts';
import { startFailureStatus } from '../delivery/command.ts';
import { type ExecResult, execTask } from '../delivery/exec.ts';
import { flushed } from '../delivery/output-reader.ts';
import { planExit } from '../delivery/signals.ts';
import { TesseraError } from '../errors.ts';
import {
  LOGIN_ROLE_VARIABLE,
  SECRETS_VARIABLE,
  taskFromEnvironment,
  taskIdFromEnvironment,
} from '../mesos/secrets-variable.ts';
import { readTaskAndExecutor, type TaskAndExecutor } from '../mesos/task.ts';
import { addressOption, readUtf8Input, tlsFrom } from './context.ts';
import { execToken } from './exec-login.ts';
import {
  addDeliveryOptions,
  changePolicies,
  DEFAULT_RECHECK_SECONDS,
  deliverySettings,
} from './exec-options.ts';
import { TaskVersionReport } from './exec-report.ts';

const HELP = `
The task file is a Mesos TaskInfo in the v1 JSON form, or a LAUNCH or LAUNCH_GROUP call
holding one task. Its SECRET environment variables are set in the command's
environment; its SECRET volumes are written to a private directory on tmpfs and linked
at their container_path (relative paths under $MESOS_SANDBOX, else the working
directory), and removed when the command ends. The command is the TaskInfo's own, or
the one given after --. TESSERA_TOKEN is not passed on to the command.

Without --task, the secrets come from TESSERA_SECRETS (written by tessera wrap) and
the command after -- is required; the task id is TESSERA_TASK_ID, else MESOS_TASK_ID.

Without TESSERA_TOKEN, a task with ${LOGIN_ROLE_VARIABLE} set logs in as a Mesos
task under that login role; the server must follow the master (docs/mesos.md).

Examples:
  tessera exec --task task.json
  tessera exec --task launch.json -- sh -c 'echo "user is $DB_USER"'
  TESSERA_SECRETS='{"version":1,"env":[...],"files":[]}' tessera exec -- ./server
`;

/** Registers `tessera exec [--task FILE] [--] [COMMAND...]`. */
export function registerExec(program: Command) {
  const exec = program
    .command('exec')
    .summary("run a Mesos task's command with its secrets in place")
    .option('--task <file>', 'TaskInfo JSON, or - for standard input; else TESSERA_SECRETS')
    .addOption(
      new Option('--tmpfs-dir <dir>', 'tmpfs directory for file secrets').env('TESSERA_TMPFS_DIR'),
    )
    .addOption(
      new Option(
        '--allow-non-tmpfs',
        'let --tmpfs-dir be a directory that is not on tmpfs, so file secrets may reach a disk',
      ).env('TESSERA_ALLOW_NON_TMPFS'),
    )
    .addOption(addressOption());
  addDeliveryOptions(exec)
    .argument('[command...]', "command to run instead of the task's own")
    .passThroughOptions()
    .addHelpText('after', HELP)
    .action(async (command: string[], options, self: Command) => {
      const usage = (message: string) => self.error(`error: ${message}`);
      const { task, groupExecutor } = await readExecTask(options.task, command, usage);
      const policies = changePolicies(task, options.onChange, usage);
      const log = (line: string) => process.stderr.write(`tessera exec: ${line}\n`);
      const startTimeoutMs = options.startTimeout * 1000;
      // A task read from TESSERA_SECRETS without a task id is named `unknown`, and cannot log in.
      const taskId =
        options.task === undefined ? taskIdFromEnvironment(process.env) : task.task_id.value;
      const login = await execToken(options.address, taskId, process.env, { startTimeoutMs, log });
      const { token } = login;
      const client = new TesseraClient({
        address: options.address,
        token,
        tls: tlsFrom(process.env),
      });
      // The report is refreshed at the pace of the periodic check, and lapses on the
      // server after a few missed refreshes, so that a run killed with SIGKILL drops out.
      const report = new TaskVersionReport({
        client,
        taskId: task.task_id.value,
        refreshMs: (options.recheckInterval || DEFAULT_RECHECK_SECONDS) * 1000,
        log,
      });
      try {
        const result = await execTask({
          task,
          groupExecutor,
          command: command.length > 0 ? command : undefined,
          resolve: report.resolve,
          onValuesInUse: report.inUse,
          env: process.env,
          cwd: workingDirectory(),
          tmpfsDir: options.tmpfsDir,
          allowNonTmpfs: options.allowNonTmpfs === true,
          log,
          ...deliverySettings(options, task, policies, { address: client.address, token }, log),
        });
        // After output was dropped at a stop, Mesos's SIGKILL may be near, so the report of
        // the task's end is not waited for. The server lets an end it never hears of lapse.
        const ending = report.end();
        const stopped = result.outputDropped === true || (await untilSigterm(ending));
        await passOn(result, stopped);
      } catch (error) {
        await report.end();
        throw error;
      } finally {
        login.stop();
      }
    });
}

// `--task` wins over TESSERA_SECRETS, so a wrapped task can still be run from a file.
// Without either, or without a command for TESSERA_SECRETS, the call is a usage error.
async function readExecTask(
  file: string | undefined,
  command: string[],
  usage: (message: string) => never,
): Promise<TaskAndExecutor> {
  if (file !== undefined) {
    const source = file === '-' ? 'standard input' : file;
    return readTaskAndExecutor(await readUtf8Input(file, 'the task file'), source);
  }

  const task = taskFromEnvironment(process.env);
  if (task === undefined) {
    usage(`no task given: pass --task FILE, or set ${SECRETS_VARIABLE} (tessera wrap writes it)`);
  }
  if (command.length === 0) {
    usage(`${SECRETS_VARIABLE} carries no command; give the command to run after --`);
  }
  return { task, groupExecutor: undefined };
}

// The directory exec runs in, where the command starts too. It may have been removed
// while a shell was still in it, and then the command cannot start there.
function workingDirectory(): string {
  try {
    return process.cwd();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new TesseraError(
      'DELIVERY_FAILED',
      `cannot start the command: the working directory is gone (${code}); ` +
        'run tessera exec from a directory that exists',
      { code, exitStatus: startFailureStatus(code) },
    );
  }
}

// Waits for `work`, or for a SIGTERM, which would otherwise end exec by its default
// action and lose the command's status: exec's own handlers are gone by then. Returns
// true when the SIGTERM came first.
async function untilSigterm(work: Promise<void>): Promise<boolean> {
  let stopped = () => {};
  const sigterm = new Promise<boolean>((done) => {
    stopped = () => done(true);
  });
  process.once('SIGTERM', stopped);
  try {
    return await Promise.race([work.then(() => false), sigterm]);
  } finally {
    process.removeListener('SIGTERM', stopped);
  }
}

// Exits as the command did: with its code, or by the same signal, so that Mesos records
// the task's real end. A signal that dumps core becomes the status 128 + N instead. With
// `now`, exec is being stopped, and exits without waiting for its output or its requests.
async function passOn(result: ExecResult, now: boolean): Promise<void> {
  const plan = planExit(result);
  if (plan.kind === 'raise') {
    // The signal ends exec at once, so the output still queued for a slow reader goes
    // out first, as it does before an exit, unless exec is being stopped.
    if (!now) await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
    process.removeAllListeners(plan.signal);
    process.kill(process.pid, plan.signal);
    return;
  }

  if (plan.message !== undefined) {
    process.stderr.write(`tessera exec: ${plan.message}\n`);
  }
  process.exitCode = plan.code;
  // A write queued for a reader that takes nothing, or a request to a server that sends
  // no response, would keep exec running.
  if (now) process.exit();
}
