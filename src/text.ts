import type { TesseraError } from './errors.ts';
import { emptyRecord } from './records.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes each field as UTF-8 text. A field whose bytes are not UTF-8 cannot be a JSON
 * string, so the caller's `notText` builds the error naming that field and the way to
 * read its bytes instead.
 */
export function textFields(
  fields: Record<string, Buffer>,
  notText: (field: string) => TesseraError,
): Record<string, string> {
  const data = emptyRecord<string>();
  for (const [name, bytes] of Object.entries(fields)) {
    try {
      data[name] = utf8.decode(bytes);
    } catch {
      throw notText(name);
    }
  }
  return data;
}
