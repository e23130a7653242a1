// Measures masking throughput against `cat` of the same data. As under `tessera exec`, a
// child process (`cat FILE`, with the file on tmpfs) writes the output into a pipe. This
// process reads it and appends it to a file with one write(2) per chunk, as
// `process.stdout` does when it is a file. Mesos's default container logger writes a
// task's stdout to a file in its sandbox.
//
// The rows are `cat` writing to the file itself (what `tessera exec --no-mask` gives),
// `cat` relaying the same pipe to the file (`cat FILE | cat`), the relay with nothing to
// mask (a task without secrets), and the relay with 50 secrets on output with no match
// and with a match every 64 KiB. Each round measures every row,
// in an order that turns from round to round, so that a change in the machine's load
// touches all of them alike. Run with `node bench/mask.ts [MiB] [rounds]`.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';

import { startChild } from '../src/delivery/command.ts';
import { buildMaskPatterns, MaskStream } from '../src/delivery/mask.ts';
import { PatternMatcher } from '../src/delivery/pattern-matcher.ts';
import { median, quantile } from './stats.ts';

const MIB = 1024 * 1024;
const sizeMiB = Number(process.argv[2] ?? 256);
const ROUNDS = Number(process.argv[3] ?? 15);
// /dev/shm is tmpfs on Linux, so `cat` reads from memory, not from a disk.
const SCRATCH = process.platform === 'linux' ? '/dev/shm' : tmpdir();
// Size of a pipe read while the writer keeps the pipe full: Linux's default pipe capacity.
const PIPE_READ_BYTES = 64 * 1024;

// Log-like printable text, the usual output of a task: lines that differ in their time,
// level, words, ids and numbers, as a service's log does. A text of one line repeated
// would contain only as many distinct grams as the line has bytes, and then the search's
// cost would depend on whether one of them happens to pass the filter. The lines come
// from a fixed seed, so every run measures the same text; a block of 4 MiB is repeated.
function makeText(bytes: number): Buffer {
  const block = Buffer.from(logLines(4 * MIB));
  const out = Buffer.alloc(bytes);
  for (let at = 0; at < bytes; at += block.length) block.copy(out, at);
  return out;
}

function logLines(bytes: number): string {
  let state = 0x2545f491;
  // xorshift32: a fixed sequence of pseudo-random numbers below `limit`.
  const next = (limit: number) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % limit;
  };
  const pad = (value: number, width: number) => String(value).padStart(width, '0');
  const pick = (words: readonly string[]) => words[next(words.length)] as string;
  const levels = ['INFO', 'INFO', 'INFO', 'DEBUG', 'WARN', 'ERROR'];
  const events = ['request handled', 'cache miss', 'query took', 'session renewed', 'retrying'];
  const paths = ['/api/v1/items', '/api/v1/orders', '/api/v2/users/me', '/healthz', '/login'];
  const lines: string[] = [];
  for (let length = 0; length < bytes; ) {
    const time = `2024-03-${pad(1 + next(28), 2)}T${pad(next(24), 2)}:${pad(next(60), 2)}:${pad(next(60), 2)}.${pad(next(1000), 3)}Z`;
    const id = next(0x7fffffff).toString(16);
    const line =
      `${time} ${pick(levels)} ${pick(events)} path=${pick(paths)} ` +
      `status=${pick(['200', '200', '201', '304', '404', '500'])} ms=${next(5000)} req=${id}\n`;
    lines.push(line);
    length += line.length;
  }
  return lines.join('');
}

const secrets = Array.from({ length: 50 }, () => randomBytes(18).toString('base64url'));
const { patterns } = buildMaskPatterns(
  secrets.map((secret) => Buffer.from(secret)),
  6,
);

/** A run's throughput, and the CPU time this process spent per GiB of output. */
interface Figures {
  mibPerSecond: number;
  cpuMsPerGib: number;
}

interface Row {
  name: string;
  measure: (output: string) => Promise<Figures>;
  runs: Figures[];
}

