// Mesos's RecordIO framing for streamed events: each record is its length in bytes as
// ASCII decimal digits, a line feed, and then that many bytes (the scheduler and operator
// HTTP API documents, "RecordIO response format").

/** The longest length prefix read, in digits: 20 digits exceed any record a master sends. */
const MAX_LENGTH_DIGITS = 20;

/** A record longer than this many bytes ends the stream as invalid. */
export const DEFAULT_MAX_RECORD_BYTES = 64 * 1024 * 1024;

/** Raised when the bytes do not follow the framing; the message never quotes them. */
export class RecordIoError extends Error {
  override name = 'RecordIoError';
}

/**
 * Splits a byte stream into RecordIO records. A chunk may hold several records or part
 * of one, so the bytes of an unfinished record wait for the next chunk. Throws
 * RecordIoError on a malformed length, a record over `maxRecordBytes`, or a stream that
 * ends inside a record.
 */
export async function* readRecords(
  chunks: AsyncIterable<Uint8Array>,
  maxRecordBytes = DEFAULT_MAX_RECORD_BYTES,
): AsyncGenerator<Buffer> {
  let pending: Buffer = Buffer.alloc(0);
  for await (const chunk of chunks) {
    pending = pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([pending, chunk]);
    let record = takeRecord(pending, maxRecordBytes);
    while (record !== undefined) {
      yield record.body;
      pending = pending.subarray(record.end);
      record = takeRecord(pending, maxRecordBytes);
    }
  }
  if (pending.length > 0) {
    throw new RecordIoError(`the stream ended inside a record (${pending.length} bytes left)`);
  }
}

// Returns the first whole record of `data` and where it ends, or undefined when `data`
// holds only part of one.
function takeRecord(
  data: Buffer,
  maxRecordBytes: number,
): { body: Buffer; end: number } | undefined {
  const newline = data.indexOf(0x0a);
  if (newline === -1) {
    if (data.length > MAX_LENGTH_DIGITS) throw new RecordIoError('a record length has no end');
    return undefined;
  }
  const digits = data.subarray(0, newline).toString('latin1');
  if (!/^\d{1,20}$/.test(digits)) {
    throw new RecordIoError('a record length is not a decimal number');
  }
  const length = Number(digits);
  if (length > maxRecordBytes) {
    throw new RecordIoError(`a record of ${length} bytes is over the limit of ${maxRecordBytes}`);
  }
  const end = newline + 1 + length;
  if (data.length < end) return undefined;
  return { body: data.subarray(newline + 1, end), end };
}
