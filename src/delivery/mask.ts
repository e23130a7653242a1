import { Transform, type TransformCallback } from 'node:stream';

import { encodedForms } from './mask-forms.ts';
import { addRange, MIN_PATTERN_BYTES, PatternMatcher, type Range } from './pattern-matcher.ts';

/** Replacement of each masked occurrence in the command's output. */
export const MASK = Buffer.from('****');

const EMPTY = Buffer.alloc(0);

/** Values shorter than this many bytes are not masked unless another minimum is given. */
export const DEFAULT_MASK_MIN_BYTES = 6;

/** The shortest value that can be masked. */
export const MIN_MASK_BYTES = MIN_PATTERN_BYTES;

/** The patterns built from a set of secret values, and how many values were too short. */
export interface MaskPatterns {
  patterns: Buffer[];
  skippedShort: number;
}

/**
 * Builds the byte patterns to mask for each value: the value itself and its encoded
 * forms (see `encodedForms`). Values shorter than `minBytes` are skipped and counted,
 * because masking every short word would garble ordinary output.
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

/**
 * A stream that replaces every occurrence of the given patterns with `****`, also when
 * one is split across chunks. It holds back only a tail that could still become a match,
 * so output that cannot match passes through at once and byte for byte.
 */
export class MaskStream extends Transform {
  #matcher: PatternMatcher | undefined;
  #pending: Buffer = EMPTY;
  // When the output so far ends with a `****`, where its match ends, counted from the
  // start of the held bytes: a match that starts there or before joins that `****`. The
  // held bytes before it are kept only so that such a match can still be found. -1 when
  // the output ends with other bytes.
  #maskEnd = -1;

  constructor(patterns: readonly Buffer[]) {
    super();
    this.setPatterns(patterns);
  }

  /** Replaces the patterns; bytes held back so far are matched against the new ones. */
  setPatterns(patterns: readonly Buffer[]): void {
    this.#matcher = patterns.length > 0 ? new PatternMatcher(patterns) : undefined;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    const matcher = this.#matcher;
    const head = this.#pending;
    if (matcher === undefined) {
      const held = this.#takeUnmasked();
      done(null, held.length === 0 ? chunk : Buffer.concat([held, chunk]));
      return;
    }
    if (head.length > 0 && chunk.length >= matcher.maxLength) {
      // The chunk is searched where it lies; only the bytes around the join are copied.
      const cut = head.length + chunk.length - matcher.pendingTailLength(chunk);
      this.#emit(head, chunk, rangesAcross(matcher, head, chunk), cut);
    } else {
      const data = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const cut = data.length - matcher.pendingTailLength(data);
      this.#emit(EMPTY, data, matcher.findRanges(data), cut);
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    const rest = this.#pending;
    if (this.#matcher === undefined) this.push(this.#takeUnmasked());
    else if (rest.length > 0) this.#emit(EMPTY, rest, this.#matcher.findRanges(rest), rest.length);
    done();
  }

  #takeUnmasked(): Buffer {
    const held = this.#pending.subarray(Math.max(0, this.#maskEnd));
    this.#pending = EMPTY;
    this.#maskEnd = -1;
    return held;
  }

  /**
   * Pushes the bytes of `head` followed by `body` up to `cut`, each range replaced by
   * `****`, and keeps the rest for the next chunk. `head` is the held bytes, so `cut` is
   * never inside it. A match that reaches `cut` or past it is masked now. A match that
   * starts in the held bytes at or before its end joins this `****` in the next chunk,
   * as it would if all the bytes had come in one read.
   */
  #emit(head: Buffer, body: Buffer, ranges: readonly Range[], cut: number): void {
    let maskEnd = this.#maskEnd;
    let written = Math.max(0, maskEnd);
    for (const [start, end] of ranges) {
      if (start >= cut) break;
      if (start <= maskEnd) {
        written = Math.max(written, end);
      } else {
        this.#pushSpan(head, body, written, start);
        this.push(MASK);
        written = end;
      }
      maskEnd = written;
    }
    if (written < cut) {
      this.#pushSpan(head, body, written, cut);
      maskEnd = -1;
    }
    // A copy, so that the caller's chunk is not kept alive by a small tail.
    this.#pending = Buffer.from(body.subarray(cut - head.length));
    this.#maskEnd = maskEnd >= cut ? maskEnd - cut : -1;
  }

  #pushSpan(head: Buffer, body: Buffer, from: number, to: number): void {
    if (from >= to) return;
    const split = head.length;
    if (from < split) this.push(head.subarray(from, Math.min(to, split)));
    if (to > split) this.push(body.subarray(Math.max(from, split) - split, to - split));
  }
}

/**
 * Returns the ranges `findRanges` would give for `head` and `body` joined, without
 * copying `body`: the matches that start in `head` are searched for in `head` and the
 * start of `body`, and the rest in `body` itself.
 */
function rangesAcross(matcher: PatternMatcher, head: Buffer, body: Buffer): Range[] {
  const split = head.length;
  const join = Buffer.concat([head, body.subarray(0, matcher.maxLength - 1)]);
  const ranges = matcher.findRanges(join).filter(([start]) => start < split);
  for (const [start, end] of matcher.findRanges(body)) addRange(ranges, start + split, end + split);
  return ranges;
}
