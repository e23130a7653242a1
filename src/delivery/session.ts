import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isatty } from 'node:tty';

import type { TaskInfo } from '../mesos/types.ts';
import { type ChangePolicy, policyForUse } from './change-policy.ts';
import { type CommandSpec, type ExecResult, OUTPUT_DRAIN_MS } from './command.ts';
import { buildChildEnvironment } from './environment.ts';
import { checkExecveSize } from './execve-size.ts';
import { Follower, rewriteAtomically } from './follow.ts';
import { buildMaskPatterns, MaskStream } from './mask.ts';
import { flushed } from './output-reader.ts';
import type { DeliveryPlan, PlannedUse, ResolveSecrets } from './plan.ts';
import { outputReclaimer } from './reclaim.ts';
import type { SignalRelay } from './signals.ts';
import { Supervisor } from './supervise.ts';

/** Masking settings: the minimum value length and where the masked output goes. */
export interface MaskOptions {
  /** Values shorter than this many bytes are not masked. */
  minBytes: number;
  /** Values to mask besides the secrets, such as the token of `tessera exec` itself. */
  alsoMask?: readonly Buffer[];
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** Rotation-following settings: the event subscription, the policies and the timings. */
export interface FollowOptions {
  /** Calls `onChange` whenever a watched secret may have changed; returns the stop function. */
  subscribe: (onChange: () => void) => () => Promise<void>;
  /** Policies by variable name or container path; see `collectChangePolicies`. */
  policies: ReadonlyMap<string, ChangePolicy>;
  splayMs: number;
}

/** The value one use of a secret runs with, and the position of the secret in the plan. */
export interface ValueInUse {
  index: number;
  bytes: Buffer;
}

/**
 * Receives the value each use of a secret runs with, by position in `plan.uses`: once
 * the command has started, and again after each check that found a change.
 */
export type ValuesInUseListener = (inUse: readonly ValueInUse[]) => void;

/** Everything a session needs: the command, the resolved secrets and where files are. */
export interface SessionInput {
  spec: CommandSpec;
  task: TaskInfo;
  baseEnv: NodeJS.ProcessEnv;
  env: Record<string, string>;
  cwd: string;
  plan: DeliveryPlan;
  values: readonly Buffer[];
  resolve: ResolveSecrets;
  /** The private directory of the file secrets, when there are any. */
  privateDir: string | undefined;
  /** Time between SIGTERM and SIGKILL when the command is stopped or restarted, in ms. */
  graceMs: number;
  onValuesInUse?: ValuesInUseListener;
  mask?: MaskOptions;
  follow?: FollowOptions;
  log: (line: string) => void;
}

/**
 * Runs the command with its output masked, and restarts, signals or rewrites its files
 * as secrets change, until it ends on its own. Returns how it ended.
 */
export async function runSession(input: SessionInput, relay: SignalRelay): Promise<ExecResult> {
  const maskers = input.mask ? startMasking(input, input.mask) : undefined;
  const supervisor = new Supervisor(
    input.spec,
    {
      cwd: input.cwd,
      graceMs: input.graceMs,
      // setsid() would take the terminal away from a command that reads it, and Node
      // cannot hand the terminal to another process group, so an interactive command
      // stays in the group of `tessera exec`.
      ownGroup: !isatty(0),
      stdout: maskers?.stdout,
      stderr: maskers?.stderr,
      log: input.log,
    },
    relay,
  );

  // Policies are checked before the command starts, so that a bad one stops nothing.
  const policies = input.plan.uses.map((use) =>
    policyForUse(use, input.follow?.policies ?? new Map()),
  );
  await supervisor.start(input.env);
  input.onValuesInUse?.(input.plan.uses.map((use) => valueInUse(use, input.values)));
  const stop = input.follow
    ? follow(input, input.follow, policies, supervisor, maskers)
    : undefined;
  let result: ExecResult | undefined;
  try {
    result = await supervisor.wait();
  } finally {
    await stop?.();
    const cut = result?.outputDropped === true;
    const dropped =
      maskers !== undefined && (await endOutput(maskers, supervisor.stopRequested, cut));
    if (cut || dropped) {
      if (result !== undefined) result.outputDropped = true;
      input.log(
        "exec is stopping, and the command's output did not all reach its reader within " +
          `${OUTPUT_DRAIN_MS / 1000} s; the rest is dropped`,
      );
    }
  }
  return result;
}

/**
 * Passes on the rest of the masked output, and returns whether some was dropped. After a
 * stop (`stopRequested`), the reader gets `OUTPUT_DRAIN_MS` from the later of the stop
 * and this call, so that a reader that takes nothing keeps neither the task nor its
 * files. With `dropNow`, as when the command's output was already cut off at a stop, the
 * rest goes at once.
 */
async function endOutput(
  maskers: Maskers,
  stopRequested: AbortSignal,
  dropNow: boolean,
): Promise<boolean> {
  // Dropped output is not waited for: the destination's last write may never complete.
  if (dropNow) {
    maskers.drop();
    return true;
  }
  const ended = maskers.end().then(() => false);
  const stopped = new Promise<void>((done) => {
    if (stopRequested.aborted) done();
    else stopRequested.addEventListener('abort', () => done(), { once: true });
  });
  const waitedOut = stopped.then(() => sleep(OUTPUT_DRAIN_MS, true, { ref: false }));
  if (!(await Promise.race([ended, waitedOut]))) return false;
  maskers.drop();
  return true;
}

interface Maskers {
  stdout: MaskStream;
  stderr: MaskStream;
  update(values: readonly Buffer[]): void;
  end(): Promise<void>;
  /** Drops the output that waits for the destination. */
  drop(): void;
}

function startMasking(input: SessionInput, options: MaskOptions): Maskers {
  const alsoMask = options.alsoMask ?? [];
  const seen: Buffer[] = [...input.values, ...alsoMask];
  // The warning counts secrets only, not the values of `alsoMask`, such as exec's token.
  const shortOthers = alsoMask.filter(
    (value) => value.length > 0 && value.length < options.minBytes,
  ).length;
  let warnedShort = 0;
  // Warns of the values too short to mask that were not counted in an earlier warning.
  const build = () => {
    const built = buildMaskPatterns(seen, options.minBytes);
    const shortSecrets = built.skippedShort - shortOthers;
    const count = shortSecrets - warnedShort;
    if (count > 0) {
      input.log(
        `warning: ${count} secret value(s) shorter than ${options.minBytes} bytes are ` +
          'not masked in the output; lower --mask-min-length to mask them',
      );
    }
    warnedShort = shortSecrets;
    return built;
  };
  const { patterns } = build();

  const stdout = new MaskStream(patterns);
  const stderr = new MaskStream(patterns);
  const reclaim = outputReclaimer();
  relayTo(stdout, options.stdout, input.log, reclaim);
  relayTo(stderr, options.stderr, input.log, reclaim);
  return {
    stdout,
    stderr,
    update(values) {
      // Old values stay masked too: the command may still print what it read before.
      // Each value is kept once, so that the count of short values grows only with new ones.
      for (const value of values) {
        if (!seen.some((known) => known.equals(value))) seen.push(value);
      }
      const next = build().patterns;
      stdout.setPatterns(next);
      stderr.setPatterns(next);
    },
    // Ends when the destinations have written all of it: a write that waits for a reader
    // that takes nothing would keep exec running after the session.
    end: async () => {
      await Promise.all([endStream(stdout), endStream(stderr)]);
      await Promise.all([flushed(options.stdout), flushed(options.stderr)]);
    },
    drop: () => {
      stdout.destroy();
      stderr.destroy();
    },
  };
}

/**
 * Pipes the masked output to its destination, and passes the size of each chunk to
 * `reclaim`.
 * When the destination fails, as with EPIPE when its reader has gone, the masker is
 * destroyed. That closes the command's pipe, so the command's next write fails as it
 * would without the masker, and exec cleans up.
 */
function relayTo(
  masker: MaskStream,
  destination: NodeJS.WritableStream,
  log: (line: string) => void,
  reclaim: (bytes: number) => void,
): void {
  masker.passOnTo(destination);
  masker.on('data', (chunk: Buffer) => reclaim(chunk.length));
  destination.on('error', (error: NodeJS.ErrnoException) => {
    if (masker.destroyed) return;
    log(
      error.code === 'EPIPE'
        ? "the reader of the command's output has closed it; the command's output is cut off"
        : `failed to write the command's output: ${error.code ?? 'unknown error'}; ` +
            "the command's output is cut off",
    );
    masker.destroy();
  });
}

function endStream(stream: MaskStream): Promise<void> {
  // A masker destroyed when its reader left emits no 'end'.
  if (stream.destroyed) return Promise.resolve();
  return new Promise((done) => {
    stream.once('end', done);
    stream.once('close', done);
    stream.end();
    stream.resume();
  });
}

function follow(
  input: SessionInput,
  options: FollowOptions,
  policies: ChangePolicy[],
  supervisor: Supervisor,
  maskers: Maskers | undefined,
): () => Promise<void> {
  const follower = new Follower({
    plan: input.plan,
    values: input.values,
    policies,
    resolve: input.resolve,
    splayMs: options.splayMs,
    log: input.log,
    actions: {
      rewriteFile: async (position, use, bytes) => {
        const target = join(input.privateDir as string, `secret-${position}`);
        await rewriteAtomically(target, bytes, use.readOnly ? 0o400 : 0o600);
      },
      restart: async (values) => {
        const env = environmentFor(input, values);
        await checkExecveSize(input.spec, env, secretVariableNames(input));
        return supervisor.restart(env);
      },
      signal: (signal) => supervisor.signal(signal),
      updateValues: (values) => maskers?.update(values),
      valuesInUse: (values) => {
        const inUse = input.plan.uses.map((use, position) => ({
          index: use.index,
          bytes: values[position] as Buffer,
        }));
        input.onValuesInUse?.(inUse);
      },
    },
  });
  return options.subscribe(() => {
    follower.check().catch((error: unknown) => {
      input.log(`failed to apply changed secrets: ${(error as Error).message}`);
    });
  });
}

function valueInUse(use: PlannedUse, values: readonly Buffer[]): ValueInUse {
  return { index: use.index, bytes: values[use.index] as Buffer };
}

function environmentFor(input: SessionInput, values: readonly Buffer[]): Record<string, string> {
  const secrets = [];
  for (const use of input.plan.uses) {
    if (use.kind === 'env') secrets.push({ name: use.name, bytes: values[use.index] as Buffer });
  }
  return buildChildEnvironment(input.baseEnv, input.task, secrets);
}

function secretVariableNames(input: SessionInput): string[] {
  return input.plan.uses.flatMap((use) => (use.kind === 'env' ? [use.name] : []));
}
