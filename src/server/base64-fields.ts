import { TesseraError } from '../errors.ts';
import { decodeBase64 } from '../mesos/base64.ts';
import { emptyRecord } from '../records.ts';

// Tessera's own routes carry field values as base64, so that any bytes round-trip.

/** Decodes base64 field values. `where` names the object in messages, as in `fields`. */
export function decodeFields(
  fields: Record<string, string>,
  where: string,
): Record<string, Buffer> {
  const decoded = emptyRecord<Buffer>();
  for (const [name, text] of Object.entries(fields)) {
    decoded[name] = decodeBase64(text, `${where}.${name}`);
  }
  if (Object.keys(decoded).length === 0) {
    throw new TesseraError('INVALID_ARGUMENT', `${where} must hold at least one field`);
  }
  return decoded;
}

/** Encodes field bytes as base64 text. */
export function encodeFields(fields: Record<string, Buffer>): Record<string, string> {
  const encoded = emptyRecord<string>();
  for (const [name, bytes] of Object.entries(fields)) encoded[name] = bytes.toString('base64');
  return encoded;
}
