import { TesseraError } from '../errors.ts';
import { hashLine, parseAuditLine, ZERO_HASH } from './entry.ts';
import { Peekable, type RawLine, readLines } from './lines.ts';

/** Kinds of damage that the verifier distinguishes. */
export type VerifyProblem =
  | 'edited'
  | 'removed'
  | 'inserted'
  | 'reordered'
  | 'truncated'
  | 'malformed';

/**
 * The outcome of verifying a chain. `line` counts from 1 within `file`. `note` explains
 * what could not be checked, such as a first line that continues an earlier file.
 */
export type VerifyResult =
  | { ok: true; lines: number; lastHash: string; note: string | null }
  | { ok: false; file: string; line: number; problem: VerifyProblem; message: string };

type Failure = Extract<VerifyResult, { ok: false }>;

// Far above the writer's longest line (under 64 KiB), so that a damaged file cannot make
// the verifier hold an unbounded line in memory.
const MAX_LINE_BYTES = 256 * 1024;

interface Link {
  file: string;
  line: number;
  seq: number;
  prev: string;
  hash: string;
  terminated: boolean;
}

interface ChainState {
  last: Link | null;
  beforeLast: Link | null;
  lines: number;
  note: string | null;
}

/**
 * Verifies the hash chain of `file`, preceded by `options.previous` (older rotated files,
 * oldest first), reading each as a stream. Returns the first problem by position.
 * A chain proves order and content only up to its last line. An edit of the last line,
 * or lines cut at a newline from the end, show only as a different `lastHash`, so compare
 * it with a copy kept elsewhere. A first line whose prev is not zeros continues a file
 * that was not given, and that link cannot be checked.
 * Throws INVALID_ARGUMENT when a file cannot be read.
 */
export async function verifyAuditFile(
  file: string,
  options: { previous?: string[] } = {},
): Promise<VerifyResult> {
  const state: ChainState = { last: null, beforeLast: null, lines: 0, note: null };
  for (const chainFile of [...(options.previous ?? []), file]) {
    const failure = await verifyOneFile(chainFile, state);
    if (failure) return failure;
  }
  return {
    ok: true,
    lines: state.lines,
    lastHash: state.last?.hash ?? ZERO_HASH,
    note: state.note,
  };
}

async function verifyOneFile(file: string, state: ChainState): Promise<Failure | null> {
  const lines = new Peekable(readLines(file, MAX_LINE_BYTES));
  try {
    for (let number = 1; ; number += 1) {
      const raw = await lines.next();
      if (!raw) return null;

      const link = toLink(raw, file, number);
      if ('ok' in link) return link;
      const peekNext = async () => {
        const next = await lines.peek();
        const parsed = next && toLink(next, file, number + 1);
        return parsed && !('ok' in parsed) ? parsed : null;
      };
      const failure = (await checkLink(state, link, peekNext)) ?? checkEnd(link);
      if (failure) return failure;

      state.beforeLast = state.last;
      state.last = link;
      state.lines += 1;
    }
  } catch (error) {
    // Only a file system error (it has a syscall) means the file could not be read.
    if (!(error instanceof Error && 'syscall' in error)) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new TesseraError('INVALID_ARGUMENT', `could not read ${file} (${code}); check the path`, {
      file,
    });
  } finally {
    await lines.close();
  }
}

function toLink(raw: RawLine, file: string, line: number): Link | Failure {
  const fail = (problem: VerifyProblem, message: string) => failure(file, line, problem, message);
  if (raw.tooLong) {
    return fail(
      'malformed',
      `line ${line} is longer than ${MAX_LINE_BYTES} bytes, which no audit line is`,
    );
  }

  const parsed = parseAuditLine(raw.bytes.toString('utf8'));
  if (typeof parsed === 'string') {
    if (!raw.terminated) {
      return fail('truncated', `line ${line} is truncated: it is cut off mid-JSON`);
    }
    if (raw.bytes.length === 0) return fail('malformed', `line ${line} is malformed: it is empty`);
    return fail('malformed', `line ${line} is malformed: ${parsed}`);
  }
  const hash = hashLine(raw.bytes);
  return { file, line, seq: parsed.seq, prev: parsed.prev, hash, terminated: raw.terminated };
}

