import { isAbsolute } from 'node:path';

import { isTesseraError, TesseraError } from '../errors.ts';
import { executorSecretNames } from '../mesos/secrets.ts';
import type { ExecutorInfo, TaskInfo } from '../mesos/types.ts';
import { plural } from '../text.ts';
import { type CommandSpec, commandToRun, type ExecResult } from './command.ts';
import { buildChildEnvironment, type EnvironmentSecret } from './environment.ts';
import { checkExecveSize, execveTooLargeError, measureExecve, readArgMax } from './execve-size.ts';
import { type FileSecret, PlacedFiles, resolveContainerPath } from './files.ts';
import { type DeliveryPlan, planDelivery, type ResolveSecrets, resolvePlan } from './plan.ts';
import { retryTransient } from './retry.ts';
import { checkSandboxDir } from './sandbox-path.ts';
import {
  type FollowOptions,
  type MaskOptions,
  runSession,
  type SessionInput,
  type ValuesInUseListener,
} from './session.ts';
import { SignalRelay } from './signals.ts';
import { DEFAULT_GRACE_MS } from './supervise.ts';
import { markOwner, sweepStaleDirs } from './sweep.ts';
import { defaultTmpfsCandidates, filesystemOf, findTmpfsDir } from './tmpfs.ts';

export type { ExecResult } from './command.ts';

/** Options of `execTask`: the task, the resolver of its secrets, and where to run it. */
export interface ExecOptions {
  /** A TaskInfo that has already passed validation. */
  task: TaskInfo;
  /** The executor of the LAUNCH_GROUP that holds the task, whose secrets are not delivered. */
  groupExecutor?: ExecutorInfo;
  /** The argv to run in place of the task's command, when not empty. */
  command?: string[];
  /** Returns the bytes of each secret, in the order given. */
  resolve: ResolveSecrets;
  /** The environment the child's environment starts from. */
  env: NodeJS.ProcessEnv;
  /** The child's working directory, and the sandbox when MESOS_SANDBOX is not set. */
  cwd: string;
  /** The directory for file secrets. The default is /dev/shm, or else $XDG_RUNTIME_DIR, on tmpfs. */
  tmpfsDir?: string;
  /** Accepts a `tmpfsDir` that is not on tmpfs or ramfs, with a warning; else it is refused. */
  allowNonTmpfs?: boolean;
  /** Receives one-line diagnostics, which never contain secret bytes. */
  log: (line: string) => void;
  /** How long the first resolution retries transient failures; 0 tries once. */
  startTimeoutMs?: number;
  /** Time between SIGTERM and SIGKILL when the command is stopped or restarted, in ms. */
  graceMs?: number;
  /** Receives the value each use of a secret runs with; see `ValuesInUseListener`. */
  onValuesInUse?: ValuesInUseListener;
  /** Masks the secrets in the command's stdout and stderr when given. */
  mask?: MaskOptions;
  /** Follows rotations of the task's secrets when given. */
  follow?: FollowOptions;
}

interface Deliveries {
  env: EnvironmentSecret[];
  files: FileSecret[];
}

interface Prepared {
  env: Record<string, string>;
  deliveries: Deliveries;
  tmpfsDir: string | undefined;
  plan: DeliveryPlan;
  values: Buffer[];
}

/**
 * Resolves a task's secrets, places them (variables in the child's environment, files on
 * tmpfs linked at their container paths), runs the command with signals forwarded, and
 * removes the files and links on every path. Returns the child's exit code or signal.
 * Throws TesseraError when a secret cannot be resolved or placed, when the command's
 * arguments and environment exceed ARG_MAX, or when the command cannot start. In that
 * case no command runs and no file or link of the run is left. Errors thrown by `resolve`
 * are passed through unchanged. Logs a warning naming the executor's secret variables,
 * which it does not deliver.
 */
export async function execTask(options: ExecOptions): Promise<ExecResult> {
  const spec = commandToRun(options.task, options.command);
  warnOfExecutorSecrets(options);
  const plan = planDelivery(options.task);
  const hasFiles = plan.uses.some((use) => use.kind === 'file');
  const tmpfsDir = hasFiles ? await chooseTmpfsDir(options) : undefined;

  const values = await retryTransient(() => resolvePlan(plan, options.resolve), {
    deadlineMs: options.startTimeoutMs ?? 0,
    what: `resolving ${plan.secrets.length} secret(s)`,
    log: options.log,
  });
  const deliveries = splitDeliveries(plan, values);
  const env = buildChildEnvironment(options.env, options.task, deliveries.env);
  await checkExecveSize(spec, env, secretNames(deliveries));

  const relay = new SignalRelay();
  relay.start();
  try {
    return await placeAndRun(options, spec, { env, deliveries, tmpfsDir, plan, values }, relay);
  } finally {
    relay.stop();
  }
}

