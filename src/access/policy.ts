import { z } from 'zod';
import { isTesseraError, TesseraError } from '../errors.ts';
import {
  describeInputIssue,
  type InputProblem,
  inputProblems,
  invalidInput,
} from '../input-issues.ts';
import { checkDuplicateKeys } from '../mesos/definition-json.ts';
import { parseJson } from '../mesos/json.ts';
import { compareSpecificity, matchesPattern, type PathPattern, parsePattern } from './pattern.ts';

/** The capabilities a rule can grant. Operations on `sys/` resources take `admin` there. */
export const CAPABILITIES = [
  'read',
  'list',
  'create',
  'update',
  'delete',
  'destroy',
  'rotate',
  'admin',
] as const;

/** One operation that a policy rule can grant. */
export type Capability = (typeof CAPABILITIES)[number];

/** The name of the built-in policy that allows everything; it cannot be written or deleted. */
export const ROOT_POLICY = 'root';

/** Policy names: lowercase letters, digits, '-' and '_', 1 to 128 characters. */
export const POLICY_NAME = /^[a-z0-9_-]{1,128}$/;

/** One rule of a policy, with its pattern parsed. */
export interface PolicyRule {
  /** The pattern as written, without a leading '/'. */
  path: string;
  pattern: PathPattern;
  capabilities: Capability[];
  /** True when the rule carries `deny`, which overrides every grant on the paths it matches. */
  deny: boolean;
}

/** A parsed policy. */
export interface Policy {
  name: string;
  rules: PolicyRule[];
}

/** The outcome of `decide`, with the policy and rule pattern that settled it. */
export interface Decision {
  allowed: boolean;
  reason: string;
  policy: string | null;
  rule: string | null;
}

/** The built-in root policy; `decide` recognises this object, not the name. */
export const rootPolicy: Policy = Object.freeze({ name: ROOT_POLICY, rules: [] });

const CHOICES = [...CAPABILITIES, 'deny'] as const;

const ruleSchema = z.strictObject({
  path: z.string(),
  capabilities: z
    .array(z.enum(CHOICES, `must be one of ${CHOICES.join(', ')}`))
    .min(1, 'must list at least one capability'),
});

// Other issues, such as unknown fields, get the messages of `describeInputIssue`.
const policySchema = z.strictObject(
  { rules: z.array(ruleSchema).min(1, 'must hold at least one rule') },
  {
    error: (issue) =>
      issue.code === 'invalid_type' ? 'must be a JSON object with a "rules" array' : undefined,
  },
);

/**
 * Checks a policy name: lowercase letters, digits, '-' and '_', 1 to 128 characters.
 * `what` names the value in the message, which never quotes it: a token pasted by mistake
 * must not come back in an error. Throws INVALID_ARGUMENT.
 */
export function checkPolicyName(name: string, what = 'policy name'): void {
  if (typeof name === 'string' && POLICY_NAME.test(name)) {
    return;
  }
  throw new TesseraError(
    'INVALID_ARGUMENT',
    `${what} is invalid; use 1 to 128 lowercase letters, digits, '-' or '_'`,
  );
}

/**
 * Parses a policy text that is about to be stored, as `parsePolicy` does, and rejects a key
 * given twice in one object, naming the key, its line and its column: a reader of the
 * text would see the first, and the parser keeps the second.
 */
export function checkPolicyText(name: string, text: string): Policy {
  const policy = parsePolicy(name, text);
  checkDuplicateKeys(text, `policy '${name}'`);
  return policy;
}

/**
 * Parses a policy document, `{"rules": [{"path": "apps/web/*", "capabilities": ["read"]}]}`,
 * strictly: unknown fields, unknown capabilities, an empty rule list, `deny` beside other
 * capabilities, a capability listed twice and invalid patterns are rejected, naming the
 * rule index and field. Throws INVALID_ARGUMENT. A JSON syntax error is named by line
 * and column. See `checkPolicyText` for a text about to be stored.
 */
