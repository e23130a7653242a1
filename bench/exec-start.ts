// Measures the time `tessera exec` adds to starting a command with 10 environment and
// 5 file secrets, against an in-process server on 127.0.0.1, beside two baselines from
// the same run: a plain spawn of the command, and `tessera exec` of a task without
// secrets (the cost of starting Node and the CLI). Run with `node bench/exec-start.ts [N]`.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

async function medianOf(run: () => Promise<number>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) times.push(await run());
  return median(times);
}

const server = await startTestServer();
const dir = await mkdtemp(join(tmpdir(), 'tessera-bench-'));
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
} finally {
  await rm(dir, { recursive: true, force: true });
  await server.close();
}