async function timed(run: () => Promise<void>): Promise<Figures> {
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  await run();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  const cpuMs = (used.user + used.system) / 1000;
  return { mibPerSecond: sizeMiB / seconds, cpuMsPerGib: (cpuMs * 1024) / sizeMiB };
}

/** Runs `cat file` with its stdout on the output file, as `tessera exec --no-mask` does. */
async function catStraight(file: string, output: string): Promise<Figures> {
  const fd = openSync(output, 'w');
  try {
    return await timed(async () => {
      const child = spawn('cat', [file], { stdio: ['ignore', fd, 'inherit'] });
      const code = await new Promise((done) => child.once('exit', done));
      if (code !== 0) throw new Error(`cat exited with ${code}`);
    });
  } finally {
    closeSync(fd);
  }
}

/**
 * Runs `cat file | cat` with the second `cat` writing to the output file: `cat` doing the
 * relay's work, reading a pipe and writing each chunk to the file.
 */
async function catRelay(file: string, output: string): Promise<Figures> {
  const fd = openSync(output, 'w');
  try {
    return await timed(async () => {
      const reader = spawn('cat', [file], { stdio: ['ignore', 'pipe', 'inherit'] });
      const writer = spawn('cat', [], { stdio: [reader.stdout, fd, 'inherit'] });
      const codes = await Promise.all(
        [reader, writer].map((child) => new Promise((done) => child.once('exit', done))),
      );
      if (codes.some((code) => code !== 0)) throw new Error(`cat exited with ${codes}`);
    });
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads `cat file` through the masker and writes it to the output file, chunk by chunk, as
 * `tessera exec` does. The child is started by `startChild`, which reads its output into
 * reused buffers. The destination writes each chunk with write(2) before it calls back,
 * as `process.stdout` does on a file. Output with no match must come out whole, so those
 * rows are checked for every byte.
 */
async function relayed(
  file: string,
  output: string,
  masker: MaskStream,
  expectWhole: boolean,
): Promise<Figures> {
  // Opened before the clock starts: truncating the last run's output frees its pages.
  const fd = openSync(output, 'w');
  let written = 0;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      written += writeSync(fd, chunk);
      done();
    },
  });
  masker.passOnTo(Object.assign(sink, { fd }));
  try {
    const figures = await timed(async () => {
      const child = await startChild(
        { file: 'cat', args: [file] },
        { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, cwd: SCRATCH, stdout: masker },
      );
      const { code } = await child.ended;
      child.watchdog.release();
      if (code !== 0) throw new Error(`cat exited with ${code}`);
      masker.end();
      await new Promise((done) => masker.once('end', done));
    });
    if (expectWhole && written !== sizeMiB * MIB) {
      throw new Error(`the relay wrote ${written} of ${sizeMiB * MIB} bytes`);
    }
    return figures;
  } finally {
    closeSync(fd);
  }
}

/**
 * Returns the search's time per GiB over the text, one pipe-sized piece at a time. Each
 * piece is first copied into one buffer, as a pipe read leaves the output in the cache,
 * and only the search is timed. The best of five passes is kept.
 */
function searchAlone(text: Buffer): number {
  const matcher = new PatternMatcher(patterns);
  const piece = Buffer.alloc(PIPE_READ_BYTES);
  let best = Infinity;
  for (let pass = 0; pass < 5; pass++) {
    let nanoseconds = 0n;
    for (let at = 0; at + PIPE_READ_BYTES <= text.length; at += PIPE_READ_BYTES) {
      text.copy(piece, 0, at, at + PIPE_READ_BYTES);
      const started = process.hrtime.bigint();
      const found = matcher.findRanges(piece).length;
      nanoseconds += process.hrtime.bigint() - started;
      if (found > 0) throw new Error('the search found a secret in text without one');
    }
    best = Math.min(best, (Number(nanoseconds) / 1e6) * (1024 / sizeMiB));
  }
  return best;
}

