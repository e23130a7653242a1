import { failureTable, LongPatternTails } from './long-tails.ts';

// The search reads one gram, a run of four bytes, every `stride` bytes. The stride is the
// shortest pattern's length less three, so every occurrence of a pattern contains a whole
// gram read at some sample. When the shortest pattern has three bytes, grams have three.
const MAX_GRAM = 4;

// A sample's gram is tested first in a filter of 2^18 bits (32 KiB). The 4,200 grams of
// 50 values of 24 bytes and their encoded forms (200 patterns) set about 1.6% of them. So
// one or two samples in a hundred of unrelated output pass it and go on to a second
// filter, then to the map of grams. A hash collision only costs those look-ups, so it
// never hides a match. Both filters hold bits, not bytes. With tables of 2^18 bytes, the
// search alone on hot caches was faster. But in `bench/mask.ts` the masked relay then
// took about 140 ms/GiB more CPU time than the plain one, and with bits 80, most likely
// because small tables stay in the processor's cache while the relay writes the output.
const FILTER_HASH_BITS = 18;

/** The shortest pattern that can be searched for. */
export const MIN_PATTERN_BYTES = 3;

// Tails up to this long are checked length by length; longer ones by `LongPatternTails`.
const SHORT_TAIL_BYTES = 64;

/** A `[start, end)` byte range of a match. */
export type Range = [number, number];

const NO_RANGES: readonly Range[] = Object.freeze([]);

/** A pattern and the offsets, falling, at which it has the gram that it is filed under. */
interface GramEntry {
  pattern: Buffer;
  offsets: number[];
  /** The smallest shift that maps the pattern onto itself where the two overlap. */
  period: number;
}

// Multiplicative (Fibonacci) hashing: it spreads the few byte values of text over the
// whole filter.
function filterIndex(gram: number): number {
  return Math.imul(gram, 0x9e3779b1) >>> (32 - FILTER_HASH_BITS);
}

// An index into the second filter that is independent of `filterIndex`: the gram's bits
// are mixed before a multiplication by another odd constant (MurmurHash3's).
function confirmIndex(gram: number): number {
  return Math.imul(gram ^ (gram >>> 15), 0x85ebca6b) >>> (32 - FILTER_HASH_BITS);
}

// Sets the bit at `index` of the table.
function setBit(table: Uint8Array, index: number): void {
  table[index >>> 3] = (table[index >>> 3] as number) | (1 << (index & 7));
}

// Returns the bit at `index` of the table, 0 or 1.
function bitAt(table: Uint8Array, index: number): number {
  return ((table[index >>> 3] as number) >>> (index & 7)) & 1;
}

/**
 * Finds every occurrence of a fixed set of byte patterns. It reads one gram every stride
 * of the data, and looks further only at the few samples whose gram a pattern has near
 * its start.
 */
export class PatternMatcher {
  readonly maxLength: number;
  readonly #gram: number;
  readonly #stride: number;
  readonly #filter = new Uint8Array(1 << (FILTER_HASH_BITS - 3));
  // The same grams under another hash. One or two samples in a hundred of varied log
  // text pass the filter, and this rejects almost all of them before the map look-up.
  // On such text that made the search about a tenth faster.
  readonly #confirm = new Uint8Array(1 << (FILTER_HASH_BITS - 3));
  // By gram: the patterns that have it at an offset below the stride.
  readonly #entries = new Map<number, GramEntry[]>();
  // The matches of one sample, sorted by start before they join the found ranges.
  readonly #sampleMatches: Range[] = [];
  // By byte: 1 where a pattern of two bytes or more starts with it.
  readonly #startsLonger = new Uint8Array(256);
  // By the first two bytes of a pattern, as `first << 8 | second`: 1 where one starts so.
  readonly #firstPairs = new Uint8Array(1 << 16);
  readonly #byFirstByte = new Map<number, Buffer[]>();
  readonly #longTails: LongPatternTails;
  // Positions of the samples that passed the filter, reused from call to call.
  #candidates = new Int32Array(0);
  // Where each pattern last matched in the data of the current `findRanges` call.
  readonly #lastStarts = new Map<Buffer, number>();

  constructor(patterns: readonly Buffer[]) {
    const searchable = patterns.filter((pattern) => pattern.length >= MIN_PATTERN_BYTES);
    const minLength = Math.min(...searchable.map((pattern) => pattern.length));
    this.maxLength = Math.max(0, ...patterns.map((pattern) => pattern.length));
    this.#gram = Math.min(MAX_GRAM, minLength);
    this.#stride = minLength - this.#gram + 1;
    for (const pattern of patterns) this.#addStart(pattern);
    for (const pattern of searchable) this.#addGrams(pattern);
    this.#longTails = new LongPatternTails(patterns, SHORT_TAIL_BYTES);
  }

