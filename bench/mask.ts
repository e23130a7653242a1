// Measures masking throughput against `cat` of the same data. As under `tessera exec`, a
// child process writes the output into a pipe and this process reads it: `cat FILE` with
// the file on tmpfs. The rows are the pipe alone (cat) and the masker without secrets,
// which is what the output costs without masking. Then come the masker with 50 secrets on
// output with no match, and on output with a match every 64 KiB. Rounds alternate
// between the rows, so that a change in the machine's load touches all of them alike.
// Run with `node bench/mask.ts [MiB] [rounds]`.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { buildMaskPatterns, MaskStream } from '../src/delivery/mask.ts';

const MIB = 1024 * 1024;
const sizeMiB = Number(process.argv[2] ?? 256);
const ROUNDS = Number(process.argv[3] ?? 5);
// /dev/shm is tmpfs on Linux, so `cat` reads from memory, not from a disk.
const SCRATCH = process.platform === 'linux' ? '/dev/shm' : tmpdir();

// Log-like printable text, the usual output of a task.
function makeText(bytes: number): Buffer {
  const line = Buffer.from(
    '2024-01-01T00:00:00Z INFO request handled path=/api/v1/items status=200 ms=12\n',
  );
  const out = Buffer.alloc(bytes);
  for (let at = 0; at < bytes; at += line.length) line.copy(out, at);
  return out;
}

const secrets = Array.from({ length: 50 }, () => randomBytes(18).toString('base64url'));
const { patterns } = buildMaskPatterns(
  secrets.map((secret) => Buffer.from(secret)),
  6,
);

/** Reads `cat file` through the masker (or straight, without one) and returns MiB/s. */
async function throughput(file: string, masker: MaskStream | undefined): Promise<number> {
  const child = spawn('cat', [file], { stdio: ['ignore', 'pipe', 'inherit'] });
  let received = 0;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      received += chunk.length;
      done();
    },
  });
  const started = process.hrtime.bigint();
  await (masker ? pipeline(child.stdout, masker, sink) : pipeline(child.stdout, sink));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (!masker && received !== sizeMiB * MIB) {
    throw new Error(`cat passed ${received} of ${sizeMiB * MIB} bytes`);
  }
  return sizeMiB / seconds;
}

interface Row {
  name: string;
  file: string;
  masker: () => MaskStream | undefined;
  best: number;
}

const dir = await mkdtemp(join(SCRATCH, 'tessera-mask-bench-'));
try {
  const plainFile = join(dir, 'plain');
  const matchingFile = join(dir, 'matching');
  const plain = makeText(sizeMiB * MIB);
  await writeFile(plainFile, plain);
  for (let at = 0, i = 0; at + 64 < plain.length; at += 64 * 1024, i++) {
    plain.write(secrets[i % secrets.length] as string, at);
  }
  await writeFile(matchingFile, plain);

  const rows: Row[] = [
    { name: 'cat (baseline)', file: plainFile, masker: () => undefined, best: 0 },
    { name: 'masker without secrets', file: plainFile, masker: () => new MaskStream([]), best: 0 },
    {
      name: '50 secrets, no match',
      file: plainFile,
      masker: () => new MaskStream(patterns),
      best: 0,
    },
    {
      name: '50 secrets, a match every 64 KiB',
      file: matchingFile,
      masker: () => new MaskStream(patterns),
      best: 0,
    },
  ];
  for (let round = 0; round < ROUNDS; round++) {
    for (const row of rows) row.best = Math.max(row.best, await throughput(row.file, row.masker()));
  }

  const [cat, unmasked] = rows.map((row) => row.best) as [number, number];
  const percent = (value: number, of: number) => `${((value / of) * 100).toFixed(0)}%`.padStart(5);
  console.log(
    `masking ${sizeMiB} MiB with ${secrets.length} secrets (${patterns.length} patterns), ` +
      `best of ${ROUNDS}`,
  );
  console.log(`${''.padEnd(34)} ${'MiB/s'.padStart(6)}  of cat  of unmasked`);
  for (const row of rows) {
    console.log(
      `${row.name.padEnd(34)} ${row.best.toFixed(0).padStart(6)}  ${percent(row.best, cat)}` +
        `   ${percent(row.best, unmasked)}`,
    );
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
