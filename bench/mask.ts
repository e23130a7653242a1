// Measures masking throughput against `cat` of the same data through a child process.
// The masker runs without secrets (the cost of the extra stream alone), with 50 secrets
// and no match, and with 50 secrets and a match every 64 KiB. Run with `node bench/mask.ts [MiB]`.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { buildMaskPatterns, MaskStream } from '../src/delivery/mask.ts';

const MIB = 1024 * 1024;
const sizeMiB = Number(process.argv[2] ?? 256);
const ROUNDS = 3;

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
const plain = makeText(sizeMiB * MIB);
const withMatches = Buffer.from(plain);
for (let at = 0, i = 0; at + 64 < withMatches.length; at += 64 * 1024, i++) {
  withMatches.write(secrets[i % secrets.length] as string, at);
}

async function throughput(data: Buffer, masked: boolean, list = patterns): Promise<number> {
  const child = spawn('cat', [], { stdio: ['pipe', 'pipe', 'inherit'] });
  let received = 0;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      received += chunk.length;
      done();
    },
  });
  const started = process.hrtime.bigint();
  const feeding = new Promise<void>((resolve) => child.stdin.end(data, resolve));
  const stages = masked ? [child.stdout, new MaskStream(list), sink] : [child.stdout, sink];
  await Promise.all([
    feeding,
    pipeline(stages as unknown as [NodeJS.ReadableStream, NodeJS.WritableStream]),
  ]);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (!masked && received !== data.length) throw new Error('cat lost bytes');
  return data.length / MIB / seconds;
}

async function best(data: Buffer, masked: boolean, list = patterns): Promise<number> {
  let top = 0;
  for (let round = 0; round < ROUNDS; round++) {
    top = Math.max(top, await throughput(data, masked, list));
  }
  return top;
}

const cat = await best(plain, false);
const passThrough = await best(plain, true, []);
const noMatch = await best(plain, true);
const matching = await best(withMatches, true);
const row = (name: string, value: number) =>
  console.log(
    `${name.padEnd(38)} ${value.toFixed(0).padStart(6)} MiB/s  ${((value / cat) * 100).toFixed(0)}% of cat`,
  );
console.log(
  `masking ${sizeMiB} MiB with ${secrets.length} secrets (${patterns.length} patterns), best of ${ROUNDS}`,
);
row('cat (baseline)', cat);
row('cat | masker without secrets', passThrough);
row('cat | mask, no match', noMatch);
row('cat | mask, a match every 64 KiB', matching);
