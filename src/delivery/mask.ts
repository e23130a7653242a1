import { Socket } from 'node:net';
import { Transform, type TransformCallback } from 'node:stream';

import { encodedForms } from './mask-forms.ts';
import { CoalescedOutput } from './mask-output.ts';
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
 * because masking every short word would garble ordinary output. A value that ends with
 * a line ending, as a secret file written by `echo` does, is also masked without it.
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
    for (const form of valueForms(value, minBytes)) {
      if (form.length > 0) unique.set(form.toString('latin1'), form);
    }
  }
  return { patterns: [...unique.values()], skippedShort };
}

// Programs read such a value with `$(cat file)`, `.strip()` or `.trim()` and print it
// without its line ending. The bare value replaces the value itself among the patterns,
// so that `****` leaves the line ending in the output, where it is no secret.
function valueForms(value: Buffer, minBytes: number): Buffer[] {
  const bare = withoutLineEnding(value);
  if (bare.length === value.length || bare.length < minBytes) return encodedForms(value);
  const encoded = encodedForms(value).filter((form) => !form.equals(value));
  return [...encodedForms(bare), ...encoded];
}

function withoutLineEnding(value: Buffer): Buffer {
  let end = value.length;
  while (end > 0 && (value[end - 1] === 0x0a || value[end - 1] === 0x0d)) end--;
  return value.subarray(0, end);
}

/**
 * A stream that replaces every occurrence of the given patterns with `****`, also when
 * one is split across chunks. It holds back only a tail that could still become a match,
 * so output that cannot match passes through at once and byte for byte.
 */
export class MaskStream extends Transform {
  #matcher: PatternMatcher | undefined;
  // The held bytes, the start of a possible match, are `#held` from `#heldStart` on.
  // `#held` is the last chunk itself, so held bytes that turn out to be plain go out with
  // the rest of it. A quiet command keeps one chunk alive that way.
  #held: Buffer = EMPTY;
  #heldStart = 0;
  // When the output so far ends with a `****`, where its match ends, counted from the
  // start of the held bytes: a match that starts there or before joins that `****`. The
  // held bytes before it are kept only so that such a match can still be found. -1 when
  // the output ends with other bytes.
  #maskEnd = -1;
  // Room to join the held bytes with the start of the next chunk, reused from chunk to chunk.
  #joinScratch: Buffer = EMPTY;
  readonly #output = new CoalescedOutput((chunk) => this.push(chunk));
  // Where `passOnTo` pipes the output, if it writes each buffer before its callback.
  #destination: (NodeJS.WritableStream & { writableLength: number }) | undefined;

  constructor(patterns: readonly Buffer[]) {
    super();
    this.setPatterns(patterns);
  }

