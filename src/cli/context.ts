import { readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { buffer, text } from 'node:stream/consumers';
import { Option } from 'commander';
import { TesseraClient } from '../client/client.ts';
import { TesseraError } from '../errors.ts';
import { decodeUtf8Text } from '../text.ts';

/** The address a development server listens on, and the CLI's default. */
export const DEFAULT_ADDRESS = 'http://127.0.0.1:8210';

/** Returns the file where `tessera server --dev` writes its root token, like Vault's `~/.vault-token`. */
export function defaultTokenFile(env: NodeJS.ProcessEnv): string {
  return env.TESSERA_TOKEN_FILE ?? join(homedir(), '.tessera-token');
}

/** Creates the `--address` option, shared by every command that calls a server. */
export function addressOption(): Option {
  return new Option('--address <url>', 'Tessera server URL')
    .env('TESSERA_ADDR')
    .default(DEFAULT_ADDRESS);
}

/** Creates the `--format` option of commands whose output is data. */
export function formatOption(): Option {
  return new Option('--format <format>', 'output format')
    .choices(['table', 'json'])
    .default('table');
}

/**
 * Builds a client from `--address` and the token in TESSERA_TOKEN, else in the token file.
 * There is no token flag on purpose: a command line is visible to every user in `ps`.
 */
export function clientFor(
  options: { address: string },
  env: NodeJS.ProcessEnv = process.env,
): TesseraClient {
  return new TesseraClient({ address: options.address, token: tokenFrom(env), tls: tlsFrom(env) });
}

/**
 * Reads the PEM files named by TESSERA_CACERT, TESSERA_CLIENT_CERT and TESSERA_CLIENT_KEY,
 * like Vault's VAULT_CACERT, VAULT_CLIENT_CERT and VAULT_CLIENT_KEY.
 */
export function tlsFrom(env: NodeJS.ProcessEnv) {
  const files = {
    ca: env.TESSERA_CACERT,
    cert: env.TESSERA_CLIENT_CERT,
    key: env.TESSERA_CLIENT_KEY,
  };
  if (!files.ca && !files.cert && !files.key) return undefined;
  if (Boolean(files.cert) !== Boolean(files.key)) {
    throw new TesseraError(
      'CONFIG_INVALID',
      'TESSERA_CLIENT_CERT and TESSERA_CLIENT_KEY go together; set both',
    );
  }
  return {
    ca: files.ca ? readPem(files.ca, 'TESSERA_CACERT') : undefined,
    cert: files.cert ? readPem(files.cert, 'TESSERA_CLIENT_CERT') : undefined,
    key: files.key ? readPem(files.key, 'TESSERA_CLIENT_KEY') : undefined,
  };
}

function readPem(file: string, variable: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new TesseraError('CONFIG_INVALID', `could not read ${variable} file ${file} (${code})`);
  }
}

/** Returns the token from TESSERA_TOKEN, else from the token file, else undefined. */
export function tokenFrom(env: NodeJS.ProcessEnv): string | undefined {
  if (env.TESSERA_TOKEN) return env.TESSERA_TOKEN.trim();
  const file = defaultTokenFile(env);
  try {
    const token = readFileSync(file, 'utf8').trim() || undefined;
    if (token && (statSync(file).mode & 0o077) !== 0) {
      process.stderr.write(`warning: ${file} can be read by other users; run chmod 600 ${file}\n`);
    }
    return token;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new TesseraError(
      'CONFIG_INVALID',
      `could not read the token file ${file}; fix its permissions or set TESSERA_TOKEN`,
    );
  }
}

/** Prints data to stdout as JSON with a trailing newline. */
export function printJson(value: unknown) {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Prints rows as aligned columns. */
export function printTable(rows: [string, string][]) {
  const safe = rows.map(([key, value]) => [printable(key), printable(value)] as const);
  const width = Math.max(0, ...safe.map(([key]) => key.length));
  for (const [key, value] of safe) process.stdout.write(`${key.padEnd(width)}  ${value}\n`);
}

/**
 * Escapes control characters as \xNN, so that names and metadata written by others
 * cannot send escape sequences to the operator's terminal.
 */
export function printable(text: string): string {
  return text.replace(
    /[\p{Cc}]/gu,
    (char) => `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

/** Parses a list of version numbers such as `1,3`. */
export function parseVersions(text: string): number[] {
  const versions = text.split(',').map((part) => Number(part.trim()));
  if (versions.length === 0 || versions.some((v) => !Number.isInteger(v) || v < 1)) {
    throw new TesseraError(
      'INVALID_ARGUMENT',
      `--versions takes version numbers separated by commas, e.g. 1,3; got '${text}'`,
    );
  }
  return versions;
}

/**
 * Reads a text input named on the command line, or standard input for `-`. The error
 * names the file and what it was for (`what`), e.g. "the task file".
 */
export async function readTextInput(file: string, what: string): Promise<string> {
  if (file === '-') return text(process.stdin);
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw readError(error, file, what);
  }
}

/**
 * Reads a text input as `readTextInput` does, but rejects bytes that are not valid UTF-8
 * instead of replacing them, naming the input and the byte offset.
 */
export async function readUtf8Input(file: string, what: string): Promise<string> {
  const source = file === '-' ? 'standard input' : file;
  if (file === '-') return decodeUtf8Text(await buffer(process.stdin), source);
  try {
    return decodeUtf8Text(await readFile(file), source);
  } catch (error) {
    if (error instanceof TesseraError) throw error;
    throw readError(error, file, what);
  }
}

function readError(error: unknown, file: string, what: string): TesseraError {
  const code = (error as NodeJS.ErrnoException).code ?? 'error';
  return new TesseraError(
    'INVALID_ARGUMENT',
    `could not read ${what} ${file} (${code}); check the path, or pass - for standard input`,
  );
}
