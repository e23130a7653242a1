import { variableDisplayName } from '../mesos/secret-rules.ts';
import { redactUrls } from './urls.ts';
import { maskTokens } from './value-forms.ts';

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * Returns the JSON path of a member: `$.env.DB_PASSWORD` for an identifier,
 * `$.labels['deploy-token']` for any other name, `$.fetch[1]` for an array index. A key
 * can hold a secret too (`NAME=value` as a variable name, a registry URL with a
 * password, a token), so what follows an `=` is cut, and URLs and tokens are redacted.
 */
export function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  const masked = maskTokens(key);
  if (IDENTIFIER.test(masked)) return `${parent}.${masked}`;
  const cut = variableDisplayName(masked);
  const shown = cut.includes('@') ? redactUrls(cut) : cut;
  return `${parent}['${shown.replace(/[\\']/g, (char) => `\\${char}`)}']`;
}

/** Tells whether a JSON value is an object (not an array or null). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
