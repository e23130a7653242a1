import { isUtf8 } from 'node:buffer';
import { Transform, type TransformCallback } from 'node:stream';

/** Replacement of each masked occurrence in the command's output. */
export const MASK = Buffer.from('****');

/** Values shorter than this many bytes are not masked unless another minimum is given. */
export const DEFAULT_MASK_MIN_BYTES = 6;

// Wu-Manber block size. Blocks of three bytes, hashed into 18 bits, keep most shifts at
// their maximum even with hundreds of patterns; pairs of bytes did not (measured with
// bench/mask.ts). A hash collision only shortens a shift, so it never hides a match.
const BLOCK = 3;
const TABLE_BITS = 18;
const TABLE_SIZE = 1 << TABLE_BITS;
const TABLE_MASK = TABLE_SIZE - 1;

/** The shortest value that can be masked: a pattern needs at least one whole block. */
export const MIN_MASK_BYTES = BLOCK;

function blockHash(data: Uint8Array, end: number): number {
  return (
    (((data[end - 2] as number) << 12) ^ ((data[end - 1] as number) << 6) ^ (data[end] as number)) &
    TABLE_MASK
  );
}

/** The patterns built from a set of secret values, and how many values were too short. */
export interface MaskPatterns {
  patterns: Buffer[];
  skippedShort: number;
}

/**
 * Builds the byte patterns to mask for each value: the value itself and its base64,
 * base64url, percent-encoded and JSON-escaped forms. Values shorter than `minBytes` are
 * skipped and counted, because masking every short word would garble ordinary output.
 */
export function buildMaskPatterns(values: readonly Buffer[], minBytes: number): MaskPatterns {
  const unique = new Map<string, Buffer>();
  let skippedShort = 0;
  for (const value of values) {
    if (value.length === 0) continue;
    if (value.length < minBytes) {
      skippedShort++;
      continue;
    }
    for (const form of encodedForms(value)) {
      if (form.length > 0) unique.set(form.toString('latin1'), form);
    }
  }
  return { patterns: [...unique.values()], skippedShort };
}

function encodedForms(value: Buffer): Buffer[] {
  // Padding is left out, so that an unpadded encoding is masked as well.
  const base64 = value.toString('base64').replace(/=+$/, '');
  const forms = [value, Buffer.from(base64), Buffer.from(value.toString('base64url'))];
  const percent = percentEncode(value);
  forms.push(Buffer.from(percent), Buffer.from(percent.toLowerCase()));
  if (isUtf8(value)) {
    const text = value.toString('utf8');
    forms.push(Buffer.from(encodeURIComponent(text)));
    const json = JSON.stringify(text).slice(1, -1);
    forms.push(Buffer.from(json));
    // JSON encoders that write ASCII only escape every other character as \uXXXX.
    forms.push(Buffer.from(json.replace(/[^\x20-\x7e]/g, unicodeEscape)));
  }
  return forms;
}

