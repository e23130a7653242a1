import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { parseBackendSpec } from '../../src/backends/spec.ts';
import { request, startTestServer, type TestServer } from '../helpers/server.ts';
import { envSecret, execEnv, shellTask, startExecCli, writeTaskDir } from './exec-cli-harness.ts';

interface Entry {
  reference: { name: string };
  value: { data: string };
}

function readCase<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../fixtures/cases/${name}`, import.meta.url), 'utf8'));
}

const rotation = readCase<{ fileBackendBefore: Entry[]; fileBackendAfter: Entry[] }>(
  '28-secret-rotation-relaunch.json',
);
const oversize = readCase<Entry[]>('34-oversize-secret-1mib.json');

function sha(base64: string): string {
  return createHash('sha256').update(Buffer.from(base64, 'base64')).digest('hex');
}

async function store(server: TestServer, entry: Entry): Promise<void> {
  const path = entry.reference.name.replace(/^\//, '');
  const response = await request(server, 'POST', `/v1/tessera/data/${path}`, {
    fields: { value: entry.value.data },
  });
  assert.equal(response.status, 200, JSON.stringify(response.body));
}

async function execOnce(server: TestServer, task: unknown) {
  const dir = await writeTaskDir(task);
  try {
    const run = startExecCli(
      ['--task', dir.taskFile],
      execEnv(server.address, server.rootToken),
      dir.dir,
    );
    const result = await run.ended(30_000);
    return { result, stdout: run.stdout(), stderr: run.stderr() };
  } finally {
    await dir.cleanup();
  }
}

describe('rotation between launches', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it('injects the new value on restart', { timeout: 30_000 }, async () => {
    const [before, after] = [rotation.fileBackendBefore[0]!, rotation.fileBackendAfter[0]!];
    const task = shellTask('printf %s "$DB_PASSWORD" | sha256sum', [
      envSecret('DB_PASSWORD', before.reference.name),
    ]);
    await store(server, before);
    const first = await execOnce(server, task);
    assert.ok(first.stdout.includes(sha(before.value.data)));
    assert.match(first.stderr, /received example-team\/db version 1/);

    await store(server, after);
    const second = await execOnce(server, task);
    assert.ok(second.stdout.includes(sha(after.value.data)));
    assert.match(second.stderr, /received example-team\/db version 2/);
    for (const value of ['PLACEHOLDER-old-28', 'PLACEHOLDER-new-28']) {
      assert.ok(!second.stderr.includes(value));
    }
  });
});

describe('rotation between launches, from a secrets file', () => {
  let server: TestServer;
  let dir: string;
  let file: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-case28-'));
    file = join(dir, 'secrets.json');
    await writeFile(file, JSON.stringify(rotation.fileBackendBefore));
    server = await startTestServer({
      mounts: [{ prefix: '', spec: parseBackendSpec(`file:${file}`, {}) }],
    });
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  // The file backend keeps no versions, so exec logs a keyed fingerprint of the value.
  const fingerprint = (stderr: string) =>
    /received example-team\/db fingerprint ([0-9a-f]{16}) \(no versions there\)/.exec(stderr)?.[1];

  it('new value and fingerprint on restart', {
    timeout: 30_000,
  }, async () => {
    const [before, after] = [rotation.fileBackendBefore[0]!, rotation.fileBackendAfter[0]!];
    const task = shellTask('printf %s "$DB_PASSWORD" | sha256sum', [
      envSecret('DB_PASSWORD', before.reference.name),
    ]);
    const first = await execOnce(server, task);
    assert.ok(first.stdout.includes(sha(before.value.data)), first.stderr);
    const again = await execOnce(server, task);

    const replacement = join(dir, 'secrets.json.new');
    await writeFile(replacement, JSON.stringify(rotation.fileBackendAfter));
    await rename(replacement, file);
    let second = await execOnce(server, task);
    for (let tries = 0; tries < 40 && !second.stdout.includes(sha(after.value.data)); tries++) {
      await new Promise((done) => setTimeout(done, 100));
      second = await execOnce(server, task);
    }
    assert.ok(second.stdout.includes(sha(after.value.data)), second.stderr);

    const [old, same, changed] = [first, again, second].map((run) => fingerprint(run.stderr));
    assert.ok(old !== undefined, first.stderr);
    assert.equal(same, old);
    assert.ok(changed !== undefined, second.stderr);
    assert.notEqual(changed, old);
    const logs = `${first.stderr}${second.stderr}${server.log()}`;
    for (const value of [
      'PLACEHOLDER-old-28',
      'PLACEHOLDER-new-28',
      before.value.data,
      after.value.data,
    ]) {
      assert.ok(!logs.includes(value), 'a value in a log');
    }
  });
});

describe('oversize environment secrets', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({
      limits: { maxSecretBytes: 2 * 1024 * 1024, requestTimeoutMs: 10_000 },
    });
    for (const entry of oversize) await store(server, entry);
  });
  after(() => server.close());

  it('starts with a value at the limit', { timeout: 30_000 }, async () => {
    const task = shellTask('printf %s "$BIG_ENV" | wc -c', [
      envSecret('BIG_ENV', '/example-team/env-at-limit'),
    ]);
    const out = await execOnce(server, task);
    assert.equal(out.result.code, 0, out.stderr);
    assert.equal(out.stdout.trim(), '131063');
  });

  it('rejects one byte over before launch', { timeout: 30_000 }, async () => {
    const task = shellTask('echo started', [envSecret('BIG_ENV', '/example-team/env-over-limit')]);
    const out = await execOnce(server, task);
    assert.notEqual(out.result.code, 0);
    assert.equal(out.stdout, '');
    assert.match(out.stderr, /BIG_ENV/);
    assert.match(out.stderr, /131072/);
  });

  it('rejects a total over the system limit', { timeout: 30_000 }, async () => {
    // Enough variables at the single-string limit to pass this system's ARG_MAX.
    const argMax = Number(execFileSync('getconf', ['ARG_MAX']).toString().trim());
    const count = Math.ceil(argMax / 131072) + 2;
    const variables = Array.from({ length: count }, (_, i) =>
      envSecret(`BIG_${i}`, '/example-team/env-at-limit'),
    );
    const out = await execOnce(server, shellTask('echo started', variables));
    assert.notEqual(out.result.code, 0);
    assert.equal(out.stdout, '');
    assert.match(out.stderr, /BIG_\d+/);
    assert.match(out.stderr, /execve accepts at most/);
  });
});
