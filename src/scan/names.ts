// Matched anywhere in the name with its separators removed, so `apiKey`, `API_KEY` and
// `api.key` all match `apikey`.
const SECRET_STEMS = [
  'password',
  'passwd',
  'secret',
  'token',
  'apikey',
  'accesskey',
  'privatekey',
  'credential',
  'passphrase',
];

// Matched as whole words only, because they occur inside ordinary words
// (`authenticate`, `author`).
// `pass` and `creds` are common short forms: `RABBITMQ_DEFAULT_PASS`, `DB_CREDS`.
const SECRET_WORDS = new Set(['auth', 'pwd', 'pass', 'creds']);

// A last word that makes the name about a secret (where it is, what it is called, how it
// is used) rather than the secret itself: `DB_PASSWORD_FILE`, `spark.mesos.secret.names`,
// `AUTH_MODE`, `TOKEN_ENDPOINT`, Mesos's `--secret_resolver`. Docker's `credsStore` and
// Git's `credential.helper` name a helper program. A URL under such a name is still
// checked for credentials.
const DESCRIBING_WORDS = new Set([
  'file',
  'files',
  'path',
  'dir',
  'names',
  'name',
  'envkeys',
  'type',
  'user',
  'username',
  'url',
  'uri',
  'endpoint',
  'issuer',
  'mode',
  'method',
  'scheme',
  'provider',
  'enabled',
  'host',
  'port',
  'resolver',
  'store',
  'helper',
  'helpers',
]);

// Words of settings that measure a secret (`PASSWORD_MIN_LENGTH`, `TOKEN_TTL_SECONDS`).
const MEASURE_WORDS = new Set([
  'ttl',
  'seconds',
  'secs',
  'ms',
  'minutes',
  'hours',
  'days',
  'length',
  'min',
  'max',
  'count',
  'size',
  'timeout',
  'interval',
  'expiry',
  'retries',
]);

const BOOLEAN_VALUES = new Set(['true', 'false', 'yes', 'no', 'on', 'off']);
const NUMBER = /^[+-]?\d+(\.\d+)?$/;
const REFERENCE = /^\$([A-Za-z_]\w*|\{[^{}]+\})$/;

/** The class of a name: a secret, a setting that measures one, or neither. */
export type NameClass = 'secret' | 'measure' | undefined;

/** Splits a name into lower-case words at `_`, `-`, `.`, spaces and camelCase humps. */
export function nameWords(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[\s_.\-/]+/)
    .filter((word) => word !== '');
}

/** Tells whether `name` looks like the name of a secret, or of a setting that measures one. */
export function classifyName(name: string): NameClass {
  const words = nameWords(name);
  const last = words.at(-1);
  if (last === undefined || DESCRIBING_WORDS.has(last)) return undefined;

  const joined = words.join('');
  const secret =
    SECRET_STEMS.some((stem) => joined.includes(stem)) ||
    words.some((word) => SECRET_WORDS.has(word));
  if (!secret) return undefined;
  return words.some((word) => MEASURE_WORDS.has(word)) ? 'measure' : 'secret';
}

/** Tells whether a value is the form of a reference to a variable (`$VAR`, `${VAR}`). */
export function isReference(value: string): boolean {
  return REFERENCE.test(value);
}

/**
 * Tells whether a value cannot be a secret: empty, a number, a boolean, a reference to a
 * variable, or an absolute path or file URL (Mesos's `--credentials=/etc/mesos/creds`).
 */
export function isHarmlessValue(value: string): boolean {
  const trimmed = value.trim();
  if (trimmed === '' || NUMBER.test(trimmed) || isReference(trimmed)) return true;
  if (BOOLEAN_VALUES.has(trimmed.toLowerCase())) return true;
  return /^(\/|file:\/\/)\S*$/.test(trimmed);
}