function percentEncode(value: Buffer): string {
  let out = '';
  for (const byte of value) {
    const char = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.~]/.test(char)
      ? char
      : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function unicodeEscape(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/**
 * Finds every occurrence of a fixed set of byte patterns with the Wu-Manber algorithm,
 * which skips ahead by up to the shortest pattern's length on bytes that start no match.
 */
export class PatternMatcher {
  readonly maxLength: number;
  readonly #minLength: number;
  readonly #shift = new Uint8Array(TABLE_SIZE);
  readonly #buckets = new Map<number, Buffer[]>();
  readonly #firstBytes = new Uint8Array(256);
  readonly #byFirstByte = new Map<number, Buffer[]>();

  constructor(patterns: readonly Buffer[]) {
    const lengths = patterns.map((pattern) => pattern.length);
    this.#minLength = Math.max(BLOCK, Math.min(...lengths));
    this.maxLength = Math.max(0, ...lengths);
    this.#shift.fill(Math.min(255, this.#minLength - BLOCK + 1));
    for (const pattern of patterns) this.#add(pattern);
  }

  #add(pattern: Buffer): void {
    const first = pattern[0] as number;
    this.#firstBytes[first] = 1;
    this.#byFirstByte.set(first, [...(this.#byFirstByte.get(first) ?? []), pattern]);
    if (pattern.length < BLOCK) return;

    const m = this.#minLength;
    for (let j = BLOCK - 1; j < m; j++) {
      const block = blockHash(pattern, j);
      this.#shift[block] = Math.min(this.#shift[block] as number, m - 1 - j);
    }
    const last = blockHash(pattern, m - 1);
    this.#buckets.set(last, [...(this.#buckets.get(last) ?? []), pattern]);
  }

  /** Returns the `[start, end)` ranges of all matches in `data`, merged where they overlap. */
  findRanges(data: Buffer): [number, number][] {
    const ranges: [number, number][] = [];
    const m = this.#minLength;
    const shift = this.#shift;
    let pos = m - 1;
    const length = data.length;
    while (pos < length) {
      const block = blockHash(data, pos);
      const step = shift[block] as number;
      if (step > 0) {
        pos += step;
        continue;
      }
      const start = pos - m + 1;
      for (const pattern of this.#buckets.get(block) ?? []) {
        const end = start + pattern.length;
        if (end <= data.length && data.compare(pattern, 0, pattern.length, start, end) === 0) {
          addRange(ranges, start, end);
        }
      }
      pos++;
    }
    return ranges;
  }

  /**
   * Returns the length of the longest tail of `data`, shorter than the longest pattern,
   * that is the start of some pattern: the bytes that must wait for the next chunk.
   */
  pendingTailLength(data: Buffer): number {
    const longest = Math.min(this.maxLength - 1, data.length);
    for (let k = longest; k > 0; k--) {
      const start = data.length - k;
      if (this.#firstBytes[data[start] as number] === 0) continue;
      for (const pattern of this.#byFirstByte.get(data[start] as number) ?? []) {
        if (pattern.length > k && data.compare(pattern, 0, k, start) === 0) return k;
      }
    }
    return 0;
  }
}

// Matches are found in increasing start order, so only the last range can overlap.
function addRange(ranges: [number, number][], start: number, end: number): void {
  const last = ranges.at(-1);
  if (last !== undefined && start <= last[1]) {
    last[1] = Math.max(last[1], end);
    return;
  }
  ranges.push([start, end]);
}

/**
 * A stream that replaces every occurrence of the given patterns with `****`, also when
 * one is split across chunks. It holds back only a tail that could still become a match,
 * so output that cannot match passes through at once and byte for byte.
 */
export class MaskStream extends Transform {
  #matcher: PatternMatcher | undefined;
  #pending: Buffer = Buffer.alloc(0);

  constructor(patterns: readonly Buffer[]) {
    super();
    this.setPatterns(patterns);
  }

  /** Replaces the patterns; bytes held back so far are matched against the new ones. */
  setPatterns(patterns: readonly Buffer[]): void {
    this.#matcher = patterns.length > 0 ? new PatternMatcher(patterns) : undefined;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.#matcher === undefined) {
      const pending = this.#pending;
      this.#pending = Buffer.alloc(0);
      done(null, pending.length === 0 ? chunk : Buffer.concat([pending, chunk]));
      return;
    }
    const data = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const cut = data.length - this.#matcher.pendingTailLength(data);
    this.#emit(data, cut);
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.#pending.length > 0) {
      if (this.#matcher === undefined) this.push(this.#pending);
      else this.#emit(this.#pending, this.#pending.length);
    }
    done();
  }

  #emit(data: Buffer, cutAt: number): void {
    const ranges = (this.#matcher as PatternMatcher).findRanges(data);
    let cut = cutAt;
    let written = 0;
    for (const [start, end] of ranges) {
      if (start >= cut) break;
      if (start > written) this.push(data.subarray(written, start));
      this.push(MASK);
      written = end;
      cut = Math.max(cut, end);
    }
    if (cut > written) this.push(data.subarray(written, cut));
    // A copy, so that the caller's chunk is not kept alive by a small tail.
    this.#pending = Buffer.from(data.subarray(cut));
  }
}
