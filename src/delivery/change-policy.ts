import { constants } from 'node:os';
import { z } from 'zod';

import { TesseraError } from '../errors.ts';
import type { TaskInfo } from '../mesos/types.ts';
import type { PlannedUse } from './plan.ts';

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

/**
 * Collects the policies set in the task's labels and in `--on-change NAME=POLICY` flags,
 * keyed by variable name or container path; a flag wins over a label.
 */
export function collectChangePolicies(
  task: TaskInfo,
  flags: readonly string[],
): Map<string, ChangePolicy> {
  const policies = new Map<string, ChangePolicy>();
  const parsed = labelsSchema.safeParse(task.labels ?? {});
  for (const label of parsed.success ? (parsed.data.labels ?? []) : []) {
    if (!label.key.startsWith(CHANGE_LABEL_PREFIX)) continue;
    const target = label.key.slice(CHANGE_LABEL_PREFIX.length);
    policies.set(target, parseChangePolicy(label.value ?? '', `label ${label.key}`));
  }

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
 * Returns the policy of one use: the one set for its variable name or container path,
 * else `rewrite` for a file and `restart` for a variable, since a running process cannot
 * see a new environment. Throws INVALID_ARGUMENT for `rewrite` on a variable.
 */
export function policyForUse(
  use: PlannedUse,
  policies: ReadonlyMap<string, ChangePolicy>,
): ChangePolicy {
  const key = use.kind === 'env' ? use.name : use.containerPath;
  const policy = policies.get(key);
  if (policy === undefined) return use.kind === 'env' ? { kind: 'restart' } : { kind: 'rewrite' };
  if (use.kind === 'env' && policy.kind === 'rewrite') {
    throw new TesseraError(
      'INVALID_ARGUMENT',
      `environment variable ${use.name}: rewrite applies only to file secrets; use restart, ` +
        'signal:NAME or none',
      { variable: use.name },
    );
  }
  return policy;
}
