import { createReadStream } from 'node:fs';

/** One line of a file as bytes, without its newline. */
export interface RawLine {
  bytes: Buffer;
  /** False for a last line that does not end with a newline. */
  terminated: boolean;
  /** True when the line grew past the limit; `bytes` then holds only its start. */
  tooLong: boolean;
}

/**
 * Reads `file` line by line as exact bytes, holding at most `maxLineBytes` of one line in
 * memory. Splits on `\n` only, so `\r` and U+2028 stay part of a line. Stops after a line
 * that is too long. Throws the file system's error when the file cannot be read.
 */
export async function* readLines(file: string, maxLineBytes: number): AsyncGenerator<RawLine> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    let start = 0;
    for (let end = chunk.indexOf(0x0a); end >= 0; end = chunk.indexOf(0x0a, start)) {
      pending.push(chunk.subarray(start, end));
      pendingBytes += end - start;
      if (pendingBytes > maxLineBytes) break;
      yield { bytes: Buffer.concat(pending), terminated: true, tooLong: false };
      pending = [];
      pendingBytes = 0;
      start = end + 1;
    }
    if (pendingBytes <= maxLineBytes) {
      pending.push(chunk.subarray(start));
      pendingBytes += chunk.length - start;
    }
    if (pendingBytes > maxLineBytes) {
      yield {
        bytes: Buffer.concat(pending).subarray(0, maxLineBytes),
        terminated: false,
        tooLong: true,
      };
      return;
    }
  }
  if (pendingBytes > 0) yield { bytes: Buffer.concat(pending), terminated: false, tooLong: false };
}

/** An async iterator that can look one item ahead. */
export class Peekable<T> {
  readonly #source: AsyncIterator<T>;
  #buffered: IteratorResult<T> | undefined;

  /** Wraps `source`. */
  constructor(source: AsyncIterator<T>) {
    this.#source = source;
  }

  /** Returns the next item, or undefined at the end. */
  async next(): Promise<T | undefined> {
    const result = this.#buffered ?? (await this.#source.next());
    this.#buffered = undefined;
    return result.done ? undefined : result.value;
  }

  /** Returns the item that `next()` will return, without consuming it. */
  async peek(): Promise<T | undefined> {
    this.#buffered ??= await this.#source.next();
    return this.#buffered.done ? undefined : this.#buffered.value;
  }

  /** Stops the source early, closing its file. */
  async close(): Promise<void> {
    await this.#source.return?.(undefined);
  }
}
