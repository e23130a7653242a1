import { LongPatternTails } from './long-tails.ts';

// Wu-Manber block size. Blocks of three bytes, hashed into 18 bits, keep most shifts at
// their maximum even with hundreds of patterns, and pairs of bytes did not (measured with
// bench/mask.ts). A hash collision only shortens a shift, so it never hides a match.
const BLOCK = 3;
const TABLE_BITS = 18;
const TABLE_SIZE = 1 << TABLE_BITS;

/** The shortest pattern that can be searched for: a pattern needs at least one whole block. */
export const MIN_PATTERN_BYTES = BLOCK;

// Each step of a Wu-Manber scan waits for the table load of the step before it, so one
// scan leaves most of the processor idle. Four scans of separate quarters, interleaved in
// one loop, run side by side and nearly triple the throughput (measured with bench/mask.ts).
// Buffers under this many bytes, or under 16 times the shortest pattern, are scanned in
// one piece.
const LANES_FROM_BYTES = 4096;

// Tails up to this long are checked length by length; longer ones by `LongPatternTails`.
const SHORT_TAIL_BYTES = 64;

/** A `[start, end)` byte range of a match. */
export type Range = [number, number];

// Multiplicative (Fibonacci) hashing of the block that ends at `end`. It spreads the few
// byte values of text over the whole table. Shifting and XOR-ing the bytes left clusters,
// which made some sets of secrets twice as slow.
function blockHash(data: Uint8Array, end: number): number {
  const block =
    ((data[end - 2] as number) << 16) | ((data[end - 1] as number) << 8) | (data[end] as number);
  return Math.imul(block, 0x9e3779b1) >>> (32 - TABLE_BITS);
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
  // Marks the hashes of each pattern's first block: a cheap second test before the bucket.
  readonly #prefixes = new Uint8Array(TABLE_SIZE);
  readonly #firstBytes = new Uint8Array(256);
  readonly #byFirstByte = new Map<number, Buffer[]>();
  readonly #longTails: LongPatternTails;

  constructor(patterns: readonly Buffer[]) {
    const lengths = patterns.map((pattern) => pattern.length);
    this.#minLength = Math.max(BLOCK, Math.min(...lengths));
    this.maxLength = Math.max(0, ...lengths);
    this.#shift.fill(Math.min(255, this.#minLength - BLOCK + 1));
    for (const pattern of patterns) this.#add(pattern);
    this.#longTails = new LongPatternTails(patterns, SHORT_TAIL_BYTES);
  }

  #add(pattern: Buffer): void {
    const first = pattern[0] as number;
    this.#firstBytes[first] = 1;
    this.#byFirstByte.set(first, [...(this.#byFirstByte.get(first) ?? []), pattern]);
    if (pattern.length < BLOCK) return;

    const m = this.#minLength;
    this.#prefixes[blockHash(pattern, BLOCK - 1)] = 1;
    for (let j = BLOCK - 1; j < m; j++) {
      const block = blockHash(pattern, j);
      this.#shift[block] = Math.min(this.#shift[block] as number, m - 1 - j);
    }
    const last = blockHash(pattern, m - 1);
    this.#buckets.set(last, [...(this.#buckets.get(last) ?? []), pattern]);
  }

  /** Returns the ranges of all matches in `data`, by start, merged where they overlap. */
  findRanges(data: Buffer): Range[] {
    if (data.length < Math.max(LANES_FROM_BYTES, 16 * this.#minLength)) {
      const found: Range[] = [];
      this.#scan(data, this.#minLength - 1, data.length, found);
      return found;
    }
    return this.#scanInLanes(data);
  }

  /**
   * Scans the four quarters of `data` in one loop, each for the matches that start in it,
   * then joins their ranges in order.
   */
  #scanInLanes(data: Buffer): Range[] {
    const shift = this.#shift;
    const first = this.#minLength - 1;
    const quarter = data.length >> 2;
    const lanes = [[], [], [], []] as [Range[], Range[], Range[], Range[]];
    // Lane k looks at the windows that end from `k * quarter + first` on, so at the
    // matches that start in its quarter. The last lane runs to the end of the data.
    const end0 = quarter + first;
    const end1 = end0 + quarter;
    const end2 = end1 + quarter;
    const end3 = data.length;
    let pos0 = first;
    let pos1 = end0;
    let pos2 = end1;
    let pos3 = end2;
    while (pos0 < end0 && pos1 < end1 && pos2 < end2 && pos3 < end3) {
      const step0 = shift[blockHash(data, pos0)] as number;
      const step1 = shift[blockHash(data, pos1)] as number;
      const step2 = shift[blockHash(data, pos2)] as number;
      const step3 = shift[blockHash(data, pos3)] as number;
      pos0 = step0 > 0 ? pos0 + step0 : this.#check(data, pos0, lanes[0]);
      pos1 = step1 > 0 ? pos1 + step1 : this.#check(data, pos1, lanes[1]);
      pos2 = step2 > 0 ? pos2 + step2 : this.#check(data, pos2, lanes[2]);
      pos3 = step3 > 0 ? pos3 + step3 : this.#check(data, pos3, lanes[3]);
    }
    this.#scan(data, pos0, end0, lanes[0]);
    this.#scan(data, pos1, end1, lanes[1]);
    this.#scan(data, pos2, end2, lanes[2]);
    this.#scan(data, pos3, end3, lanes[3]);

    const ranges = lanes[0];
    for (const lane of lanes.slice(1)) {
      for (const [start, end] of lane) addRange(ranges, start, end);
    }
    return ranges;
  }

  /** Scans the windows ending in `[pos, end)`, adding matches to `found`. */
  #scan(data: Buffer, from: number, end: number, found: Range[]): void {
    const shift = this.#shift;
    const stop = Math.min(end, data.length);
    let pos = from;
    while (pos < stop) {
      const step = shift[blockHash(data, pos)] as number;
      pos = step > 0 ? pos + step : this.#check(data, pos, found);
    }
  }

  /** Adds the patterns matching the window that ends at `pos`; returns the next position. */
  #check(data: Buffer, pos: number, found: Range[]): number {
    const start = pos - this.#minLength + 1;
    if (this.#prefixes[blockHash(data, start + BLOCK - 1)] === 0) return pos + 1;
    for (const pattern of this.#buckets.get(blockHash(data, pos)) ?? []) {
      const end = start + pattern.length;
      if (end <= data.length && equalAt(data, start, pattern, pattern.length)) {
        addRange(found, start, end);
      }
    }
    return pos + 1;
  }

  /**
   * Returns the length of the longest tail of `data`, shorter than the longest pattern,
   * that is the start of some pattern: the bytes that must wait for the next chunk.
   */
  pendingTailLength(data: Buffer): number {
    const long = this.#longTails.longestTail(data);
    if (long > 0) return long;
    const longest = Math.min(this.maxLength - 1, data.length, SHORT_TAIL_BYTES);
    for (let k = longest; k > 0; k--) {
      const start = data.length - k;
      if (this.#firstBytes[data[start] as number] === 0) continue;
      for (const pattern of this.#byFirstByte.get(data[start] as number) ?? []) {
        if (pattern.length > k && equalAt(data, start, pattern, k)) return k;
      }
    }
    return 0;
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
