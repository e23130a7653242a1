// Up to this many parts (for one match: the span before it, the mask, the span after)
// go out as they are. Copying the chunk into one buffer cost more than two more writes.
const MAX_SEPARATE_PARTS = 3;

/**
 * Collects the output of a `MaskStream` and pushes it in few buffers. Each buffer pushed
 * costs the destination a write(2). A chunk without a match goes out as the chunk itself,
 * uncopied. A chunk with one match goes out as its two spans and the mask between them.
 * The spans and masks of a chunk with more matches are copied into one buffer: output
 * with a secret on every line went out at 27 MiB/s as a buffer per span and per mask.
 *
 * A chunk whose last bytes are held waits for the next output, or at the latest for the
 * end of the event loop's current turn (`setImmediate`). So held bytes that turn out to
 * be plain join the rest of their chunk. A write of a few held bytes cost about as much
 * as one of the whole chunk, and copying the chunk behind them cost more than that write.
 */
export class CoalescedOutput {
  readonly #push: (chunk: Buffer) => void;
  // The output that waits: spans of `#chunk` and masks, in order.
  #parts: Buffer[] = [];
  #chunk: Buffer | undefined;
  // Where the last part, a span of `#chunk`, starts and ends in it; -1 after a mask.
  #start = -1;
  #end = -1;
  #timer: NodeJS.Immediate | undefined;

  /** Takes the function that passes a buffer on, such as a stream's `push`. */
  constructor(push: (chunk: Buffer) => void) {
    this.#push = push;
  }

  /** Adds the bytes of `chunk` from `from` to `to`. The chunk must not change afterwards. */
  span(chunk: Buffer, from: number, to: number): void {
    if (from >= to) return;
    if (chunk === this.#chunk && from === this.#end) {
      this.#end = to;
      return;
    }
    // The output of an earlier chunk goes out before that of this one.
    if (this.#chunk !== undefined && chunk !== this.#chunk) this.flush();
    this.#closeSpan();
    this.#chunk = chunk;
    this.#start = from;
    this.#end = to;
  }

  /** Adds a buffer, such as the mask, after what was added before. */
  insert(buffer: Buffer): void {
    this.#closeSpan();
    this.#parts.push(buffer);
  }

  /** Pushes what waits, if anything. */
  flush(): void {
    const chunk = this.#chunk;
    if (this.#parts.length === 0 && chunk !== undefined && this.#end >= 0) {
      // A single span: the chunk itself, or a view of it.
      const whole = this.#start === 0 && this.#end === chunk.length;
      this.#push(whole ? chunk : chunk.subarray(this.#start, this.#end));
    } else {
      this.#closeSpan();
      const parts = this.#parts;
      if (parts.length <= MAX_SEPARATE_PARTS) {
        for (const part of parts) this.#push(part);
      } else {
        this.#push(Buffer.concat(parts));
      }
    }
    this.#reset();
  }

  /**
   * Pushes what waits at the end of the event loop's current turn, unless more output of
   * its chunk has joined it and been pushed by then.
   */
  flushLater(): void {
    if (this.#chunk === undefined && this.#parts.length === 0) return;
    this.#timer ??= setImmediate(() => {
      this.#timer = undefined;
      this.flush();
    });
  }

  /** Returns whether output that waits lies in `memory`. */
  references(memory: ArrayBufferLike): boolean {
    return this.#chunk?.buffer === memory || this.#parts.some((part) => part.buffer === memory);
  }

  /** Drops what waits and the flush, as when the stream is destroyed. */
  cancel(): void {
    this.#reset();
    if (this.#timer !== undefined) clearImmediate(this.#timer);
    this.#timer = undefined;
  }

  // Moves the open span, if any, into the parts.
  #closeSpan(): void {
    const chunk = this.#chunk;
    if (chunk === undefined || this.#end < 0) return;
    this.#parts.push(chunk.subarray(this.#start, this.#end));
    this.#start = -1;
    this.#end = -1;
  }

  #reset(): void {
    this.#parts = [];
    this.#chunk = undefined;
    this.#start = -1;
    this.#end = -1;
  }
}
