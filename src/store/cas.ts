import { TesseraError } from '../errors.ts';
import type { PutRequest } from './store.ts';

/**
 * Applies Vault's check-and-set rule to one write of a batch: without `cas`, the write
 * passes unless the secret requires check-and-set; with it, `cas` must equal the current
 * version (0 for a secret that does not exist yet). `index` is the write's position in a
 * batch of several, for the message. Every store adapter calls this inside its
 * transaction, after locking the secret's row.
 */
export function checkCas(
  write: PutRequest,
  index: number | undefined,
  current: number,
  casRequired: boolean,
): void {
  const details = { path: write.path, index: index ?? 0, cas: write.cas, currentVersion: current };
  const entry = index === undefined ? '' : ` (writes[${index}])`;
  if (write.cas === undefined) {
    if (casRequired) {
      throw new TesseraError(
        'CAS_MISMATCH',
        `secret ${write.path}${entry} requires check-and-set, but the write has no cas; ` +
          `read the secret and retry with cas=${current}, its current version`,
        details,
      );
    }
    return;
  }
  if (write.cas !== current) {
    throw new TesseraError(
      'CAS_MISMATCH',
      `check-and-set failed for secret ${write.path}${entry}: cas is ${write.cas} ` +
        `but the current version is ${current}; read the secret again, then retry with ` +
        `cas=${current}`,
      details,
    );
  }
}