// A last line that parses but has no newline is checked against the chain first, so that
// an earlier edit is reported at its own, earlier line.
function checkEnd(link: Link): Failure | null {
  if (link.terminated) return null;
  return failure(
    link.file,
    link.line,
    'truncated',
    `line ${link.line} is truncated: it ends without a newline`,
  );
}

async function checkLink(
  state: ChainState,
  current: Link,
  peekNext: () => Promise<Link | null>,
): Promise<Failure | null> {
  const previous = state.last;
  if (!previous) return checkChainStart(state, current);

  const expectedSeq = previous.seq + 1;
  if (current.seq === expectedSeq && current.prev === previous.hash) return null;
  if (current.seq === expectedSeq) return edited(previous, current);
  if (current.prev === previous.hash) {
    return failure(
      current.file,
      current.line,
      'edited',
      `line ${current.line} was edited: its seq is ${current.seq}, ` +
        `but its prev links it to the line with seq ${previous.seq}`,
    );
  }
  if (current.seq > expectedSeq) return skipped(previous, current, await peekNext());
  return repeated(state, previous, current);
}

function checkChainStart(state: ChainState, first: Link): Failure | null {
  if (first.prev !== ZERO_HASH) {
    state.note =
      `line ${first.line} of ${first.file} (seq ${first.seq}) continues a chain from an ` +
      'earlier file that was not given, so its link to that file was not checked';
    return null;
  }
  if (first.seq === 1) return null;
  return failure(
    first.file,
    first.line,
    'edited',
    `line ${first.line} was edited: its prev is zeros, which only a chain's first line ` +
      `(seq 1) has, but its seq is ${first.seq}`,
  );
}

function edited(previous: Link, current: Link): Failure {
  const where =
    current.file === previous.file
      ? `line ${current.line}`
      : `line ${current.line} of ${current.file}`;
  return failure(
    previous.file,
    previous.line,
    'edited',
    `line ${previous.line} was edited: its hash does not match the prev of ${where}`,
  );
}

// The seq jumps forward: lines are missing, unless the next line fills the gap, which
// makes this line and the next an adjacent pair written in the wrong order.
// NOTE: a line moved further than one place is reported as removed from its old place.
function skipped(previous: Link, current: Link, next: Link | null): Failure {
  if (current.seq === previous.seq + 2 && next?.seq === previous.seq + 1) {
    return failure(
      current.file,
      current.line,
      'reordered',
      `lines ${current.line} and ${current.line + 1} are in the wrong order: ` +
        `seq ${current.seq} comes before seq ${next.seq}`,
    );
  }

  const missing = current.seq - previous.seq - 1;
  const startOfFile =
    current.line === 1 && previous.file !== current.file ? ' (or a rotated file is missing)' : '';
  return failure(
    current.file,
    current.line,
    'removed',
    `${missing} ${missing === 1 ? 'line was' : 'lines were'} removed before line ` +
      `${current.line}${startOfFile}: seq jumps from ${previous.seq} to ${current.seq}`,
  );
}

// The seq repeats or goes back. Usually the current line is the extra one, but when it
// links to the line before the previous one, the previous line was slipped in between.
function repeated(state: ChainState, previous: Link, current: Link): Failure {
  const beforeLast = state.beforeLast;
  const previousInserted =
    beforeLast !== null &&
    current.seq === previous.seq &&
    current.prev === beforeLast.hash &&
    current.hash !== previous.hash;
  if (previousInserted) {
    return failure(
      previous.file,
      previous.line,
      'inserted',
      `line ${previous.line} was inserted: the next line has the same seq ${current.seq} ` +
        'and links past it to the line before',
    );
  }
  return failure(
    current.file,
    current.line,
    'inserted',
    `line ${current.line} was inserted: its seq ${current.seq} repeats or goes back ` +
      `after seq ${previous.seq}`,
  );
}

function failure(file: string, line: number, problem: VerifyProblem, message: string): Failure {
  return { ok: false, file, line, problem, message };
}