  #addStart(pattern: Buffer): void {
    const first = pattern[0] as number;
    if (pattern.length >= 2) {
      this.#startsLonger[first] = 1;
      this.#firstPairs[(first << 8) | (pattern[1] as number)] = 1;
    }
    this.#byFirstByte.set(first, [...(this.#byFirstByte.get(first) ?? []), pattern]);
  }

  // The first sample inside an occurrence lies less than a stride from its start, so the
  // grams at those offsets are the only ones that need to be filed.
  #addGrams(pattern: Buffer): void {
    const period = pattern.length - (failureTable(pattern)[pattern.length - 1] as number);
    for (let offset = this.#stride - 1; offset >= 0; offset--) {
      const gram = gramAt(pattern, offset, this.#gram);
      setBit(this.#filter, filterIndex(gram));
      setBit(this.#confirm, confirmIndex(gram));
      const entries = this.#entries.get(gram) ?? [];
      const last = entries.at(-1);
      if (last?.pattern === pattern) last.offsets.push(offset);
      else entries.push({ pattern, offsets: [offset], period });
      this.#entries.set(gram, entries);
    }
  }

  /** Returns the ranges of all matches in `data`, by start, merged where they overlap. */
  findRanges(data: Buffer): readonly Range[] {
    if (this.#entries.size === 0) return NO_RANGES;
    const count = this.#sample(data);
    // Most output has no candidate at all, and then nothing is allocated.
    if (count === 0) return NO_RANGES;
    const found: Range[] = [];
    const candidates = this.#candidates;
    this.#lastStarts.clear();
    for (let i = 0; i < count; i++) this.#check(data, candidates[i] as number, found);
    return found;
  }

  /**
   * Stores in `#candidates` the positions of the samples whose gram passes the filter,
   * and returns how many there are.
   */
  #sample(data: Buffer): number {
    const stride = this.#stride;
    const last = data.length - this.#gram;
    if (last < 0) return 0;
    const samples = Math.floor(last / stride) + 1;
    if (this.#candidates.length < samples) this.#candidates = new Int32Array(samples);
    if (this.#gram < 4) return this.#sampleShortGrams(data, last);

    // The loop has no branch on the data, and its sums wrap with `| 0` instead of being
    // checked for overflow: a branch in it made V8's code about twice as slow on 64 KiB
    // of log text. getInt32, because V8's code for getUint32 checks that each value fits
    // in an int32 and leaves the optimised code when one does not.
    const candidates = this.#candidates;
    const filter = this.#filter;
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    let count = 0;
    for (let at = 0; at <= last; at = (at + stride) | 0) {
      candidates[count] = at;
      count = (count + bitAt(filter, filterIndex(view.getInt32(at, true)))) | 0;
    }
    return count;
  }

  // Three-byte grams, read byte by byte: only values of three bytes make them, and those
  // make the stride a single byte anyway.
  #sampleShortGrams(data: Buffer, last: number): number {
    let count = 0;
    for (let at = 0; at <= last; at += this.#stride) {
      this.#candidates[count] = at;
      count += bitAt(this.#filter, filterIndex(gramAt(data, at, this.#gram)));
    }
    return count;
  }

  /** Adds the patterns that occur with their filed gram at `at`. */
  #check(data: Buffer, at: number, found: Range[]): void {
    const gram = gramAt(data, at, this.#gram);
    if (bitAt(this.#confirm, confirmIndex(gram)) === 0) return;
    const entries = this.#entries.get(gram);
    if (entries === undefined) return;
    const matches = this.#sampleMatches;
    matches.length = 0;
    for (const entry of entries) this.#matchEntry(data, at, entry, matches);
    // Each pattern's matches come by rising start, but those of two patterns interleave.
    if (entries.length > 1) matches.sort((a, b) => a[0] - b[0]);
    for (const [start, end] of matches) addRange(found, start, end);
  }

  /**
   * Adds to `matches` the ranges where the entry's pattern occurs with its gram at `at`,
   * merged where they overlap or touch.
   */
  #matchEntry(data: Buffer, at: number, entry: GramEntry, matches: Range[]): void {
    const { pattern, offsets } = entry;
    // A start from 0 on, and an end at the end of the data at the latest.
    const lowest = at + pattern.length - data.length;
    let previous = this.#lastStarts.get(pattern);
    let run: Range | undefined;
    for (let i = firstAtMost(offsets, at); i < offsets.length; i++) {
      const offset = offsets[i] as number;
      if (offset < lowest) break;
      const start = at - offset;
      if (!occursAt(data, start, entry, previous)) continue;
      previous = start;
      if (run !== undefined && start <= run[1]) {
        run[1] = start + pattern.length;
      } else {
        run = [start, start + pattern.length];
        matches.push(run);
      }
    }
    if (previous !== undefined) this.#lastStarts.set(pattern, previous);
  }

  /**
   * Returns the length of the longest tail of `data`, shorter than the longest pattern,
   * that is the start of some pattern: the bytes that must wait for the next chunk.
   */
  pendingTailLength(data: Buffer): number {
    const long = this.#longTails.longestTail(data);
    if (long > 0) return long;
    const length = data.length;
    const longest = Math.min(this.maxLength - 1, length, SHORT_TAIL_BYTES);
    const pairs = this.#firstPairs;
    // From the longest tail down. Most tails differ from every pattern in their first two
    // bytes, so those are tested in a table first.
    for (let start = length - longest; start < length - 1; start++) {
      const first = data[start] as number;
      if (pairs[(first << 8) | (data[start + 1] as number)] === 0) continue;
      if (this.#startsTail(data, start)) return length - start;
    }
    return longest > 0 && this.#startsLonger[data[length - 1] as number] === 1 ? 1 : 0;
  }

  // Whether the bytes of `data` from `start` on begin a pattern that is longer than them.
  #startsTail(data: Buffer, start: number): boolean {
    const rest = data.length - start;
    for (const pattern of this.#byFirstByte.get(data[start] as number) ?? []) {
      if (pattern.length > rest && equalAt(data, start, pattern, rest)) return true;
    }
    return false;
  }
}

// Whether `data` contains the first `length` bytes of `pattern` at `at`. A byte loop, because
// most candidates differ within a byte or two and a call into `Buffer.compare` costs more.
// The last byte goes first: output that repeats the start of a long value then costs one
// comparison per candidate, not the length of that start.
function equalAt(data: Buffer, at: number, pattern: Buffer, length: number): boolean {
  if (data[at + length - 1] !== pattern[length - 1]) return false;
  for (let i = 0; i < length; i++) {
    if (data[at + i] !== pattern[i]) return false;
  }
  return true;
}

/**
 * Returns whether the entry's pattern occurs in `data` at `start`. When it also occurs at
 * `previous`, less than its length before and shifted by a multiple of its smallest
 * period, the bytes they share are equal already, so only the bytes past the earlier match
 * are compared. Output that repeats a periodic value (zero bytes, `xxxx`) would otherwise
 * cost the value's length at every position.
 */
function occursAt(data: Buffer, start: number, entry: GramEntry, previous: number | undefined) {
  const { pattern, period } = entry;
  const length = pattern.length;
  // Most candidates differ in the last byte, so it is tested first.
  if (data[start + length - 1] !== pattern[length - 1]) return false;
  const shift = previous === undefined ? length : start - previous;
  if (shift < length && shift % period === 0) {
    return equalRange(data, (previous as number) + length, pattern, length - shift, shift);
  }
  return equalAt(data, start, pattern, length);
}

// The index of the first of the falling `values` that is `limit` or less.
function firstAtMost(values: readonly number[], limit: number): number {
  let low = 0;
  let high = values.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((values[middle] as number) > limit) low = middle + 1;
    else high = middle;
  }
  return low;
}

// Whether `data` from `dataFrom` contains `length` bytes of `pattern` from `patternFrom`.
function equalRange(
  data: Buffer,
  dataFrom: number,
  pattern: Buffer,
  patternFrom: number,
  length: number,
): boolean {
  for (let i = 0; i < length; i++) {
    if (data[dataFrom + i] !== pattern[patternFrom + i]) return false;
  }
  return true;
}

// The `length` bytes at `at` as a little-endian int32, as DataView's getInt32 reads four.
function gramAt(data: Uint8Array, at: number, length: number): number {
  let gram = 0;
  for (let i = length - 1; i >= 0; i--) gram = (gram << 8) | (data[at + i] as number);
  return gram | 0;
}

/**
 * Adds a match to ranges sorted by start, merging it into the last one when they overlap
 * or touch. Matches must come in increasing start order, so only the last can overlap.
 */
export function addRange(ranges: Range[], start: number, end: number): void {
  const last = ranges.at(-1);
  if (last !== undefined && start <= last[1]) {
    last[1] = Math.max(last[1], end);
    return;
  }
  ranges.push([start, end]);
}
