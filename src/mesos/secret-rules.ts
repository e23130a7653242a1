import { isTesseraError } from '../errors.ts';
import { pathSyntaxRule, reservedFolderRule } from '../secret-path.ts';
import { decodeBase64 } from './base64.ts';
import type { Secret } from './types.ts';

/** The prefix the Mesos master puts before an error in a task's CommandInfo. */
export const COMMAND_PREFIX = "Task's `CommandInfo` is invalid: ";

/** The prefix the Mesos master puts before an error in a volume of a task's ContainerInfo. */
export const VOLUME_PREFIX = "Task's `ContainerInfo` is invalid: Invalid volume: ";

/** Tells whether `text` contains a C0 control character, DEL or a C1 control character. */
export function hasControlCharacter(text: string): boolean {
  for (let index = 0; index < text.length; index += 1) {
    if (isControl(text.charCodeAt(index))) {
      return true;
    }
  }
  return false;
}

/**
 * Returns `text` with each control character written as a `\uXXXX` escape, so that a name
 * or path from a task prints on one line. Only names and paths go through here, never
 * secret data.
 */
export function printable(text: string): string {
  if (!hasControlCharacter(text)) {
    return text;
  }
  let output = '';
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    output += isControl(code) ? `\\u${code.toString(16).padStart(4, '0')}` : text[index];
  }
  return output;
}

/**
 * Returns an environment variable name as messages show it: `printable`, and cut after
 * its first '=', because a name such as `DB_PASSWORD=...` contains a value in the wrong field.
 */
export function variableDisplayName(name: string): string {
  const equals = name.indexOf('=');
  return printable(equals === -1 ? name : `${name.slice(0, equals)}=...`);
}

/**
 * Tells whether `name` can be an environment variable name: execve takes the environment
 * as `NAME=value` C strings, so a name must be non-empty and contain neither '=' nor NUL.
 */
export function isValidVariableName(name: string): boolean {
  return name !== '' && !name.includes('=') && !name.includes('\0');
}

/**
 * Returns the message for a variable whose name `isValidVariableName` rejects. `subject`
 * names the variable, as in "Environment variable 2 ('A=...')".
 *
 * Mesos's `validateEnvironment` checks no name. The environment reaches execve as
 * `NAME=value` strings, so a name with '=' sets another variable than the one written (the
 * name `PATH=/tmp/evil:/usr/bin` replaces the child's PATH), an empty name gives an entry
 * that no program looks up, and Node's spawn throws on a NUL.
 */
export function invalidNameMessage(subject: string): string {
  return (
    `${subject} has an invalid name: a name must be non-empty and contain neither '=' nor ` +
    'NUL; rename it'
  );
}

// None of these belongs in a name or a file path.
function isControl(code: number): boolean {
  return code <= 0x1f || (code >= 0x7f && code <= 0x9f);
}

/**
 * Applies Mesos's `validateSecret` (`src/common/validation.cpp`) and returns its error
 * message, word for word, or undefined. A secret without a type (UNKNOWN) passes, as in
 * Mesos.
 */
export function mesosSecretError(secret: Secret): string | undefined {
  switch (secret.type ?? 'UNKNOWN') {
    case 'REFERENCE':
      if (secret.reference === undefined) {
        return "Secret of type REFERENCE must have the 'reference' field set";
      }
      if (secret.value !== undefined) {
        return (
          `Secret '${printable(secret.reference.name)}' of type REFERENCE ` +
          "must not have the 'value' field set"
        );
      }
      return undefined;
    case 'VALUE':
      if (secret.value === undefined) {
        return "Secret of type VALUE must have the 'value' field set";
      }
      if (secret.reference !== undefined) {
        return "Secret of type VALUE must not have the 'reference' field set";
      }
      return undefined;
    default:
      return undefined;
  }
}

/**
 * Decodes the inline bytes of a secret (`value.data`) with strict base64. Returns the
 * bytes, or a problem naming `subject` when the data is not strict base64, or neither when
 * the secret has no value.
 */
export function inlineSecretBytes(
  secret: Secret,
  subject: string,
): { bytes?: Buffer; problem?: string } {
  if (secret.value === undefined) {
    return {};
  }
  try {
    return { bytes: decodeBase64(secret.value.data, `${subject}: secret.value.data`) };
  } catch (error) {
    if (isTesseraError(error, 'INVALID_ARGUMENT')) {
      return { problem: error.message };
    }
    throw error;
  }
}

/**
 * Applies Tessera's checks that go beyond Mesos to a secret used by a variable or a
 * volume: the secret must have a type, and a reference must name a valid secret path.
 * `subject` names the user of the secret, as in "Environment variable 'DB_PASSWORD'".
 */
export function strictSecretProblems(secret: Secret, subject: string): string[] {
  const problems: string[] = [];
  if ((secret.type ?? 'UNKNOWN') === 'UNKNOWN') {
    problems.push(
      `${subject} has a secret without a type; set secret.type to REFERENCE or VALUE ` +
        '(Mesos accepts an untyped secret, and its default resolver then ignores the type ' +
        'and uses whichever of reference and value is set)',
    );
  }

  const name = secret.reference?.name;
  if (name === '' || name === '/') {
    const why = name === '/' ? " ('/' alone names no secret)" : '';
    problems.push(
      `${subject}: reference.name must not be empty${why}; set it to the secret's path, ` +
        'as in /team/db-password',
    );
  } else if (name !== undefined) {
    const rule = referenceNameRule(name);
    if (rule !== undefined) {
      problems.push(`${subject}: reference.name '${printable(name)}' ${rule}`);
    }
  }
  return problems;
}

/**
 * Returns the rule of Tessera's secret paths that a reference name breaks, or undefined.
 * One leading '/' is dropped first, as the server does, so `/db/password` is valid. The
 * server rejects such a name when `tessera exec` resolves it, so checking it here moves
 * that failure before the launch.
 */
export function referenceNameRule(name: string): string | undefined {
  const path = name.startsWith('/') ? name.slice(1) : name;
  return pathSyntaxRule(path, name) ?? reservedFolderRule(path);
}

/** Tells whether a secret carries its bytes, as Mesos's default resolver reads it. */
export function isInline(secret: Secret): boolean {
  return secret.type === 'VALUE' || (secret.reference === undefined && secret.value !== undefined);
}
