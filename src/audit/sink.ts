import { type FileHandle, open, rename, stat } from 'node:fs/promises';
import { TesseraError } from '../errors.ts';
import { hashLine, parseAuditLine, ZERO_HASH } from './entry.ts';

/** An audit file open for appending, and the state the writer tracks for it. */
export interface Sink {
  handle: FileHandle;
  /** Whether it is a regular file; only regular files are rotated and repaired. */
  regular: boolean;
  /** Size in bytes after the last complete line the writer appended. */
  size: number;
  device: number;
  inode: number;
}

/** The end of a chain: the last line's seq and hash, where the next line continues. */
export interface ChainTail {
  seq: number;
  hash: string;
}

/** The tail of an empty chain. */
export const EMPTY_TAIL: ChainTail = { seq: 0, hash: ZERO_HASH };

// Reading backwards stops after this many bytes. The writer's longest line is under 64 KiB
// (seven text fields of 1024 characters, at most 6 bytes each once JSON escapes them, and
// 1000 versions of at most 17 bytes each), so a longer tail is not an audit line.
const MAX_TAIL_BYTES = 1024 * 1024;
const TAIL_CHUNK_BYTES = 64 * 1024;

/**
 * Opens `file` for appending (O_APPEND, created with mode 0600). On a FIFO without a
 * reader the open blocks, so callers bound it with a timeout.
 */
export async function openSink(file: string): Promise<Sink> {
  const handle = await open(file, 'a', 0o600);
  try {
    const stats = await handle.stat();
    return {
      handle,
      regular: stats.isFile(),
      size: stats.size,
      device: stats.dev,
      inode: stats.ino,
    };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** Checks whether two sinks are the same file, so that a size difference is the writer's own. */
export function sameFile(a: Sink, b: Sink): boolean {
  return a.device === b.device && a.inode === b.inode;
}

/**
 * Reads where the chain of `file` ends, so that a reopened log continues it. A missing or
 * empty file continues the chain of `<file>.1`, because rotation may have stopped between
 * renaming the full file and writing the new one's first line. Special files (a FIFO, a
 * device) start a new chain, since they cannot be read back. Throws AUDIT_UNAVAILABLE
 * when the last line is incomplete or is not an audit line.
 */
export async function readChainTail(file: string): Promise<ChainTail> {
  const stats = await statIfExists(file);
  if (stats && !stats.isFile()) return EMPTY_TAIL;
  if (stats && stats.size > 0) return readLastLine(file);

  const rotated = await statIfExists(`${file}.1`);
  if (rotated?.isFile() && rotated.size > 0) return readLastLine(`${file}.1`);
  return EMPTY_TAIL;
}

/**
 * Shifts `<file>.1` to `<file>.2` and so on, then renames `file` to `<file>.1`. Rename
 * replaces its target, so `<file>.<maxFiles>` drops out and at most maxFiles remain.
 */
export async function rotateFiles(file: string, maxFiles: number): Promise<void> {
  for (let index = maxFiles - 1; index >= 1; index -= 1) {
    await renameIfExists(`${file}.${index}`, `${file}.${index + 1}`);
  }
  await rename(file, `${file}.1`);
}

/**
 * Truncates a regular file back to `sink.size` when a failed write left part of a line
 * after it, which would corrupt the next line appended. Returns whether it truncated.
 * This assumes that no other process appends to the file.
 */
export async function cutIncompleteLine(sink: Sink): Promise<boolean> {
  if (!sink.regular) return false;
  const { size } = await sink.handle.stat();
  if (size <= sink.size) return false;
  await sink.handle.truncate(sink.size);
  return true;
}

/** Syncs a regular file to disk, then closes it. */
export async function closeSink(sink: Sink): Promise<void> {
  try {
    if (sink.regular) await sink.handle.datasync();
  } finally {
    await sink.handle.close();
  }
}

/** Writes all of `bytes`, continuing after a short write. */
export async function appendBytes(handle: FileHandle, bytes: Buffer): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset, null);
    if (bytesWritten === 0)
      throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
    offset += bytesWritten;
  }
}

async function readLastLine(file: string): Promise<ChainTail> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const bytes = await readTail(handle, size, file);
    const text = bytes.toString('utf8');
    const line = parseAuditLine(text);
    if (typeof line === 'string') {
      throw damaged(file, `its last line is not an audit line (${line})`);
    }
    return { seq: line.seq, hash: hashLine(bytes) };
  } finally {
    await handle.close();
  }
}

// Returns the bytes of the last line, without its newline.
async function readTail(handle: FileHandle, size: number, file: string): Promise<Buffer> {
  const last = Buffer.alloc(1);
  await handle.read(last, 0, 1, size - 1);
  if (last[0] !== 0x0a) throw damaged(file, 'its last line is incomplete (no newline)');

  const start = (await findLastNewline(handle, size - 1, file)) + 1;
  const line = Buffer.alloc(size - 1 - start);
  await handle.read(line, 0, line.length, start);
  return line;
}

/**
 * Truncates a regular file after its last newline, which removes an incomplete last line
 * that a crash or a full disk left, as the writer does at run time. Returns the number of
 * bytes removed. Throws AUDIT_UNAVAILABLE when the incomplete line
 * is longer than any audit line. This assumes that no other process appends to the file.
 */
export async function cutIncompleteLastLine(file: string): Promise<number> {
  const stats = await statIfExists(file);
  if (!stats?.isFile() || stats.size === 0) return 0;

  const handle = await open(file, 'r+');
  try {
    const end = (await findLastNewline(handle, stats.size, file)) + 1;
    if (end === stats.size) return 0;
    await handle.truncate(end);
    return stats.size - end;
  } finally {
    await handle.close();
  }
}

// Returns the offset of the last newline before `end`, or -1 when the file has none there,
// reading backwards in chunks. Throws when no newline is within MAX_TAIL_BYTES of `end`.
async function findLastNewline(handle: FileHandle, end: number, file: string): Promise<number> {
  let start = end;
  while (start > 0 && end - start <= MAX_TAIL_BYTES) {
    const length = Math.min(TAIL_CHUNK_BYTES, start);
    const chunk = Buffer.alloc(length);
    await handle.read(chunk, 0, length, start - length);
    const newline = chunk.lastIndexOf(0x0a);
    if (newline >= 0) return start - length + newline;
    start -= length;
  }
  if (start === 0) return -1;
  throw damaged(file, `its last line is longer than ${MAX_TAIL_BYTES} bytes`);
}

function damaged(file: string, problem: string): TesseraError {
  return new TesseraError(
    'AUDIT_UNAVAILABLE',
    `the audit log ${file} cannot be continued: ${problem}; run 'tessera audit verify ${file}', ` +
      'then move the file aside to start a new one',
    { file },
  );
}

async function statIfExists(file: string) {
  try {
    return await stat(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

async function renameIfExists(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
