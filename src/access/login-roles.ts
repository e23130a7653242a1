import { z } from 'zod';

import { isTesseraError, TesseraError } from '../errors.ts';
import { describeInputIssue, inputProblems, invalidInput } from '../input-issues.ts';
import { checkDuplicateKeys } from '../mesos/definition-json.ts';
import { parseJson } from '../mesos/json.ts';
import { DURATION_INPUT, formatDuration, parseDuration } from './duration.ts';
import { checkPolicyName, POLICY_NAME } from './policy.ts';

// A login role names the Mesos tasks that may log in under it and the policies of their
// token. Every constraint it names must hold. A role must name at least one, so that no
// role lets every task of the cluster in.

/** The lifetime of a task's token when the role gives none: an hour, renewable. */
export const DEFAULT_TASK_TOKEN_TTL_SECONDS = 3600;

const MAX_LIST = 64;
const MAX_LABELS = 32;

const names = (what: string) =>
  z
    .array(z.string().min(1, 'must not be empty'))
    .max(MAX_LIST, `must list at most ${MAX_LIST} ${what}s`)
    .optional();

const roleSchema = z.strictObject({
  policies: z
    .array(
      z
        .string()
        .regex(
          POLICY_NAME,
          "must be a policy name: 1 to 128 lowercase letters, digits, '-' or '_'",
        ),
    )
    .min(1, 'must name at least one policy')
    .max(MAX_LIST, `must list at most ${MAX_LIST} policies`),
  framework_names: names('framework name'),
  framework_principals: names('framework principal'),
  roles: names('role'),
  labels: z
    .record(z.string().min(1, 'is an empty label name; give each label a name'), z.string())
    .refine(
      (labels) => Object.keys(labels).length <= MAX_LABELS,
      `must have at most ${MAX_LABELS} labels`,
    )
    .optional(),
  token_ttl: DURATION_INPUT.optional(),
  token_max_ttl: DURATION_INPUT.optional(),
});

/** A parsed login role. */
export interface LoginRole {
  name: string;
  policies: string[];
  /** Framework names the task's framework must have one of; empty means any. */
  frameworkNames: string[];
  frameworkPrincipals: string[];
  /** Roles the task must run under one of: its allocation roles, else its framework's. */
  roles: string[];
  /** Labels the task must carry, each with this value. */
  labels: Record<string, string>;
  tokenTtlSeconds: number;
  /** The lifetime renewals cannot pass, from the login; 0 for none (the task's end). */
  tokenMaxTtlSeconds: number;
}

/** The master's facts about a task that requests a login. */
export interface TaskIdentity {
  taskId: string;
  frameworkName: string;
  frameworkPrincipal: string | undefined;
  roles: string[];
  labels: Record<string, string>;
}

/**
 * Parses the JSON text of a login role named `name`. Throws INVALID_ARGUMENT naming the
 * field that is wrong, or the missing constraint. A JSON syntax error, and a key given
 * twice in one object, are named by line and column.
 */
export function parseLoginRole(name: string, text: string): LoginRole {
  checkPolicyName(name, 'login role name');
  const what = `login role '${name}'`;
  const document = parseJson(text, what);
  checkDuplicateKeys(text, what);
  const parsed = roleSchema.safeParse(document, { error: describeInputIssue });
  if (!parsed.success) throw invalidInput(what, inputProblems(parsed.error));

  const body = parsed.data;
  const role: LoginRole = {
    name,
    policies: [...new Set(body.policies)],
    frameworkNames: body.framework_names ?? [],
    frameworkPrincipals: body.framework_principals ?? [],
    roles: body.roles ?? [],
    labels: body.labels ?? {},
    tokenTtlSeconds:
      body.token_ttl === undefined
        ? DEFAULT_TASK_TOKEN_TTL_SECONDS
        : durationField(body.token_ttl, 'token_ttl', what),
    tokenMaxTtlSeconds:
      body.token_max_ttl === undefined
        ? 0
        : durationField(body.token_max_ttl, 'token_max_ttl', what),
  };
  checkRole(role, what);
  return role;
}

