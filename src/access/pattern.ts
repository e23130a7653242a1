import { TesseraError } from '../errors.ts';
import { checkPathSyntax } from '../store/path.ts';

/** The class of a pattern: an exact path beats a `+` segment, which beats a `*` prefix. */
export type PatternKind = 'exact' | 'segment' | 'prefix';

/** A path pattern of a policy rule, parsed once when the policy is written. */
export interface PathPattern {
  /** The pattern as written, without a leading '/'. */
  text: string;
  kind: PatternKind;
  /**
   * The segments to match, where '+' stands for any one non-empty segment. For a `prefix`
   * pattern the last entry is a prefix of its segment ('' when the pattern ends in `/*`).
   */
  segments: string[];
}

const KIND_RANK: Record<PatternKind, number> = { exact: 2, segment: 1, prefix: 0 };

/**
 * Parses a policy path pattern. A pattern is an exact path, or ends in `*` to match every
 * path that starts with the text before it. A `+` as a whole segment matches any one
 * segment. Apart from the wildcards the secret path rules apply, and one leading '/' is
 * dropped. `subject` names the pattern in messages, as in `rules[2].path`.
 * Throws INVALID_PATH.
 */
export function parsePattern(raw: string, subject: string): PathPattern {
  const text = raw.startsWith('/') ? raw.slice(1) : raw;
  const prefix = text.endsWith('*');
  const body = prefix ? text.slice(0, -1) : text;
  if (body.includes('*')) {
    invalid(subject, raw, "has '*' before its end; '*' is allowed only as the last character");
  }

  // `apps/*` checks as `apps`, and `*` alone has no fixed part to check.
  const fixed = prefix && body.endsWith('/') ? body.slice(0, -1) : body;
  if (!prefix || fixed !== '') {
    checkPathSyntax(fixed, subject, raw);
  }

  const segments = body.split('/');
  for (const [index, segment] of segments.entries()) {
    const last = index === segments.length - 1;
    if (segment.includes('+') && segment !== '+') {
      invalid(subject, raw, `has '+' inside segment ${index + 1}; '+' must be a whole segment`);
    }
    if (prefix && last && segment === '+') {
      invalid(subject, raw, "ends in '+*'; write '+/*' to match below any one segment");
    }
  }

  const kind = prefix ? 'prefix' : segments.includes('+') ? 'segment' : 'exact';
  return { text, kind, segments };
}

/**
 * Tests whether a path, or a list prefix ending in '/', matches a pattern. Paths compare
 * byte for byte, as the store compares them.
 */
export function matchesPattern(pattern: PathPattern, path: string): boolean {
  const parts = path.split('/');
  const { segments } = pattern;
  const prefix = pattern.kind === 'prefix';
  if (prefix ? parts.length < segments.length : parts.length !== segments.length) {
    return false;
  }

  for (const [index, want] of segments.entries()) {
    const got = parts[index] ?? '';
    if (prefix && index === segments.length - 1) {
      return got.startsWith(want);
    }
    if (want === '+' ? got === '' : want !== got) {
      return false;
    }
  }
  return true;
}

/**
 * Compares how specific two patterns are: positive when `a` is more specific. An exact
 * pattern beats one with `+`, which beats a `*` prefix; then the longer pattern wins, then
 * the one with fewer `+` segments. Returns 0 for a tie.
 */
export function compareSpecificity(a: PathPattern, b: PathPattern): number {
  const byKind = KIND_RANK[a.kind] - KIND_RANK[b.kind];
  if (byKind !== 0) {
    return byKind;
  }
  const byLength = a.text.length - b.text.length;
  if (byLength !== 0) {
    return byLength;
  }
  return countPlus(b) - countPlus(a);
}

function countPlus(pattern: PathPattern): number {
  return pattern.segments.filter((segment) => segment === '+').length;
}

function invalid(subject: string, raw: string, rule: string): never {
  const shown = raw.length <= 200 ? ` ${JSON.stringify(raw)}` : '';
  throw new TesseraError('INVALID_PATH', `${subject}${shown} ${rule}`);
}
