import { constants } from 'node:os';
import { z } from 'zod';

import { TesseraError } from '../errors.ts';
import { secretUses } from '../mesos/secrets.ts';
import type { SecretUse, TaskInfo } from '../mesos/types.ts';

/**
 * What `tessera exec` does when a secret gets a new version: restart the command,
 * send it a signal (after rewriting the file, for a file secret), rewrite the file
 * atomically, or nothing.
 */
export type ChangePolicy =
  | { kind: 'restart' }
  | { kind: 'signal'; signal: NodeJS.Signals }
  | { kind: 'rewrite' }
  | { kind: 'none' };

/** Prefix of the TaskInfo labels that set a policy: `tessera.on_change.<VAR or container_path>`. */
export const CHANGE_LABEL_PREFIX = 'tessera.on_change.';

const labelsSchema = z.looseObject({
  labels: z.array(z.looseObject({ key: z.string(), value: z.string().optional() })).optional(),
});

/**
 * Parses `restart`, `signal:NAME` (as `HUP` or `SIGHUP`), `rewrite` or `none`. Throws
 * INVALID_ARGUMENT naming `where` for anything else.
 */
export function parseChangePolicy(text: string, where: string): ChangePolicy {
  if (text === 'restart' || text === 'rewrite' || text === 'none') return { kind: text };
  if (text.startsWith('signal:')) {
    const name = text.slice('signal:'.length).toUpperCase();
    const signal = (name.startsWith('SIG') ? name : `SIG${name}`) as NodeJS.Signals;
    if (signal in constants.signals && signal !== 'SIGKILL' && signal !== 'SIGSTOP') {
      return { kind: 'signal', signal };
    }
  }
  throw new TesseraError(
    'INVALID_ARGUMENT',
    `${where}: the change policy ${JSON.stringify(text)} is invalid; use restart, ` +
      'signal:NAME (such as signal:HUP), rewrite or none',
    { where },
  );
}

/** Collects the policies set in the task's labels, keyed by variable name or container path. */
export function labelChangePolicies(task: TaskInfo): Map<string, ChangePolicy> {
  const policies = new Map<string, ChangePolicy>();
  const parsed = labelsSchema.safeParse(task.labels ?? {});
  for (const label of parsed.success ? (parsed.data.labels ?? []) : []) {
    if (!label.key.startsWith(CHANGE_LABEL_PREFIX)) continue;
    const target = label.key.slice(CHANGE_LABEL_PREFIX.length);
    policies.set(target, parseChangePolicy(label.value ?? '', `label ${label.key}`));
  }
  return policies;
}

/** Parses `--on-change NAME=POLICY` flags into policies keyed by NAME. */
export function flagChangePolicies(flags: readonly string[]): Map<string, ChangePolicy> {
  const policies = new Map<string, ChangePolicy>();
  for (const flag of flags) {
    const equals = flag.lastIndexOf('=');
    if (equals <= 0) {
      throw new TesseraError(
        'INVALID_ARGUMENT',
        `--on-change ${JSON.stringify(flag)} is invalid; write NAME=POLICY, such as DB_PASSWORD=restart`,
      );
    }
    const target = flag.slice(0, equals);
    policies.set(target, parseChangePolicy(flag.slice(equals + 1), `--on-change ${target}`));
  }
  return policies;
}

/**
 * Throws INVALID_ARGUMENT, naming the policy by `describe(target)`, for a policy whose
 * target is not the name of a `SECRET` variable or the container path of a `SECRET`
 * volume of the task, or that `policyForUse` rejects. A misspelt target would otherwise
 * leave the default policy in force without a word.
 */
export function checkChangePolicies(
  task: TaskInfo,
  policies: ReadonlyMap<string, ChangePolicy>,
  describe: (target: string) => string,
): void {
  const uses = secretUses(task);
  for (const target of policies.keys()) {
    const matching = uses.filter((use) => useKey(use) === target);
    if (matching.length === 0) {
      throw new TesseraError(
        'INVALID_ARGUMENT',
        `${describe(target)}: the task has no SECRET environment variable or SECRET volume ` +
          `container path ${JSON.stringify(target)}; check the spelling`,
        { target },
      );
    }
    for (const use of matching)
      policyForUse(use, new Map([[target, policies.get(target) as ChangePolicy]]), describe);
  }
}

/**
 * Returns the policy of one use: the one set for its variable name or container path,
 * else `rewrite` for a file and `restart` for a variable, since a running process cannot
 * see a new environment. Throws INVALID_ARGUMENT for `rewrite` on a variable, naming the
 * policy by `describe(target)` when given.
 */
export function policyForUse(
  use: SecretUse,
  policies: ReadonlyMap<string, ChangePolicy>,
  describe?: (target: string) => string,
): ChangePolicy {
  const key = useKey(use);
  const policy = policies.get(key);
  if (policy === undefined) return use.kind === 'env' ? { kind: 'restart' } : { kind: 'rewrite' };
  if (use.kind === 'env' && policy.kind === 'rewrite') {
    const where = describe === undefined ? `environment variable ${use.name}` : describe(key);
    throw new TesseraError(
      'INVALID_ARGUMENT',
      `${where}: rewrite applies only to file secrets, and ${use.name} is an environment ` +
        'variable; use restart, signal:NAME or none',
      { variable: use.name },
    );
  }
  return policy;
}

function useKey(use: SecretUse): string {
  return use.kind === 'env' ? use.name : use.containerPath;
}
