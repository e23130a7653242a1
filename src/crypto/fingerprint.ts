import { createHmac, hkdfSync } from 'node:crypto';

import type { Keyring } from './keyring.ts';

/** Hex digits of a fingerprint: 64 bits, enough to tell values apart in logs. */
const FINGERPRINT_HEX = 16;

/** Computes the fingerprint of one field's value; see `valueFingerprints`. */
export type FingerprintValue = (path: string, field: string, bytes: Buffer) => string;

/**
 * Returns a function that gives the fingerprint of a secret's value. Logs show it where a
 * backend keeps no version numbers. Equal values of one path and field give equal
 * fingerprints. It is an HMAC-SHA256 keyed from the keyring's oldest key, which rotations
 * keep, so the fingerprints stay the same across them. Without that key, a guess of the
 * value cannot be checked against a fingerprint, as it could against a plain hash.
 */
export function valueFingerprints(keyring: Keyring): FingerprintValue {
  const oldest = keyring.get(keyring.ids()[0] as number);
  if (oldest === undefined) throw new Error('the keyring has no key');
  const key = Buffer.from(
    hkdfSync('sha256', oldest.key, Buffer.alloc(0), 'tessera value fingerprint', 32),
  );
  return (path, field, bytes) => {
    const hmac = createHmac('sha256', key);
    // The lengths keep the parts apart: no two (path, field, value) give the same input.
    const lengths = Buffer.alloc(8);
    lengths.writeUInt32BE(Buffer.byteLength(path), 0);
    lengths.writeUInt32BE(Buffer.byteLength(field), 4);
    hmac.update(lengths).update(path).update(field).update(bytes);
    return hmac.digest('hex').slice(0, FINGERPRINT_HEX);
  };
}
