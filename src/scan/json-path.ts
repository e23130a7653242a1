const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * Returns the JSON path of a member: `$.env.DB_PASSWORD` for an identifier,
 * `$.labels['deploy-token']` for any other name, `$.fetch[1]` for an array index.
 */
export function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  if (IDENTIFIER.test(key)) return `${parent}.${key}`;
  return `${parent}['${key.replace(/[\\']/g, (char) => `\\${char}`)}']`;
}
