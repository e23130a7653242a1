// Measures the time `tessera exec` adds to starting a command with 10 environment and
// 5 file secrets, against an in-process server on 127.0.0.1, beside two baselines from
// the same run: a plain spawn of the command, and `tessera exec` of a task without
// secrets (the cost of starting Node and the CLI). On Linux it also reads the peak memory
// of `tessera exec` while its command runs, which counts against the task's memory limit,
// beside that of a Node.js process that loads nothing. Run with
// `node bench/exec-start.ts [N]`.
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';

import { startTestServer } from '../test/helpers/server.ts';
import { median } from './stats.ts';

const RUNS = Number(process.argv[2] ?? 10);
const BIN = join(import.meta.dirname, '..', 'bin', 'tessera');

function reference(name: string) {
  return { type: 'REFERENCE', reference: { name } };
}

function task(secrets: boolean) {
  const variables = secrets
    ? Array.from({ length: 10 }, (_, i) => ({
        name: `SECRET_${i}`,
        type: 'SECRET',
        secret: reference(`/bench/env-${i}`),
      }))
    : [];
  const volumes = secrets
    ? Array.from({ length: 5 }, (_, i) => ({
        mode: 'RO',
        container_path: `secrets/file-${i}`,
        source: { type: 'SECRET', secret: reference(`/bench/file-${i}`) },
      }))
    : [];
  return {
    name: 'bench',
    task_id: { value: 'bench.1' },
    command: { value: 'true', environment: { variables } },
    ...(volumes.length > 0 ? { container: { type: 'MESOS', volumes } } : {}),
  };
}

function timeRun(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
): Promise<number> {
  const started = process.hrtime.bigint();
  const child = spawn(file, args, { env, cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    child.once('close', (code) => {
      if (code !== 0) reject(new Error(`${file} exited with ${code}: ${stderr}`));
      else resolve(Number(process.hrtime.bigint() - started) / 1e6);
    });
  });
}

// Log-like text: one line of 79 bytes over and over.
function logText(bytes: number): Buffer {
  const line = '2024-01-01T00:00:00Z INFO request handled path=/api/v1/items status=200 ms=12\n';
  return Buffer.from(line.repeat(Math.ceil(bytes / line.length))).subarray(0, bytes);
}

// The command waits a second, for exec to have set up all it keeps while the command
// runs (the watch stream, the report of versions), prints one line, then waits for a
// line on its stdin.
const WAITING_COMMAND = ['sh', '-c', 'sleep 1; echo started; read line'];

/**
 * Returns the peak resident memory (VmHWM) of a process in MiB. It is read once the
 * process has printed its first line, and a line on its stdin then lets it end.
 */
async function peakMemory(child: ChildProcessByStdio<Writable, Readable, null>) {
  await once(child.stdout, 'data');
  const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
  const kib = Number(/^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1]);
  child.stdin.end('\n');
  child.stdout.resume();
  const [code] = await once(child, 'close');
  if (code !== 0 || Number.isNaN(kib)) throw new Error(`the process exited with ${code}`);
  return kib / 1024;
}

async function medianOf(run: () => Promise<number>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) times.push(await run());
  return median(times);
}

const server = await startTestServer();
// On tmpfs where there is one, so that the 128 MiB of output is not written to a disk.
const dir = await mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'tessera-bench-'));
try {
  for (const name of [
    ...Array.from({ length: 10 }, (_, i) => `env-${i}`),
    ...Array.from({ length: 5 }, (_, i) => `file-${i}`),
  ]) {
    const value = Buffer.from(`bench-value-of-${name}`).toString('base64');
    await fetch(`${server.address}/v1/tessera/data/bench/${name}`, {
      method: 'POST',
      headers: { 'x-vault-token': server.rootToken, 'content-type': 'application/json' },
      body: JSON.stringify({ fields: { value } }),
    });
  }
  await writeFile(join(dir, 'with.json'), JSON.stringify(task(true)));
  await writeFile(join(dir, 'without.json'), JSON.stringify(task(false)));
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TESSERA_ADDR: server.address,
    TESSERA_TOKEN: server.rootToken,
  };

  const plain = await medianOf(() => timeRun('true', [], env, dir));
  const empty = await medianOf(() => timeRun(BIN, ['exec', '--task', 'without.json'], env, dir));
  const full = await medianOf(() => timeRun(BIN, ['exec', '--task', 'with.json'], env, dir));
  console.log(`start of \`true\`, median of ${RUNS} runs`);
  console.log(`plain spawn (baseline)                     ${plain.toFixed(1).padStart(7)} ms`);
  console.log(`tessera exec, no secrets (CLI baseline)    ${empty.toFixed(1).padStart(7)} ms`);
  console.log(`tessera exec, 10 env + 5 file secrets      ${full.toFixed(1).padStart(7)} ms`);
  console.log(
    `added by the secrets over the CLI baseline ${(full - empty).toFixed(1).padStart(7)} ms`,
  );
  if (process.platform === 'linux') {
    const start = (file: string, args: string[]) =>
      spawn(file, args, { env, cwd: dir, stdio: ['pipe', 'pipe', 'ignore'] });
    const idle = "process.stdout.write('started\\n'); process.stdin.once('data', () => {});";
    const node = await medianOf(() => peakMemory(start(process.execPath, ['-e', idle])));
    const exec = await medianOf(() =>
      peakMemory(start(BIN, ['exec', '--task', 'with.json', '--', ...WAITING_COMMAND])),
    );
    // The same after the command has written 128 MiB of log lines to stderr, which exec
    // relays through its masker, or which reach the file directly with --no-mask.
    const output = join(dir, 'output');
    await writeFile(output, logText(128 * 1024 * 1024));
    const loud = ['sh', '-c', 'sleep 1; cat "$0" >&2; echo started; read line', output];
    const direct = await medianOf(() =>
      peakMemory(start(BIN, ['exec', '--no-mask', '--task', 'with.json', '--', ...loud])),
    );
    const masked = await medianOf(() =>
      peakMemory(start(BIN, ['exec', '--task', 'with.json', '--', ...loud])),
    );
    console.log(`peak memory while the command runs, median of ${RUNS} runs`);
    console.log(`Node.js loading nothing (baseline)         ${node.toFixed(1).padStart(7)} MiB`);
    console.log(`tessera exec, 10 env + 5 file secrets      ${exec.toFixed(1).padStart(7)} MiB`);
    console.log(`the same after 128 MiB of output:`);
    console.log(`  --no-mask, not relayed (baseline)        ${direct.toFixed(1).padStart(7)} MiB`);
    console.log(`  relayed through the masker               ${masked.toFixed(1).padStart(7)} MiB`);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
  await server.close();
}
