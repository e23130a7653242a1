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

/** A run's throughput, and the CPU time this process spent per GiB of output. */
interface Figures {
  mibPerSecond: number;
  cpuMsPerGib: number;
}

/** Reads `cat file` through the masker (or straight, without one) and measures it. */
async function throughput(file: string, masker: MaskStream | undefined): Promise<Figures> {
  const child = spawn('cat', [file], { stdio: ['ignore', 'pipe', 'inherit'] });
  let received = 0;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      received += chunk.length;
      done();
    },
  });
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  await (masker ? pipeline(child.stdout, masker, sink) : pipeline(child.stdout, sink));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  if (!masker && received !== sizeMiB * MIB) {
    throw new Error(`cat passed ${received} of ${sizeMiB * MIB} bytes`);
  }
  const cpuMs = (used.user + used.system) / 1000;
  return { mibPerSecond: sizeMiB / seconds, cpuMsPerGib: (cpuMs * 1024) / sizeMiB };
}

interface Row {
  name: string;
  file: string;
  masker: () => MaskStream | undefined;
  best: number;
  // The least CPU time of the rounds: the one least disturbed by other work.
  cpu: number;
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
    { name: 'cat (baseline)', file: plainFile, masker: () => undefined, best: 0, cpu: Infinity },
    {
      name: 'masker without secrets',
      file: plainFile,
      masker: () => new MaskStream([]),
      best: 0,
      cpu: Infinity,
    },
    {
      name: '50 secrets, no match',
      file: plainFile,
      masker: () => new MaskStream(patterns),
      best: 0,
      cpu: Infinity,
    },
    {
      name: '50 secrets, a match every 64 KiB',
      file: matchingFile,
      masker: () => new MaskStream(patterns),
      best: 0,
      cpu: Infinity,
    },
  ];
  // The ratio of the two rows that the target compares, round by round: measured a few
  // seconds apart, they see the same load, so their median varies less than best-of.
  const paired: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const figures: number[] = [];
    for (const row of rows) {
      const measured = await throughput(row.file, row.masker());
      figures.push(measured.mibPerSecond);
      row.best = Math.max(row.best, measured.mibPerSecond);
      row.cpu = Math.min(row.cpu, measured.cpuMsPerGib);
    }
    paired.push((figures[2] as number) / (figures[1] as number));
  }
  paired.sort((a, b) => a - b);

  const [cat, unmasked] = rows.map((row) => row.best) as [number, number];
  const percent = (value: number, of: number) => `${((value / of) * 100).toFixed(0)}%`.padStart(5);
  console.log(
    `masking ${sizeMiB} MiB with ${secrets.length} secrets (${patterns.length} patterns), ` +
      `best of ${ROUNDS}`,
  );
  console.log(`${''.padEnd(34)} ${'MiB/s'.padStart(6)}  of cat  of unmasked  CPU ms/GiB`);
  for (const row of rows) {
    console.log(
      `${row.name.padEnd(34)} ${row.best.toFixed(0).padStart(6)}  ${percent(row.best, cat)}` +
        `   ${percent(row.best, unmasked)}       ${row.cpu.toFixed(0).padStart(5)}`,
    );
  }
  const median = paired[Math.floor(paired.length / 2)] as number;
  console.log(
    `no match against the masker without secrets, round by round: median ${percent(median, 1)}` +
      ` (${percent(paired[0] as number, 1).trim()} to ${percent(paired.at(-1) as number, 1).trim()})`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