async function placeAndRun(
  options: ExecOptions,
  spec: CommandSpec,
  prepared: Prepared,
  relay: SignalRelay,
): Promise<ExecResult> {
  const { env, deliveries, tmpfsDir } = prepared;
  const files = deliveries.files;
  if (tmpfsDir !== undefined) await sweepStaleDirs(tmpfsDir, options.log);
  const placed =
    tmpfsDir === undefined ? undefined : await PlacedFiles.create(tmpfsDir, options.log);
  try {
    if (placed !== undefined) await markOwner(placed.privateDir);
    const sandboxDir = options.env.MESOS_SANDBOX || options.cwd;
    if (files.some((file) => !isAbsolute(file.containerPath))) {
      const source = options.env.MESOS_SANDBOX ? 'MESOS_SANDBOX' : 'the working directory';
      await checkSandboxDir(sandboxDir, source);
    }
    for (const [index, file] of files.entries()) {
      const linkPath = resolveContainerPath(file.containerPath, sandboxDir);
      const within = isAbsolute(file.containerPath) ? undefined : sandboxDir;
      await placed?.place(file, index, linkPath, within);
    }
    const variables = plural(deliveries.env.length, 'environment variable');
    options.log(`secrets placed: ${variables}, ${plural(files.length, 'file')}`);

    if (relay.pending !== undefined) {
      options.log(`received ${relay.pending} before the command started; not starting it`);
      return { code: null, signal: relay.pending };
    }
    const session: SessionInput = {
      spec,
      task: options.task,
      baseEnv: options.env,
      env,
      cwd: options.cwd,
      plan: prepared.plan,
      values: prepared.values,
      resolve: options.resolve,
      privateDir: placed?.privateDir,
      graceMs: options.graceMs ?? DEFAULT_GRACE_MS,
      onValuesInUse: options.onValuesInUse,
      mask: options.mask,
      follow: options.follow,
      log: options.log,
    };
    return await runCommand(session, deliveries, relay);
  } finally {
    await placed?.remove();
  }
}

// The check before launch estimates the kernel's accounting, and the real limit also
// depends on the stack size limit, so an E2BIG from spawn gets the same explanation.
async function runCommand(
  session: SessionInput,
  deliveries: Deliveries,
  relay: SignalRelay,
): Promise<ExecResult> {
  const { spec } = session;
  try {
    return await runSession(session, relay);
  } catch (error) {
    if (isTesseraError(error, 'DELIVERY_FAILED') && error.details?.code === 'E2BIG') {
      const size = measureExecve(spec, session.env, secretNames(deliveries));
      throw execveTooLargeError(spec, size, await readArgMax());
    }
    throw error;
  }
}

// The executor of a TaskInfo or of its task group is started by the agent, not by
// `tessera exec`, so its secrets cannot be delivered here. Only names are logged.
function warnOfExecutorSecrets(options: ExecOptions): void {
  const names = executorSecretNames(options.task, options.groupExecutor);
  if (names.length > 0) {
    options.log(`warning: executor secrets are not delivered by tessera exec: ${names.join(', ')}`);
  }
}

function secretNames(deliveries: Deliveries): string[] {
  return deliveries.env.map((secret) => secret.name);
}

async function chooseTmpfsDir(options: ExecOptions): Promise<string> {
  if (options.tmpfsDir === undefined || options.tmpfsDir === '') {
    return findTmpfsDir(defaultTmpfsCandidates(options.env));
  }

  const dir = options.tmpfsDir;
  const filesystem = await filesystemOf(dir);
  if (filesystem === 'memory') return dir;
  if (filesystem !== 'other') {
    const reason =
      filesystem === 'ENOENT'
        ? 'it does not exist; create it on a tmpfs, or pass a directory on one such as /dev/shm'
        : `${filesystem}; check the path and its permissions`;
    throw new TesseraError('DELIVERY_FAILED', `cannot use the tmpfs directory ${dir}: ${reason}`, {
      tmpfsDir: dir,
    });
  }
  if (options.allowNonTmpfs !== true) {
    throw new TesseraError(
      'DELIVERY_FAILED',
      `the tmpfs directory ${dir} is not on tmpfs or ramfs, so file secrets would reach a ` +
        'disk; pass a directory on tmpfs, or add --allow-non-tmpfs to accept that',
      { tmpfsDir: dir },
    );
  }
  options.log(`warning: ${dir} is not on tmpfs or ramfs; file secrets may reach a disk`);
  return dir;
}

function splitDeliveries(plan: DeliveryPlan, values: readonly Buffer[]): Deliveries {
  const deliveries: Deliveries = { env: [], files: [] };
  for (const use of plan.uses) {
    // resolvePlan returns exactly one buffer per planned secret.
    const bytes = values[use.index] as Buffer;
    if (use.kind === 'env') {
      deliveries.env.push({ name: use.name, bytes });
    } else {
      deliveries.files.push({ containerPath: use.containerPath, bytes, readOnly: use.readOnly });
    }
  }
  return deliveries;
}
