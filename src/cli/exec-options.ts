import { type Command, Option } from 'commander';

import { ChangeWatch } from '../client/watch.ts';
import {
  CHANGE_LABEL_PREFIX,
  type ChangePolicy,
  checkChangePolicies,
  flagChangePolicies,
  labelChangePolicies,
} from '../delivery/change-policy.ts';
import { DEFAULT_MASK_MIN_BYTES, MIN_MASK_BYTES } from '../delivery/mask.ts';
import type { FollowOptions, MaskOptions } from '../delivery/session.ts';
import { DEFAULT_GRACE_MS } from '../delivery/supervise.ts';
import { isTesseraError } from '../errors.ts';
import { MAX_TIMEOUT_SECONDS } from '../mesos/read-options.ts';
import { referencePath, secretUses } from '../mesos/secrets.ts';
import type { TaskInfo } from '../mesos/types.ts';
import { tlsFrom } from './context.ts';
import { wholeNumberFrom } from './put.ts';

/** The options of `tessera exec` that control masking, start retries and rotations. */
export interface DeliveryFlags {
  maskMinLength: number;
  mask: boolean;
  startTimeout: number;
  follow: boolean;
  onChange: string[];
  splay: number;
  grace: number;
  recheckInterval: number;
}

/** Seconds between checks of the followed secrets when no event came, by default. */
export const DEFAULT_RECHECK_SECONDS = 300;

// Parses the seconds of a wait or an interval. A Node.js timer longer than the maximum
// fires after 1 ms, so a recheck interval of 25 days would check the secrets about a
// thousand times a second.
const seconds = wholeNumberFrom(0, MAX_TIMEOUT_SECONDS);

/** Adds the masking, retry and rotation options to the `exec` command. */
export function addDeliveryOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--mask-min-length <bytes>', 'mask secret values of at least this many bytes')
        .env('TESSERA_MASK_MIN_LENGTH')
        .argParser(wholeNumberFrom(MIN_MASK_BYTES, Number.MAX_SAFE_INTEGER))
        .default(DEFAULT_MASK_MIN_BYTES),
    )
    .addOption(new Option('--no-mask', 'pass the output through unmasked').env('TESSERA_NO_MASK'))
    .addOption(
      new Option('--start-timeout <seconds>', 'retry an unreachable server for this long')
        .env('TESSERA_START_TIMEOUT')
        .argParser(seconds)
        .default(60),
    )
    .addOption(new Option('--no-follow', 'do not follow rotations').env('TESSERA_NO_FOLLOW'))
    .addOption(
      new Option(
        '--on-change <name=policy>',
        'what a change of the variable or container path does: restart, signal:NAME, rewrite or none (repeatable)',
      )
        .argParser((value: string, previous: string[] = []) => [...previous, value])
        .default([]),
    )
    .addOption(
      new Option('--splay <seconds>', 'wait a random time up to this long before a restart')
        .env('TESSERA_SPLAY')
        .argParser(seconds)
        .default(0),
    )
    .addOption(
      new Option('--grace <seconds>', 'time between SIGTERM and SIGKILL on a restart or stop')
        .env('TESSERA_GRACE')
        .argParser(seconds)
        .default(DEFAULT_GRACE_MS / 1000),
    )
    .addOption(
      new Option(
        '--recheck-interval <seconds>',
        'also check the followed secrets this often, 0 for never',
      )
        .env('TESSERA_RECHECK_INTERVAL')
        .argParser(seconds)
        .default(DEFAULT_RECHECK_SECONDS),
    );
}

/** The server that `tessera exec` works with, and its token. */
export interface ServerAccess {
  address: string;
  token: string | undefined;
}

/** The settings of `execTask` that come from the delivery flags. */
export interface DeliverySettings {
  startTimeoutMs: number;
  graceMs: number;
  mask?: MaskOptions;
  follow?: FollowOptions;
}

/** Builds the masking and rotation settings of `execTask` from the flags and `policies`. */
export function deliverySettings(
  flags: DeliveryFlags,
  task: TaskInfo,
  policies: ReadonlyMap<string, ChangePolicy>,
  server: ServerAccess,
  log: (line: string) => void,
): DeliverySettings {
  // The command does not get the token, but a process of its user can read it from
  // /proc, and it must not reach the task's log when the command prints it.
  const mask = flags.mask
    ? {
        minBytes: flags.maskMinLength,
        stdout: process.stdout,
        stderr: process.stderr,
        alsoMask: server.token === undefined ? [] : [Buffer.from(server.token)],
      }
    : undefined;
  const paths = referencedPaths(task);
  const follow: FollowOptions | undefined =
    flags.follow && paths.length > 0
      ? {
          subscribe: (onChange) =>
            watchPaths(server, paths, onChange, log, flags.recheckInterval * 1000),
          policies,
          splayMs: flags.splay * 1000,
        }
      : undefined;
  return { startTimeoutMs: flags.startTimeout * 1000, graceMs: flags.grace * 1000, mask, follow };
}

/**
 * Collects the change policies of the task's labels and of `--on-change`, a flag winning
 * over a label, and checks each against the task before any secret is resolved. Throws
 * INVALID_ARGUMENT for a label. Calls `usageError` with the message for a flag, which is
 * a usage error.
 */
export function changePolicies(
  task: TaskInfo,
  flags: readonly string[],
  usageError: (message: string) => never,
): Map<string, ChangePolicy> {
  const labels = labelChangePolicies(task);
  checkChangePolicies(task, labels, (target) => `label ${CHANGE_LABEL_PREFIX}${target}`);
  try {
    const flagged = flagChangePolicies(flags);
    checkChangePolicies(task, flagged, (target) => `--on-change ${target}`);
    return new Map([...labels, ...flagged]);
  } catch (error) {
    if (isTesseraError(error, 'INVALID_ARGUMENT')) usageError(error.message);
    throw error;
  }
}

// Besides the events, the secrets are checked every `recheckMs`: mounted backends (file,
// environment, Vault) send no events, and an event can be lost between replicas.
function watchPaths(
  server: ServerAccess,
  paths: string[],
  onChange: () => void,
  log: (line: string) => void,
  recheckMs: number,
): () => Promise<void> {
  const watch = new ChangeWatch({
    address: server.address,
    token: server.token,
    tls: tlsFrom(process.env),
    paths,
    log,
    // Every event, a reset and every (re)connect lead to a check, which compares bytes,
    // so a change made while the stream was down is still found.
    onEvent: () => onChange(),
  });
  watch.start();
  const recheck = recheckMs > 0 ? setInterval(onChange, recheckMs) : undefined;
  recheck?.unref();
  return () => {
    clearInterval(recheck);
    return watch.stop();
  };
}

function referencedPaths(task: TaskInfo): string[] {
  const paths = new Set<string>();
  for (const { secret } of secretUses(task)) {
    if (secret.reference && secret.type !== 'VALUE') {
      paths.add(referencePath(secret.reference).path);
    }
  }
  return [...paths];
}