function checkRole(role: LoginRole, what: string): void {
  const constraints =
    role.frameworkNames.length +
    role.frameworkPrincipals.length +
    role.roles.length +
    Object.keys(role.labels).length;
  if (constraints === 0) {
    throw new TesseraError(
      'INVALID_ARGUMENT',
      `${what} names no framework_names, framework_principals, roles or labels, so it would let any task of the cluster log in; name at least one`,
    );
  }
  if (role.tokenTtlSeconds < 60) {
    throw invalidInput(what, [{ path: 'token_ttl', message: 'must be at least 1m' }]);
  }
  if (role.tokenMaxTtlSeconds !== 0 && role.tokenMaxTtlSeconds < role.tokenTtlSeconds) {
    const message =
      `(${formatDuration(role.tokenMaxTtlSeconds)}) is shorter than token_ttl ` +
      `(${formatDuration(role.tokenTtlSeconds)}); make it at least token_ttl, or 0s for no limit`;
    throw invalidInput(what, [{ path: 'token_max_ttl', message }]);
  }
}

// Reads a duration field of the role; an invalid one is a problem named by its field.
function durationField(value: string | number, field: string, what: string): number {
  try {
    return parseDuration(value, field);
  } catch (error) {
    if (!isTesseraError(error, 'INVALID_ARGUMENT')) throw error;
    // The message starts with the field, which the problem names already.
    const message = error.message.slice(field.length + 1);
    throw invalidInput(what, [{ path: field, message }]);
  }
}

/** Returns the role as the JSON document that `parseLoginRole` reads, with every default. */
export function loginRoleDocument(role: LoginRole): Record<string, unknown> {
  return {
    policies: role.policies,
    framework_names: role.frameworkNames,
    framework_principals: role.frameworkPrincipals,
    roles: role.roles,
    labels: role.labels,
    token_ttl: formatDuration(role.tokenTtlSeconds),
    token_max_ttl: formatDuration(role.tokenMaxTtlSeconds),
  };
}

/**
 * Returns the constraints of `role` that the task does not meet, each as a phrase for an
 * error message; an empty list means the task may log in under the role.
 */
export function unmetConstraints(role: LoginRole, task: TaskIdentity): string[] {
  const unmet: string[] = [];
  if (role.frameworkNames.length > 0 && !role.frameworkNames.includes(task.frameworkName)) {
    unmet.push(`its framework is named '${task.frameworkName}', not ${anyOf(role.frameworkNames)}`);
  }
  const principal = task.frameworkPrincipal;
  if (
    role.frameworkPrincipals.length > 0 &&
    (principal === undefined || !role.frameworkPrincipals.includes(principal))
  ) {
    const has = principal === undefined ? 'has no principal' : `has the principal '${principal}'`;
    unmet.push(`its framework ${has}, not ${anyOf(role.frameworkPrincipals)}`);
  }
  if (role.roles.length > 0 && !task.roles.some((name) => role.roles.includes(name))) {
    const runs = task.roles.length === 0 ? 'no role' : anyOf(task.roles, 'and');
    unmet.push(`it runs under ${runs}, not ${anyOf(role.roles)}`);
  }
  for (const [key, value] of Object.entries(role.labels)) {
    if (!Object.hasOwn(task.labels, key)) unmet.push(`it has no label '${key}'`);
    else if (task.labels[key] !== value) unmet.push(`its label '${key}' is not '${value}'`);
  }
  return unmet;
}

function anyOf(values: readonly string[], join = 'or'): string {
  const quoted = values.map((value) => `'${value}'`);
  return quoted.length === 1
    ? (quoted[0] as string)
    : `${quoted.slice(0, -1).join(', ')} ${join} ${quoted.at(-1)}`;
}
