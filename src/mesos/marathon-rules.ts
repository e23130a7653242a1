import { type MarathonEnv, marathonReference, pointerSegment } from './marathon.ts';
import {
  invalidNameMessage,
  isValidVariableName,
  printable,
  referenceNameRule,
  variableDisplayName,
} from './secret-rules.ts';
import type { Problem } from './types.ts';

// The checks that `validateTask` makes on a TaskInfo, applied to the fields of a Marathon
// app or pod that become its variables, secret files and references. Problems name the
// Marathon field as a JSON pointer, as in `/env/DB_PASSWORD`.

/** Checks each name of an environment map as `validateTask` checks a variable name. */
export function envNameProblems(env: MarathonEnv | undefined, base: string): Problem[] {
  const problems: Problem[] = [];
  for (const name of Object.keys(env ?? {})) {
    if (!isValidVariableName(name)) {
      problems.push({
        path: `${base}/${pointerSegment(name)}`,
        message: invalidNameMessage(`Environment variable '${variableDisplayName(name)}'`),
      });
    }
  }
  return problems;
}

/**
 * Checks the store path that the `source` of each secret id in `ids` names, as
 * `validateTask` checks a reference name. An empty or missing source is reported by
 * `secretsMapProblems`, and an undefined id where it is used, so both are skipped here.
 */
export function sourceProblems(
  secrets: Record<string, { source: unknown }>,
  ids: Iterable<string>,
): Problem[] {
  const problems: Problem[] = [];
  for (const id of new Set(ids)) {
    const source = secrets[id]?.source;
    if (typeof source !== 'string' || source === '') {
      continue;
    }
    const name = marathonReference(secrets, id).reference?.name ?? source;
    const rule = referenceNameRule(name);
    if (rule !== undefined) {
      problems.push({
        path: `/secrets/${pointerSegment(id)}/source`,
        message: `names the secret path '${printable(name)}', which ${rule}`,
      });
    }
  }
  return problems;
}

/** Lists the secret ids that an environment map references. */
export function envSecretIds(env: MarathonEnv | undefined): string[] {
  return Object.values(env ?? {}).flatMap((value) =>
    typeof value === 'string' ? [] : [value.secret],
  );
}
