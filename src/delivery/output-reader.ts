import { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';

// The size of each read buffer: the default capacity of a Linux pipe, and the most that
// Node.js reads from a pipe at once.
const READ_BYTES = 64 * 1024;

// The number of buffers read into in turn. The masker keeps the last one until the next
// read comes, and output of the one before can still wait, so three leave one free.
const REUSED_BUFFERS = 3;

/** A destination of a child's output, and what it may report about the output it keeps. */
export interface OutputSink extends NodeJS.WritableStream {
  /** Returns whether a buffer written to it that lies in `memory` may still be read. */
  references?(memory: ArrayBufferLike): boolean;
  /** Drops output held back, as when the output is cut off before its end. */
  cut?(): void;
}

/** The stream that reads a child's output pipe, and whether it waits for its destination. */
export interface OutputPipe {
  source: Readable;
  /** Returns whether reading stopped until the destination takes more. */
  isWaiting(): boolean;
  /** Returns how many bytes have been read from the pipe. */
  bytesRead(): number;
}

// The part of a child's pipe handle that this module uses. Node.js keeps the handle in
// the stream's `_handle`, and `net.Socket` takes it as its `handle` option.
interface PipeHandle {
  readStop(): number;
  reading: boolean;
}

// A sink that reports references. A transform, such as the masker, also has output of
// its own that waits.
type ReusingSink = OutputSink & {
  writableLength: number;
  readableLength?: number;
  references(memory: ArrayBufferLike): boolean;
};

function reportsReferences(stream: OutputSink): stream is ReusingSink {
  return typeof stream.references === 'function';
}

/**
 * Pipes the child's output pipe `from` into `to`, which is not ended, and returns the
 * stream that reads the pipe. Node.js reads each chunk into a new buffer, and relaying
 * 1 GiB through such buffers took about a third more CPU time than through reused ones
 * (`bench/mask.ts`). So when `to` reports which buffers it still reads, a socket with
 * Node.js's `onread` option takes over the pipe's handle and reads into a few buffers in
 * turn. It takes a new buffer only when `to` still reads all of them, as when the
 * destination is slow. Otherwise, or without the handle, `from` is piped as it is.
 */
export function pipeOutput(from: Readable, to: OutputSink): OutputPipe {
  const handle = (from as Readable & { _handle?: Partial<PipeHandle> | null })._handle;
  if (!reportsReferences(to) || typeof handle?.readStop !== 'function') {
    from.pipe(to, { end: false });
    let read = 0;
    from.on('data', (chunk: Buffer) => {
      read += chunk.length;
    });
    // `pipe` pauses `from` while `to` is full.
    return { source: from, isWaiting: () => from.isPaused(), bytesRead: () => read };
  }
  // The old stream stops reading and lets go of the handle. `net.Socket` starts reading
  // only a handle whose `reading` flag is false.
  handle.readStop();
  handle.reading = false;
  (from as Readable & { _handle: unknown })._handle = null;

  const buffers = Array.from({ length: REUSED_BUFFERS }, () => Buffer.allocUnsafeSlow(READ_BYTES));
  let next = 0;
  const nextBuffer = (): Buffer => {
    for (let tried = 0; tried < buffers.length; tried++) {
      const buffer = buffers[next] as Buffer;
      next = (next + 1) % buffers.length;
      if (!to.references(buffer.buffer)) return buffer;
    }
    return Buffer.allocUnsafeSlow(READ_BYTES);
  };
  let waiting = false;
  let read = 0;
  const reader: Socket = new Socket({
    handle,
    readable: true,
    writable: false,
    onread: {
      buffer: nextBuffer,
      // Returning false stops the reads, and the 'drain' of `to` restarts them.
      callback: (bytes: number, buffer: Uint8Array) => {
        read += bytes;
        const flowing = to.write(Buffer.from(buffer.buffer, buffer.byteOffset, bytes));
        if (flowing || to.writableLength === 0) return true;
        waiting = true;
        to.once('drain', () => {
          waiting = false;
          reader.resume();
        });
        return false;
      },
    },
  } as unknown as ConstructorParameters<typeof Socket>[0]);
  // The child process emits 'close' after all its streams close, the old one included.
  reader.once('close', () => from.destroy());
  // Output that `to` has taken but not yet passed on also waits for the destination.
  const queued = () => to.writableLength > 0 || (to.readableLength ?? 0) > 0;
  return { source: reader, isWaiting: () => waiting || queued(), bytesRead: () => read };
}

/**
 * Resolves once the stream has written everything queued before, or has failed: the
 * callback of a write comes after those of the writes before it.
 */
export function flushed(stream: NodeJS.WritableStream): Promise<void> {
  const { destroyed, writableLength } = stream as Partial<Writable>;
  if (destroyed === true || writableLength === 0) return Promise.resolve();
  return new Promise((done) => stream.write('', () => done()));
}
