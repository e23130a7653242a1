import { join } from 'node:path';

import type { TaskInfo } from '../mesos/types.ts';
import { type ChangePolicy, policyForUse } from './change-policy.ts';
import type { CommandSpec, ExecResult } from './command.ts';
import { buildChildEnvironment } from './environment.ts';
import { checkExecveSize } from './execve-size.ts';
import { Follower, rewriteAtomically } from './follow.ts';
import { buildMaskPatterns, MaskStream } from './mask.ts';
import type { DeliveryPlan, ResolveSecrets } from './plan.ts';
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
  graceMs: number;
}

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
      graceMs: input.follow?.graceMs ?? 0,
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
  const stop = input.follow
    ? follow(input, input.follow, policies, supervisor, maskers)
    : undefined;
  try {
    return await supervisor.wait();
  } finally {
    await stop?.();
    await maskers?.end();
  }
}

interface Maskers {
  stdout: MaskStream;
  stderr: MaskStream;
  update(values: readonly Buffer[]): void;
  end(): Promise<void>;
}

function startMasking(input: SessionInput, options: MaskOptions): Maskers {
  const seen: Buffer[] = [...input.values, ...(options.alsoMask ?? [])];
  const build = () => buildMaskPatterns(seen, options.minBytes);
  const { patterns, skippedShort } = build();
  if (skippedShort > 0) {
    input.log(
      `warning: ${skippedShort} secret value(s) shorter than ${options.minBytes} bytes are ` +
        'not masked in the output; lower --mask-min-length to mask them',
    );
  }

  const stdout = new MaskStream(patterns);
  const stderr = new MaskStream(patterns);
  stdout.pipe(options.stdout, { end: false });
  stderr.pipe(options.stderr, { end: false });
  return {
    stdout,
    stderr,
    update(values) {
      // Old values stay masked too: the command may still print what it read before.
      seen.push(...values);
      const next = build().patterns;
      stdout.setPatterns(next);
      stderr.setPatterns(next);
    },
    end: () => Promise.all([endStream(stdout), endStream(stderr)]).then(() => undefined),
  };
}

function endStream(stream: MaskStream): Promise<void> {
  return new Promise((done) => {
    stream.once('end', done);
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
        await supervisor.restart(env);
      },
      signal: (signal) => supervisor.signal(signal),
      updateValues: (values) => maskers?.update(values),
    },
  });
  return options.subscribe(() => {
    follower.check().catch((error: unknown) => {
      input.log(`failed to apply changed secrets: ${(error as Error).message}`);
    });
  });
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
