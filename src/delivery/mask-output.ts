/**
 * Collects the output of a `MaskStream` and pushes it in as few buffers as it can without
 * copying. Spans that lie side by side in one chunk go out as one buffer, and a whole
 * chunk goes out as the chunk itself. A chunk whose last bytes are held waits for the
 * next output, or at the latest for the end of the event loop's current turn
 * (`setImmediate`). So held bytes that turn out to be plain join the rest of their chunk.
 * Each buffer pushed costs the destination a write(2), and a write of a few held bytes
 * cost about as much as one of the whole chunk. Copying the chunk behind them cost more
 * than that write.
 */
export class CoalescedOutput {
  readonly #push: (chunk: Buffer) => void;
  // The span that waits: the bytes of `#chunk` from `#start` to `#end`.
  #chunk: Buffer | undefined;
  #start = 0;
  #end = 0;
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
    this.flush();
    this.#chunk = chunk;
    this.#start = from;
    this.#end = to;
  }

  /** Adds a buffer that goes out on its own, such as the mask. */
  insert(buffer: Buffer): void {
    this.flush();
    this.#push(buffer);
  }

  /** Pushes the span that waits, if any. */
  flush(): void {
    const chunk = this.#chunk;
    if (chunk === undefined) return;
    this.#chunk = undefined;
    const whole = this.#start === 0 && this.#end === chunk.length;
    this.#push(whole ? chunk : chunk.subarray(this.#start, this.#end));
  }

  /**
   * Pushes the span that waits at the end of the event loop's current turn, unless more
   * output of its chunk has joined it and been pushed by then.
   */
  flushLater(): void {
    if (this.#chunk === undefined) return;
    this.#timer ??= setImmediate(() => {
      this.#timer = undefined;
      this.flush();
    });
  }

  /** Drops the span that waits and the flush, as when the stream is destroyed. */
  cancel(): void {
    this.#chunk = undefined;
    if (this.#timer !== undefined) clearImmediate(this.#timer);
    this.#timer = undefined;
  }
}