const dir = await mkdtemp(join(SCRATCH, 'tessera-mask-bench-'));
try {
  const plainFile = join(dir, 'plain');
  const matchingFile = join(dir, 'matching');
  const plain = makeText(sizeMiB * MIB);
  await writeFile(plainFile, plain);
  const search = searchAlone(plain);
  for (let at = 0, i = 0; at + 64 < plain.length; at += 64 * 1024, i++) {
    plain.write(secrets[i % secrets.length] as string, at);
  }
  await writeFile(matchingFile, plain);

  const row = (name: string, measure: Row['measure']): Row => ({ name, measure, runs: [] });
  const rows = [
    row('cat to the file', (out) => catStraight(plainFile, out)),
    row('cat | cat to the file (baseline)', (out) => catRelay(plainFile, out)),
    row('relay, nothing to mask', (out) => relayed(plainFile, out, new MaskStream([]), true)),
    row('50 secrets, no match', (out) => relayed(plainFile, out, new MaskStream(patterns), true)),
    row('50 secrets, a match every 64 KiB', (out) =>
      relayed(matchingFile, out, new MaskStream(patterns), false),
    ),
  ];
  const output = join(dir, 'output');
  // Round -1 warms up the JIT and the caches, and is not kept.
  for (let round = -1; round < ROUNDS; round++) {
    for (let k = 0; k < rows.length; k++) {
      const next = rows[(round + 1 + k) % rows.length] as Row;
      const figures = await next.measure(output);
      if (round >= 0) next.runs.push(figures);
    }
  }
  report(rows, search);
} finally {
  await rm(dir, { recursive: true, force: true });
}

function percent(share: number): string {
  return `${(share * 100).toFixed(0)}%`;
}

function report(rows: Row[], searchMsPerGib: number): void {
  const [cat, catPiped, unmasked, noMatch, matching] = rows as [Row, Row, Row, Row, Row];
  const speed = (row: Row) => median(row.runs.map((run) => run.mibPerSecond));
  const cpu = (row: Row) => median(row.runs.map((run) => run.cpuMsPerGib));
  console.log(
    `masking ${sizeMiB} MiB with ${secrets.length} secrets (${patterns.length} patterns), ` +
      `median of ${ROUNDS} rounds`,
  );
  console.log(
    `${''.padEnd(34)} ${'MiB/s'.padStart(6)}  of cat  of cat | cat  of unmasked  CPU ms/GiB`,
  );
  for (const row of rows) {
    const cpuText = row === cat || row === catPiped ? '-' : cpu(row).toFixed(0);
    console.log(
      `${row.name.padEnd(34)} ${speed(row).toFixed(0).padStart(6)}` +
        `  ${percent(speed(row) / speed(cat)).padStart(6)}` +
        `  ${percent(speed(row) / speed(catPiped)).padStart(11)}` +
        `  ${percent(speed(row) / speed(unmasked)).padStart(10)}  ${cpuText.padStart(10)}`,
    );
  }
  console.log('round by round:');
  console.log(`  50 secrets with a match against cat | cat: ${paired(matching, catPiped)}`);
  console.log(`  no match against nothing to mask:          ${paired(noMatch, unmasked)}`);
  console.log(`  nothing to mask against cat | cat:         ${paired(unmasked, catPiped)}`);
  console.log(`  50 secrets with a match against cat:       ${paired(matching, cat)}`);
  console.log(
    `search alone, chunk by chunk: ${searchMsPerGib.toFixed(0)} ms/GiB, ` +
      `${percent(searchMsPerGib / cpu(unmasked))} of the CPU time of the relay with nothing to mask`,
  );
}

// Two rows of one round are measured a second apart and see the same load, so the ratio
// of each round's pair varies less than the rows do on their own.
function paired(of: Row, against: Row): string {
  const ratios = of.runs.map(
    (run, i) => run.mibPerSecond / (against.runs[i] as Figures).mibPerSecond,
  );
  return (
    `median ${percent(median(ratios))}, ` +
    `quartiles ${percent(quantile(ratios, 0.25))} to ${percent(quantile(ratios, 0.75))}`
  );
}
