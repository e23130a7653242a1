import { readFile } from 'node:fs/promises';
import { type Command, Option } from 'commander';

import { isTesseraError, TesseraError } from '../errors.ts';
import { parseMasterUrl as parseMesosUrl } from '../mesos/mesos-url.ts';
import {
  DEFAULT_MAX_BODY_BYTES,
  MAX_BODY_MIB,
  MAX_TIMEOUT_MS,
  mibToBytes,
  parseCount,
} from '../mesos/read-options.ts';
import { hasControlCharacter } from '../mesos/secret-rules.ts';
import { printable } from './context.ts';

/**
 * Adds the options of reading a Mesos master: request timeout, body size limit, principal
 * and its secret.
 */
export function addMesosReadOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--timeout-ms <ms>', 'time allowed per request, in milliseconds')
        .env('TESSERA_MESOS_TIMEOUT_MS')
        .default('5000'),
    )
    .addOption(
      new Option('--max-body-mib <mib>', 'maximum size of a response body, in MiB')
        .env('TESSERA_MESOS_MAX_BODY_MIB')
        .default(String(DEFAULT_MAX_BODY_BYTES / mibToBytes(1))),
    )
    .addOption(
      new Option('--principal <name>', 'Mesos HTTP principal').env('TESSERA_MESOS_PRINCIPAL'),
    )
    .addOption(
      new Option('--secret-file <file>', "file holding the principal's password").env(
        'TESSERA_MESOS_SECRET_FILE',
      ),
    );
}

/**
 * Runs `parse` and turns its INVALID_ARGUMENT into a usage error of `command`, which
 * exits with status 1 like commander's own.
 */
export function asUsageError<T>(command: Command, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    return usageError(command, error);
  }
}

function usageError(command: Command, error: unknown): never {
  if (!isTesseraError(error, 'INVALID_ARGUMENT')) throw error;
  return command.error(`error: ${error.message}`);
}

/** Parses `--master`. Throws INVALID_ARGUMENT without echoing the value. */
export function parseMasterUrl(text: string): URL {
  return parseMesosUrl(
    text,
    '--master',
    'give the principal with --principal and its password in the file named by --secret-file',
  );
}

/**
 * Parses `--timeout-ms`, which Node.js timers limit to MAX_TIMEOUT_MS, and `--max-body-mib`.
 * An invalid value is a usage error of `command`.
 */
export function parseReadLimits(
  command: Command,
  options: { timeoutMs: string; maxBodyMib: string },
): { timeoutMs: number; maxBodyBytes: number } {
  return asUsageError(command, () => ({
    timeoutMs: parseCount(options.timeoutMs, '--timeout-ms', MAX_TIMEOUT_MS),
    maxBodyBytes: mibToBytes(parseCount(options.maxBodyMib, '--max-body-mib', MAX_BODY_MIB)),
  }));
}

/**
 * Returns the Basic authorization header for `--principal`, with the password read from
 * `--secret-file`, or undefined when neither is set. An option missing, unreadable, empty
 * or unfit for HTTP Basic authentication is a usage error of `command`.
 */
export async function parseAuthorization(
  command: Command,
  options: { principal?: string; secretFile?: string },
): Promise<string | undefined> {
  try {
    return await basicAuthorization(options.principal, options.secretFile);
  } catch (error) {
    return usageError(command, error);
  }
}

/** The flags that name a Mesos principal and the file of its password. */
export interface CredentialFlags {
  principal: string;
  secretFile: string;
}

const READ_FLAGS: CredentialFlags = { principal: '--principal', secretFile: '--secret-file' };

/**
 * Returns the Basic authorization header for `principal`, with the password read from
 * `secretFile`, or undefined when neither is given. Throws INVALID_ARGUMENT naming the
 * flag in `flags` when one is missing, unreadable, empty or unfit for HTTP Basic
 * authentication; the message never shows the password.
 */
// RFC 7617, section 2: the user-id cannot contain a colon, because the first colon ends
// it, and neither the user-id nor the password may contain control characters.
export async function basicAuthorization(
  principal: string | undefined,
  secretFile: string | undefined,
  flags: CredentialFlags = READ_FLAGS,
): Promise<string | undefined> {
  if (principal === undefined && secretFile === undefined) return undefined;
  if (principal === undefined) {
    throw new TesseraError(
      'INVALID_ARGUMENT',
      `${flags.secretFile} needs ${flags.principal} (or TESSERA_MESOS_PRINCIPAL) with the principal it is for`,
    );
  }
  if (secretFile === undefined) {
    throw new TesseraError(
      'INVALID_ARGUMENT',
      `${flags.principal} needs ${flags.secretFile} (or TESSERA_MESOS_SECRET_FILE) with its password`,
    );
  }
  checkPrincipal(principal, flags);
  const secret = await readSecret(secretFile, flags);
  return `Basic ${Buffer.from(`${principal}:${secret}`).toString('base64')}`;
}

function checkPrincipal(principal: string, flags: CredentialFlags): void {
  const problem =
    principal === ''
      ? 'must not be empty'
      : principal.includes(':')
        ? "must not contain ':', which ends the principal in HTTP Basic authentication"
        : hasControlCharacter(principal)
          ? 'must not contain control characters'
          : undefined;
  if (problem !== undefined) {
    // The value is not shown: a principal typed as `user:password` contains a password.
    throw new TesseraError(
      'INVALID_ARGUMENT',
      `${flags.principal} ${problem}; its value is not shown`,
    );
  }
}

// Reads the password, without one final line break. Messages name the file, never its content.
async function readSecret(secretFile: string, flags: CredentialFlags): Promise<string> {
  const shown = printable(secretFile);
  let secret: string;
  try {
    secret = (await readFile(secretFile, 'utf8')).replace(/\r?\n$/, '');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new TesseraError(
      'INVALID_ARGUMENT',
      `could not read ${flags.secretFile} ${shown} (${code}); check the path`,
    );
  }
  if (secret === '') {
    throw new TesseraError(
      'INVALID_ARGUMENT',
      `${flags.secretFile} ${shown} is empty; put the password of ${flags.principal} in it`,
    );
  }
  if (hasControlCharacter(secret)) {
    throw new TesseraError(
      'INVALID_ARGUMENT',
      `${flags.secretFile} ${shown} contains a control character, such as a second line, which ` +
        'HTTP Basic authentication cannot carry; put only the password in it',
    );
  }
  return secret;
}