  /** Replaces the patterns; bytes held back so far are matched against the new ones. */
  setPatterns(patterns: readonly Buffer[]): void {
    this.#matcher = patterns.length > 0 ? new PatternMatcher(patterns) : undefined;
    // The held bytes are shorter than the longest pattern, old or new.
    const joinBytes = 2 * Math.max(this.#matcher?.maxLength ?? 0, this.#heldBytes + 1);
    if (this.#joinScratch.length < joinBytes) this.#joinScratch = Buffer.alloc(joinBytes);
  }

  /**
   * Pipes the masked output into `destination`, which is not ended when this stream ends.
   */
  passOnTo(destination: NodeJS.WritableStream): void {
    this.#destination = writesAtOnce(destination) ? destination : undefined;
    this.pipe(destination, { end: false });
  }

  /**
   * Returns whether a buffer written to this stream that lies in `memory` may still be
   * read, here or by the destination. The reader of the command's output reuses a buffer
   * only after a false. The result is true for any memory unless the destination writes
   * each buffer before it calls back (see `writesAtOnce`).
   */
  references(memory: ArrayBufferLike): boolean {
    const destination = this.#destination;
    if (destination === undefined) return true;
    if (this.writableLength > 0 || this.readableLength > 0 || destination.writableLength > 0) {
      return true;
    }
    return this.#held.buffer === memory || this.#output.references(memory);
  }

  /**
   * Drops the bytes held back as the start of a possible match, and passes on the rest.
   * The output is cut off before its end, so the match cannot complete, and the bytes
   * could be most of a secret.
   */
  cut(): void {
    this.#takeUnmasked();
    this.#output.flush();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    const matcher = this.#matcher;
    if (matcher === undefined) {
      this.#output.flush();
      const held = this.#takeUnmasked();
      done(null, held.length === 0 ? chunk : Buffer.concat([held, chunk]));
      return;
    }
    const heldBytes = this.#heldBytes;
    if (heldBytes > 0 && chunk.length >= matcher.maxLength) {
      // The chunk is searched where it lies; only the bytes around the join are copied.
      const cut = heldBytes + chunk.length - matcher.pendingTailLength(chunk);
      const ranges = this.#rangesAcross(matcher, chunk);
      this.#emit(this.#held, this.#heldStart, chunk, ranges, cut);
    } else {
      const data = heldBytes === 0 ? chunk : Buffer.concat([this.#heldView(), chunk]);
      const cut = data.length - matcher.pendingTailLength(data);
      this.#emit(EMPTY, 0, data, matcher.findRanges(data), cut);
    }
    // Output that no held bytes follow is complete, and goes out now.
    if (this.#heldBytes === 0) this.#output.flush();
    else this.#output.flushLater();
    done();
  }

  override _flush(done: TransformCallback): void {
    const matcher = this.#matcher;
    if (matcher === undefined) {
      this.#output.flush();
      this.push(this.#takeUnmasked());
    } else if (this.#heldBytes > 0) {
      // Emitted from where they lie, so that they join the rest of their chunk.
      const ranges = matcher.findRanges(this.#heldView());
      this.#emit(this.#held, this.#heldStart, EMPTY, ranges, this.#heldBytes);
    }
    this.#output.flush();
    done();
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    this.#output.cancel();
    done(error);
  }

  get #heldBytes(): number {
    return this.#held.length - this.#heldStart;
  }

  #heldView(): Buffer {
    return this.#held.subarray(this.#heldStart);
  }

  #takeUnmasked(): Buffer {
    const held = this.#held.subarray(this.#heldStart + Math.max(0, this.#maskEnd));
    this.#held = EMPTY;
    this.#heldStart = 0;
    this.#maskEnd = -1;
    return held;
  }

  /**
   * Returns the ranges `findRanges` would give for the held bytes and `body` joined,
   * without copying `body`. Matches that start in the held bytes are searched for in a
   * copy of them and the start of `body`, and the rest in `body` itself.
   */
  #rangesAcross(matcher: PatternMatcher, body: Buffer): readonly Range[] {
    const held = this.#held;
    const heldStart = this.#heldStart;
    const split = held.length - heldStart;
    const scratch = this.#joinScratch;
    const joined = split + Math.min(body.length, matcher.maxLength - 1);
    // Byte loops, because a call into `Buffer.copy` costs more for these few bytes.
    for (let i = 0; i < split; i++) scratch[i] = held[heldStart + i] as number;
    for (let i = split; i < joined; i++) scratch[i] = body[i - split] as number;

    const acrossJoin = matcher.findRanges(scratch.subarray(0, joined));
    const inBody = matcher.findRanges(body);
    if (acrossJoin.length === 0 && inBody.length === 0) return inBody;
    const ranges: Range[] = [];
    for (let i = 0; i < acrossJoin.length; i++) {
      const range = acrossJoin[i] as Range;
      if (range[0] < split) ranges.push([range[0], range[1]]);
    }
    for (let i = 0; i < inBody.length; i++) {
      const [start, end] = inBody[i] as Range;
      addRange(ranges, start + split, end + split);
    }
    return ranges;
  }

  /**
   * Outputs the held bytes, `head` from `headStart` on, followed by `body` up to `cut`,
   * each range replaced by `****`, and keeps the rest for the next chunk. `cut` is never
   * inside the held bytes. A match that reaches `cut` or past it is masked now. A match
   * that starts in the held bytes at or before its end joins this `****` in the next
   * chunk, as it would if all the bytes had come in one read.
   */
  #emit(head: Buffer, headStart: number, body: Buffer, ranges: readonly Range[], cut: number) {
    const split = head.length - headStart;
    let maskEnd = this.#maskEnd;
    let written = Math.max(0, maskEnd);
    for (let i = 0; i < ranges.length; i++) {
      const [start, end] = ranges[i] as Range;
      if (start >= cut) break;
      if (start <= maskEnd) {
        written = Math.max(written, end);
      } else {
        this.#outputSpan(head, headStart, body, written, start);
        this.#output.insert(MASK);
        written = end;
      }
      maskEnd = written;
    }
    if (written < cut) {
      this.#outputSpan(head, headStart, body, written, cut);
      maskEnd = -1;
    }
    this.#held = body;
    this.#heldStart = cut - split;
    this.#maskEnd = maskEnd >= cut ? maskEnd - cut : -1;
  }

  // Outputs the bytes from `from` to `to` of the held bytes and `body` joined.
  #outputSpan(head: Buffer, headStart: number, body: Buffer, from: number, to: number): void {
    const split = head.length - headStart;
    if (from < split) this.#output.span(head, headStart + from, headStart + Math.min(to, split));
    if (to > split) this.#output.span(body, Math.max(from, split) - split, to - split);
  }
}

/**
 * Returns whether the stream is done with each buffer once it calls back: a socket, a
 * pipe or a terminal (`net.Socket`), or a file stream such as `process.stdout` on a file.
 * Other writable streams, such as a `PassThrough`, may keep the buffer to read later.
 */
function writesAtOnce(
  stream: NodeJS.WritableStream,
): stream is NodeJS.WritableStream & { writableLength: number } {
  return stream instanceof Socket || typeof (stream as { fd?: unknown }).fd === 'number';
}
