import { isUtf8 } from 'node:buffer';

// Line widths at which encoders wrap base64: MIME and coreutils' base64 at 76 columns,
// PEM and `openssl base64` at 64.
const BASE64_LINE_WIDTHS = [76, 64];

// The last line of wrapped base64 is masked only from this length on: a shorter pattern
// would shorten the stride of the search, and match ordinary output by chance.
const MIN_LINE_PATTERN_BYTES = 16;

/**
 * Returns the forms in which a value may appear in output: the bytes themselves, base64
 * (padded, unpadded, URL-safe, wrapped into lines, and inside longer base64 at any of the
 * three offsets in a group), percent-encoding as URL and form encoders write it, and JSON
 * escaping as common encoders write it. Duplicates are left for the caller to drop.
 */
export function encodedForms(value: Buffer): Buffer[] {
  const forms = [value, ...base64Forms(value), ...percentForms(value)];
  if (isUtf8(value)) forms.push(...textForms(value.toString('utf8')));
  return forms;
}

function base64Forms(value: Buffer): Buffer[] {
  const padded = value.toString('base64');
  const texts = [padded, padded.replace(/=+$/, ''), value.toString('base64url')];
  for (const offset of [0, 1, 2]) texts.push(...embeddedBase64(value, offset));
  for (const width of BASE64_LINE_WIDTHS) {
    if (padded.length <= width) continue;
    for (let at = 0; at < padded.length; at += width) {
      const line = padded.slice(at, at + width);
      if (line.length >= MIN_LINE_PATTERN_BYTES) texts.push(line);
    }
  }
  return texts.map((text) => Buffer.from(text));
}

/**
 * Returns the base64 characters that encode only bytes of the value when it sits
 * `offset` bytes (0 to 2) into a base64 group. That happens in the `user:password` of an
 * HTTP Basic header, and when more bytes follow it, as after `echo "$SECRET" | base64`.
 * Each character holds 6 bits, so the characters that share bits with the bytes around
 * the value are left out, and the form matches whatever those bytes are.
 */
function embeddedBase64(value: Buffer, offset: number): string[] {
  const first = Math.ceil((offset * 8) / 6);
  const end = Math.floor(((offset + value.length) * 8) / 6);
  const shifted = Buffer.concat([Buffer.alloc(offset), value]);
  return [shifted.toString('base64'), shifted.toString('base64url')].map((text) =>
    text.slice(first, end),
  );
}

// RFC 3986 leaves unreserved characters as they are. Python's quote() also keeps `/` by
// default, and form encoding (quote_plus, application/x-www-form-urlencoded) writes a
// space as `+`. The URL Standard's form encoding (URLSearchParams, HTML forms) keeps `*`
// but encodes `~`, and PHP's urlencode() encodes both. Some encoders write the hex digits
// in lower case.
function percentForms(value: Buffer): Buffer[] {
  const texts = [
    percentEncode(value, /[A-Za-z0-9\-_.~]/),
    percentEncode(value, /[A-Za-z0-9\-_.~/]/),
    percentEncode(value, /[A-Za-z0-9\-_.~]/).replaceAll('%20', '+'),
    percentEncode(value, /[A-Za-z0-9*\-_.]/).replaceAll('%20', '+'),
    percentEncode(value, /[A-Za-z0-9\-_.]/).replaceAll('%20', '+'),
  ];
  const lower = texts.map((text) => text.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase()));
  return [...texts, ...lower].map((text) => Buffer.from(text));
}

function percentEncode(value: Buffer, unescaped: RegExp): string {
  let out = '';
  for (const byte of value) {
    const char = String.fromCharCode(byte);
    out +=
      byte < 0x80 && unescaped.test(char)
        ? char
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

// encodeURIComponent leaves `!'()*` as they are. JSON encoders differ in what else they
// escape: ASCII-only ones write every other character as \uXXXX, in lower-case hex
// (Python) or upper-case (Jackson). PHP writes `/` as `\/`, by default together with the
// lower-case escapes. Go writes `&`, `<` and `>` as \u0026, \u003c and \u003e. .NET's
// System.Text.Json also escapes `"`, `'`, `+` and `` ` `` that way, in upper-case hex,
// besides every character outside ASCII.
function textForms(text: string): Buffer[] {
  const json = JSON.stringify(text).slice(1, -1);
  const asciiOnly = json.replace(/[^\x20-\x7e]/g, unicodeEscape);
  const dotnet = json.replaceAll('\\"', '\\u0022').replace(/[^\x20-\x7e]|[&'+<>`]/g, unicodeEscape);
  const texts = [
    encodeURIComponent(text),
    json,
    asciiOnly,
    upperCaseHex(asciiOnly),
    json.replaceAll('/', '\\/'),
    asciiOnly.replaceAll('/', '\\/'),
    json.replace(/[&<>]/g, unicodeEscape),
    dotnet,
    upperCaseHex(dotnet),
  ];
  return texts.map((form) => Buffer.from(form));
}

function unicodeEscape(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

// Upper-cases the hex digits of the \uXXXX escapes, and only those.
function upperCaseHex(json: string): string {
  return json.replace(/\\u[0-9a-f]{4}/g, (sequence) => `\\u${sequence.slice(2).toUpperCase()}`);
}
