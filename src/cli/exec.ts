import { type Command, Option } from 'commander';
import type { TesseraClient } from '../client/client.ts';
import { type ExecResult, execTask } from '../delivery/exec.ts';
import { TesseraError } from '../errors.ts';
import { decodeBase64 } from '../mesos/base64.ts';
import { readTaskText } from '../mesos/task.ts';
import type { Secret } from '../mesos/types.ts';
import { addressOption, clientFor, readTextInput } from './context.ts';

const HELP = `
The task file is a Mesos TaskInfo in the v1 JSON form, or a LAUNCH or LAUNCH_GROUP call
holding one task. Its SECRET environment variables are set in the command's
environment; its SECRET volumes are written to a private directory on tmpfs and linked
at their container_path (relative paths under $MESOS_SANDBOX, else the working
directory), and removed when the command ends. The command is the TaskInfo's own, or
the one given after --. TESSERA_TOKEN is not passed on to the command.

Examples:
  tessera exec --task task.json
  tessera exec --task launch.json -- sh -c 'echo "user is $DB_USER"'
`;

/** Registers `tessera exec --task FILE [--] [COMMAND...]`. */
export function registerExec(program: Command) {
  program
    .command('exec')
    .summary("run a Mesos task's command with its secrets in place")
    .requiredOption('--task <file>', 'TaskInfo JSON, or - for standard input')
    .addOption(
      new Option('--tmpfs-dir <dir>', 'tmpfs directory for file secrets').env('TESSERA_TMPFS_DIR'),
    )
    .addOption(addressOption())
    .argument('[command...]', "command to run instead of the task's own")
    .passThroughOptions()
    .addHelpText('after', HELP)
    .action(async (command: string[], options) => {
      const source = options.task === '-' ? 'standard input' : options.task;
      const task = readTaskText(await readTextInput(options.task, 'the task file'), source);
      const client = clientFor(options);
      const result = await execTask({
        task,
        command: command.length > 0 ? command : undefined,
        resolve: (secrets) => resolveSecrets(client, secrets),
        env: process.env,
        cwd: process.cwd(),
        tmpfsDir: options.tmpfsDir,
        log: (line) => process.stderr.write(`tessera exec: ${line}\n`),
      });
      passOn(result);
    });
}

/**
 * Resolves REFERENCE secrets through the server in one request. VALUE secrets carry their
 * bytes already, so they are decoded here and never sent over the network.
 */
export async function resolveSecrets(client: TesseraClient, secrets: Secret[]): Promise<Buffer[]> {
  const references = secrets.filter((secret) => secret.type !== 'VALUE');
  const resolved = references.length > 0 ? await client.resolve(references) : [];

  let next = 0;
  return secrets.map((secret, index) => {
    if (secret.type === 'VALUE')
      return decodeBase64(secret.value?.data ?? '', `secret ${index} value.data`);
    const item = resolved[next++];
    if (!item)
      throw new TesseraError('INTERNAL', 'the server returned fewer secrets than were asked for');
    return item.data;
  });
}

// Exits as the command did: with its code, or by the same signal, so that Mesos records
// the task's real end.
function passOn(result: ExecResult) {
  if (result.signal) {
    process.removeAllListeners(result.signal);
    process.kill(process.pid, result.signal);
    return;
  }
  process.exitCode = result.code ?? 2;
}
