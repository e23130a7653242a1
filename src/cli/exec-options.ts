import { type Command, InvalidArgumentError, Option } from 'commander';

import type { TesseraClient } from '../client/client.ts';
import { reportTaskVersions } from '../client/tasks.ts';
import { ChangeWatch } from '../client/watch.ts';
import { collectChangePolicies } from '../delivery/change-policy.ts';
import { DEFAULT_MASK_MIN_BYTES, MIN_MASK_BYTES } from '../delivery/mask.ts';
import type { ResolveSecrets } from '../delivery/plan.ts';
import type { FollowOptions, MaskOptions } from '../delivery/session.ts';
import { DEFAULT_GRACE_MS } from '../delivery/supervise.ts';
import { TesseraError } from '../errors.ts';
import { decodeBase64 } from '../mesos/base64.ts';
import { referencePath } from '../mesos/secrets.ts';
import type { Secret, TaskInfo } from '../mesos/types.ts';
import { tlsFrom } from './context.ts';

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

/** Adds the masking, retry and rotation options to the `exec` command. */
export function addDeliveryOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--mask-min-length <bytes>', 'mask secret values of at least this many bytes')
        .env('TESSERA_MASK_MIN_LENGTH')
        .argParser(wholeNumber(MIN_MASK_BYTES))
        .default(DEFAULT_MASK_MIN_BYTES),
    )
    .addOption(new Option('--no-mask', 'pass the output through unmasked').env('TESSERA_NO_MASK'))
    .addOption(
      new Option('--start-timeout <seconds>', 'retry an unreachable server for this long')
        .env('TESSERA_START_TIMEOUT')
        .argParser(wholeNumber(0))
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
        .argParser(wholeNumber(0))
        .default(0),
    )
    .addOption(
      new Option('--grace <seconds>', 'time between SIGTERM and SIGKILL on a restart')
        .env('TESSERA_GRACE')
        .argParser(wholeNumber(0))
        .default(DEFAULT_GRACE_MS / 1000),
    )
    .addOption(
      new Option(
        '--recheck-interval <seconds>',
        'also check the followed secrets this often, 0 for never',
      )
        .env('TESSERA_RECHECK_INTERVAL')
        .argParser(wholeNumber(0))
        .default(DEFAULT_RECHECK_SECONDS),
    );
}

/** Builds the masking and rotation settings of `execTask` from the parsed flags. */
export function deliverySettings(
  flags: DeliveryFlags,
  task: TaskInfo,
  server: { address: string; token: string | undefined },
  log: (line: string) => void,
): { startTimeoutMs: number; mask?: MaskOptions; follow?: FollowOptions } {
  const { address, token } = server;
  // The command does not get the token, but a process of its user can read it from
  // /proc, and it must not reach the task's log when the command prints it.
  const mask = flags.mask
    ? {
        minBytes: flags.maskMinLength,
        stdout: process.stdout,
        stderr: process.stderr,
        alsoMask: token === undefined ? [] : [Buffer.from(token)],
      }
    : undefined;
  const paths = referencedPaths(task);
  const follow: FollowOptions | undefined =
    flags.follow && paths.length > 0
      ? {
          subscribe: (onChange) =>
            watchPaths({ address, token }, paths, onChange, log, flags.recheckInterval * 1000),
          policies: collectChangePolicies(task, flags.onChange),
          splayMs: flags.splay * 1000,
          graceMs: flags.grace * 1000,
        }
      : undefined;
  return { startTimeoutMs: flags.startTimeout * 1000, mask, follow };
}

/**
 * Wraps a resolver so that each resolution is reported to the server as the versions
 * this task received, and a version that differs from the last one seen is logged.
 * A failed report is logged and does not fail the resolution.
 */
export function reportingResolver(
  client: TesseraClient,
  task: TaskInfo,
  resolveWithVersions: (
    secrets: Secret[],
  ) => Promise<{ bytes: Buffer[]; versions: { path: string; version: number }[] }>,
  log: (line: string) => void,
): ResolveSecrets {
  const seen = new Map<string, number>();
  return async (secrets) => {
    const { bytes, versions } = await resolveWithVersions(secrets);
    const changed = versions.filter((item) => seen.get(item.path) !== item.version);
    for (const item of changed) {
      seen.set(item.path, item.version);
      log(`received ${item.path} version ${item.version}`);
    }
    if (changed.length > 0) {
      await reportTaskVersions(client, task.task_id.value, versions).catch(() =>
        log('could not record the received versions on the server; continuing'),
      );
    }
    return bytes;
  };
}

// Besides the events, the secrets are checked every `recheckMs`: mounted backends (file,
// environment, Vault) send no events, and an event can be lost between replicas.
function watchPaths(
  server: { address: string; token: string | undefined },
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
  const secrets: Secret[] = [];
  for (const variable of task.command?.environment?.variables ?? []) {
    if (variable.secret) secrets.push(variable.secret);
  }
  for (const volume of task.container?.volumes ?? []) {
    if (volume.source?.secret) secrets.push(volume.source.secret);
  }
  for (const secret of secrets) {
    if (secret.reference && secret.type !== 'VALUE')
      paths.add(referencePath(secret.reference).path);
  }
  return [...paths];
}

function wholeNumber(min: number): (value: string) => number {
  return (value) => {
    const number = Number(value);
    if (!Number.isSafeInteger(number) || number < min) {
      throw new InvalidArgumentError(`must be a whole number of ${min} or more`);
    }
    return number;
  };
}

/**
 * Resolves REFERENCE secrets through the server in one request and returns their bytes
 * with the version of each path; VALUE secrets are decoded locally and have no version.
 */
export async function resolveWithVersions(
  client: TesseraClient,
  secrets: Secret[],
): Promise<{ bytes: Buffer[]; versions: { path: string; version: number }[] }> {
  const references = secrets.filter((secret) => secret.type !== 'VALUE');
  const resolved = references.length > 0 ? await client.resolve(references) : [];
  const versions = new Map<string, number>();
  let next = 0;
  const bytes = secrets.map((secret, index) => {
    if (secret.type === 'VALUE') {
      return decodeBase64(secret.value?.data ?? '', `secret ${index} value.data`);
    }
    const item = resolved[next++];
    if (!item) {
      throw new TesseraError('INTERNAL', 'the server returned fewer secrets than were asked for');
    }
    if (item.path !== undefined && item.version !== undefined)
      versions.set(item.path, item.version);
    return item.data;
  });
  return { bytes, versions: [...versions].map(([path, version]) => ({ path, version })) };
}
