import { isTesseraError } from '../errors.ts';
import { variableDisplayName } from '../mesos/secret-rules.ts';
import { parseSecretsVariable, type SecretsVariable } from '../mesos/secrets-variable.ts';
import { type Detection, MASK } from './finding.ts';
import { isRecord } from './json-path.ts';

/**
 * Tells whether a Mesos `Secret` carries its bytes in the definition: a non-empty
 * `value.data`, whatever its `type`. A `VALUE` secret without data carries nothing,
 * and a `REFERENCE` with data still shows the data to every reader.
 */
export function carriesData(secret: unknown): boolean {
  if (!isRecord(secret) || !isRecord(secret.value)) return false;
  const data = secret.value.data;
  return typeof data === 'string' && data !== '';
}

/** Reports the Mesos `Secret` at `location` when it carries its bytes. */
export function inlineSecretDetection(secret: unknown, location: string): Detection | undefined {
  if (!carriesData(secret)) return undefined;
  const reference = isRecord(secret) && secret.type === 'REFERENCE';
  const message = reference
    ? `a REFERENCE secret also carries data in value.data (${MASK}), which anyone who can read this definition can read and which Mesos rejects; remove value.data, and keep the value in Tessera only (see docs/scan.md)`
    : `an inline VALUE secret (${MASK}) is readable by anyone who can read this definition or the master's /state; store the value in Tessera and make the secret a REFERENCE to it (see docs/scan.md)`;
  return { location, severity: 'high', kind: 'inline-secret', message, redacted: MASK };
}

/**
 * Parses a `TESSERA_SECRETS` value, which `tessera wrap` writes with a task's secret
 * references. Returns undefined when the value does not match that format.
 */
export function readSecretsVariable(value: string): SecretsVariable | undefined {
  try {
    return parseSecretsVariable(value);
  } catch (error) {
    if (isTesseraError(error)) return undefined;
    throw error;
  }
}

/**
 * Checks the value of the variable `TESSERA_SECRETS`, described by `subject` in messages.
 * Returns undefined when the value contains references only, an inline-secret detection that
 * names each entry with data, and a secret-value detection when the value does not match
 * the format, because it may then hold anything.
 */
export function secretsVariableDetection(
  value: string,
  location: string,
  subject: string,
): Detection | undefined {
  const secrets = readSecretsVariable(value);
  if (secrets === undefined) {
    return {
      location,
      severity: 'high',
      kind: 'secret-value',
      message: `${subject} does not match the format that tessera wrap writes (version 1, env and files), so it may contain a plaintext value (${MASK}); wrap the definition again with tessera wrap (see docs/mesos.md)`,
      redacted: MASK,
    };
  }

  const inline = [
    ...secrets.env.filter((entry) => carriesData(entry.secret)).map((entry) => entry.name),
    ...secrets.files.filter((file) => carriesData(file.secret)).map((file) => file.container_path),
  ];
  if (inline.length === 0) return undefined;
  const names = inline.map(variableDisplayName).join(', ');
  return {
    location,
    severity: 'high',
    kind: 'inline-secret',
    message: `${subject} carries inline VALUE secrets (${MASK}) for ${names}, which anyone who can read this definition can read; store the values in Tessera and wrap the definition again without --allow-inline-values (see docs/scan.md)`,
    redacted: MASK,
  };
}
