import { type Detection, MASK } from './finding.ts';
import { isRecord } from './task-secrets.ts';

/**
 * Tells whether a Mesos `Secret` carries its bytes in the definition: a non-empty
 * `value.data`, whatever its `type` says. A `VALUE` secret without data carries nothing,
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
