import { TesseraError } from '../errors.ts';

// Character codes of the standard alphabet (RFC 4648 section 4), mapped to their 6-bit value.
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const VALUE_OF = new Int8Array(128).fill(-1);
for (const [index, char] of [...ALPHABET].entries()) {
  VALUE_OF[char.charCodeAt(0)] = index;
}
const PAD = '='.charCodeAt(0);

const FIX =
  'encode the bytes as standard base64 (RFC 4648 section 4: alphabet A-Z a-z 0-9 + /, ' +
  "'=' padding, no line breaks or URL-safe characters)";

/**
 * Decodes strict standard base64, as protobuf JSON writes `bytes` fields. The text must
 * use the RFC 4648 alphabet with `+` and `/`, have a length that is a multiple of 4 and
 * correct `=` padding, contain no whitespace, and be canonical (unused bits zero, so
 * re-encoding returns the same text). The empty string decodes to 0 bytes.
 * `Buffer.from(text, 'base64')` skips invalid characters silently, so every rule is
 * checked first. Throws INVALID_ARGUMENT naming `field` and an offset, never any
 * character of the text.
 */
export function decodeBase64(text: string, field: string): Buffer {
  if (typeof text !== 'string') {
    reject(field, `is a ${typeof text}, not a string`);
  }
  if (text.length % 4 !== 0) {
    reject(field, `has a length that is not a multiple of 4 (${text.length % 4} extra)`);
  }

  const padding = paddingLength(text);
  const dataLength = text.length - padding;
  for (let offset = 0; offset < dataLength; offset += 1) {
    const code = text.charCodeAt(offset);
    if (code >= 128 || VALUE_OF[code] === -1) {
      reject(field, `has a character outside the standard base64 alphabet at offset ${offset}`, {
        offset,
      });
    }
  }

  const decoded = Buffer.from(text, 'base64');
  if (decoded.toString('base64') !== text) {
    reject(field, 'is not in canonical form (the unused bits of its last character are not zero)');
  }
  return decoded;
}

// Counts the trailing '=' (at most 2); a '=' anywhere else fails the alphabet check.
function paddingLength(text: string): number {
  let padding = 0;
  while (padding < 2 && text.charCodeAt(text.length - 1 - padding) === PAD) {
    padding += 1;
  }
  return padding;
}

function reject(field: string, problem: string, details: Record<string, unknown> = {}): never {
  throw new TesseraError(
    'INVALID_ARGUMENT',
    `${field} is not valid base64: it ${problem}; ${FIX}`,
    {
      field,
      ...details,
    },
  );
}