export function parsePolicy(name: string, text: string): Policy {
  checkPolicyName(name);
  const what = `policy '${name}'`;
  const document = parseJson(text, what);
  const result = policySchema.safeParse(document, { error: describeInputIssue });
  if (!result.success) throw invalidPolicy(name, inputProblems(result.error));

  const rules = result.data.rules.map((rule, index) => parseRule(name, rule, index));
  return { name, rules };
}

/**
 * Decides whether `policies` allow `capability` on `path` (a resource path, or a list
 * prefix ending in '/'). Every rule of every policy that matches the path counts. A rule
 * with `deny` wins over everything. Otherwise the most specific rule that grants the
 * capability allows it, and without one the default is to deny. The built-in root policy
 * allows everything.
 */
export function decide(policies: Policy[], capability: Capability, path: string): Decision {
  if (policies.includes(rootPolicy)) {
    const reason = `allowed by the built-in policy '${ROOT_POLICY}'`;
    return { allowed: true, reason, policy: ROOT_POLICY, rule: null };
  }

  const matches = policies.flatMap((policy) =>
    policy.rules
      .filter((rule) => matchesPattern(rule.pattern, path))
      .map((rule) => ({ policy: policy.name, rule })),
  );
  const deny = mostSpecific(matches.filter((match) => match.rule.deny));
  if (deny) {
    const reason = `denied by policy '${deny.policy}', rule '${deny.rule.path}'`;
    return { allowed: false, reason, policy: deny.policy, rule: deny.rule.path };
  }

  const grant = mostSpecific(
    matches.filter((match) => match.rule.capabilities.includes(capability)),
  );
  if (grant) {
    const reason = `allowed by policy '${grant.policy}', rule '${grant.rule.path}'`;
    return { allowed: true, reason, policy: grant.policy, rule: grant.rule.path };
  }
  const where = path === '' ? 'the top level' : path;
  return {
    allowed: false,
    reason: `no rule grants ${capability} on ${where}`,
    policy: null,
    rule: null,
  };
}

type Match = { policy: string; rule: PolicyRule };

// The first of equally specific matches wins, so a decision does not depend on sorting.
function mostSpecific(matches: Match[]): Match | undefined {
  let best: Match | undefined;
  for (const match of matches) {
    if (!best || compareSpecificity(match.rule.pattern, best.rule.pattern) > 0) {
      best = match;
    }
  }
  return best;
}

function parseRule(name: string, rule: z.infer<typeof ruleSchema>, index: number): PolicyRule {
  const where = `rules[${index}]`;
  let pattern: PathPattern;
  try {
    pattern = parsePattern(rule.path, `${where}.path`);
  } catch (error) {
    if (!isTesseraError(error, 'INVALID_PATH')) throw error;
    // The message starts with the subject it was given, which the problem names already.
    const message = error.message.slice(`${where}.path `.length);
    throw invalidPolicy(name, [{ path: `${where}.path`, message }]);
  }

  const seen = new Set<string>();
  for (const [position, capability] of rule.capabilities.entries()) {
    if (seen.has(capability)) {
      const path = `${where}.capabilities[${position}]`;
      throw invalidPolicy(name, [{ path, message: `lists '${capability}' a second time` }]);
    }
    seen.add(capability);
  }

  const deny = seen.has('deny');
  if (deny && seen.size > 1) {
    const message = "combines 'deny' with other capabilities; put 'deny' in a rule of its own";
    throw invalidPolicy(name, [{ path: `${where}.capabilities`, message }]);
  }
  const capabilities = rule.capabilities.filter((c): c is Capability => c !== 'deny');
  return { path: pattern.text, pattern, capabilities, deny };
}

function invalidPolicy(name: string, problems: InputProblem[]): TesseraError {
  return invalidInput(`policy '${name}'`, problems, {
    fix: 'fix the policy and write it again',
    details: { policy: name },
  });
}
