import { isUtf8 } from 'node:buffer';

import { TesseraError } from '../errors.ts';
import type { TaskInfo } from '../mesos/types.ts';

/**
 * Linux's MAX_ARG_STRLEN, 32 pages of 4096 bytes (include/uapi/linux/binfmts.h). execve
 * fails with E2BIG when one `NAME=value` string, with its NUL, is longer.
 */
export const MAX_ENV_STRING_BYTES = 131072;

/**
 * Prefix of the variables that configure `tessera exec` itself, its token among them.
 * They are all removed from the child's environment, because an allow-list of the
 * credential names would miss the next one added.
 */
export const TESSERA_VARIABLE_PREFIX = 'TESSERA_';

/** A `SECRET` environment variable with its resolved bytes. */
export interface EnvironmentSecret {
  name: string;
  bytes: Buffer;
}

/**
 * Builds the child's environment: `base` without Tessera's own variables, then the task's
 * `VALUE` variables, then each secret variable set to its bytes. Throws DELIVERY_FAILED,
 * naming the variable, for a secret that cannot be passed through execve intact.
 */
export function buildChildEnvironment(
  base: NodeJS.ProcessEnv,
  task: TaskInfo,
  secrets: readonly EnvironmentSecret[],
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(base)) {
    if (value !== undefined && !name.startsWith(TESSERA_VARIABLE_PREFIX)) {
      env[name] = value;
    }
  }

  // `Environment.Variable.type` defaults to VALUE in mesos.proto.
  for (const variable of task.command?.environment?.variables ?? []) {
    if (variable.type === undefined || variable.type === 'VALUE') {
      env[variable.name] = variable.value ?? '';
    }
  }

  for (const secret of secrets) {
    env[secret.name] = decodeEnvironmentSecret(secret);
  }
  return env;
}

/**
 * Returns a secret's bytes as the string to put in the environment. Throws DELIVERY_FAILED
 * when they contain a NUL byte (environment entries are C strings, so the value would be
 * cut short), are not valid UTF-8 (Node would replace the invalid bytes), or make
 * `NAME=value` longer than MAX_ARG_STRLEN. An empty secret is an empty string.
 */
export function decodeEnvironmentSecret(secret: EnvironmentSecret): string {
  const { name, bytes } = secret;
  if (bytes.includes(0)) {
    throw new TesseraError(
      'DELIVERY_FAILED',
      `environment variable ${name}: the secret contains a NUL byte, which an environment ` +
        'variable cannot carry; deliver it as a file volume instead',
      { variable: name },
    );
  }

  if (!isUtf8(bytes)) {
    throw new TesseraError(
      'DELIVERY_FAILED',
      `environment variable ${name}: the secret is not valid UTF-8 and would be altered on ` +
        'the way to the task; deliver it as a file volume instead',
      { variable: name },
    );
  }

  const entryBytes = Buffer.byteLength(name) + 1 + bytes.length + 1;
  if (entryBytes > MAX_ENV_STRING_BYTES) {
    throw new TesseraError(
      'DELIVERY_FAILED',
      `environment variable ${name}: NAME=value is ${entryBytes} bytes with its NUL, over ` +
        `the Linux limit of ${MAX_ENV_STRING_BYTES} bytes (MAX_ARG_STRLEN); deliver the ` +
        'secret as a file volume instead',
      { variable: name, bytes: entryBytes, limit: MAX_ENV_STRING_BYTES },
    );
  }
  return bytes.toString('utf8');
}
