import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { verifyAuditFile } from '../../src/audit/verify.ts';
import { request, startTestServer, type TestServer } from '../helpers/server.ts';

const CANARY = 'CANARY-audited-value-51c9';

describe('audit log in the server', () => {
  let dir: string;
  let server: TestServer;
  let file: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-audit-'));
    file = join(dir, 'audit.log');
    server = await startTestServer({ auditFile: file });
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('each authorised request leaves one chained line without values or tokens', async () => {
    await request(server, 'POST', '/v1/secret/data/audit/db', { data: { password: CANARY } });
    await request(server, 'GET', '/v1/secret/data/audit/db?version=1');
    await request(server, 'GET', '/v1/secret/data/audit/db', undefined, 'tsr_not-a-real-token');

    const text = await readFile(file, 'utf8');
    const lines = text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    const write = lines.find((line) => line.operation === 'secret.write');
    const read = lines.find((line) => line.operation === 'secret.read');
    const refused = lines.find((line) => line.operation === 'authenticate');
    assert.equal(write.path, 'audit/db');
    assert.equal(write.outcome, 'allowed');
    assert.match(write.reason, /\(capability create\)$/);
    assert.equal(read.version, 1);
    assert.equal(read.client, '127.0.0.1');
    assert.match(read.accessor, /^[0-9a-f]+$/);
    assert.equal(refused.outcome, 'denied');
    assert.equal(refused.accessor, null);

    assert.equal(text.includes(CANARY), false);
    assert.equal(text.includes(server.rootToken), false);
    assert.equal(text.includes('tsr_'), false);
    assert.equal((await verifyAuditFile(file)).ok, true);
  });

  test('creating a token is audited, and the new token appears nowhere', async () => {
    const created = await request(server, 'POST', '/v1/auth/token/create', { policies: ['root'] });
    assert.equal(created.status, 200);
    const token: string = created.body.auth.client_token;

    const text = await readFile(file, 'utf8');
    const lines = text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    const entry = lines.find((line) => line.operation === 'token.create');
    assert.equal(entry.outcome, 'allowed');
    assert.match(entry.path, /^sys\/tokens\//);
    assert.equal(text.includes(token), false);
    assert.equal(server.log().includes(token), false);
  });

  test('the server log holds no token or value either', () => {
    assert.equal(server.log().includes(server.rootToken), false);
    assert.equal(server.log().includes(CANARY), false);
    assert.equal(server.log().includes('tsr_'), false);
  });
});

describe('audit sink failure', () => {
  let dir: string;
  let link: string;
  let server: TestServer;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-audit-full-'));
    link = join(dir, 'audit.log');
    // A full file system: every write to /dev/full fails with ENOSPC.
    await symlink('/dev/full', link);
    server = await startTestServer({ auditFile: link });
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('requests fail fast with 503, then recover when the sink does', async () => {
    const started = Date.now();
    const refused = await request(server, 'GET', '/v1/secret/data/any/path');
    assert.equal(refused.status, 503);
    assert.equal(refused.body.code, 'AUDIT_UNAVAILABLE');
    assert.doesNotMatch(refused.body.message, /dev\/full|audit\.log/);
    assert.ok(Date.now() - started < 2500, 'refused within the write timeout');

    const health = await fetch(`${server.address}/v1/sys/health`);
    assert.equal(health.status, 503);
    const healthBody = (await health.json()) as { audit: { ok: boolean } };
    assert.equal(healthBody.audit.ok, false);

    // The disk has space again: point the audit path at a real file.
    const real = join(dir, 'audit-real.log');
    await writeFile(real, '');
    await unlink(link);
    await symlink(real, link);

    let recovered = false;
    for (let attempt = 0; attempt < 50 && !recovered; attempt += 1) {
      await sleep(100);
      const response = await request(server, 'POST', '/v1/secret/data/after/outage', {
        data: { v: '1' },
      });
      recovered = response.status === 200;
    }
    assert.equal(recovered, true, 'requests succeed again within 5 s');
    assert.equal((await fetch(`${server.address}/v1/sys/health`)).status, 200);
    assert.equal((await verifyAuditFile(real)).ok, true);
  });
});

describe('audit entries of secret operations', () => {
  let dir: string;
  let server: TestServer;
  let file: string;
  let seen = 0;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-audit-ops-'));
    file = join(dir, 'audit.log');
    server = await startTestServer({ auditFile: file });
    const first = await request(server, 'POST', '/v1/secret/data/ops/db', { data: { v: 'one' } });
    const second = await request(server, 'POST', '/v1/secret/data/ops/db', { data: { v: 'two' } });
    assert.equal(first.status, 200);
    assert.equal(second.status, 200);
    await newLines();
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  // Returns the lines written since the last call.
  async function newLines(): Promise<Record<string, any>[]> {
    const lines = (await readFile(file, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    const added = lines.slice(seen);
    seen = lines.length;
    return added;
  }

  // Sends a request and returns its status and the one-line summaries of its entries.
  async function entriesOf(method: string, route: string, body?: unknown) {
    const response = await request(server, method, route, body);
    const summaries = (await newLines()).map((line) => ({
      operation: line.operation,
      path: line.path,
      version: line.version,
      versions: line.versions,
      outcome: line.outcome,
    }));
    return { status: response.status, summaries, response };
  }

  test('reads record the version read', async () => {
    for (const route of ['/v1/secret/data/ops/db', '/v1/tessera/data/ops/db']) {
      const { status, summaries } = await entriesOf('GET', route);
      assert.equal(status, 200);
      assert.deepEqual(summaries, [
        {
          operation: 'secret.read',
          path: 'ops/db',
          version: 2,
          versions: null,
          outcome: 'allowed',
        },
      ]);
    }
    const pinned = await entriesOf('GET', '/v1/secret/data/ops/db?version=1');
    assert.equal(pinned.summaries[0]?.version, 1);
  });

  test('resolve records the version it returns', async () => {
    const secrets = [{ type: 'REFERENCE', reference: { name: '/ops/db', key: 'v' } }];
    const { status, summaries, response } = await entriesOf('POST', '/v1/tessera/resolve', {
      secrets,
    });
    assert.equal(status, 200);
    assert.equal(response.body.data.secrets[0].version, 2);
    assert.deepEqual(summaries, [
      {
        operation: 'secret.resolve',
        path: 'ops/db',
        version: 2,
        versions: null,
        outcome: 'allowed',
      },
    ]);
  });

  test('delete, undelete and destroy record their versions', async () => {
    for (const action of ['delete', 'undelete', 'destroy']) {
      const { status, summaries } = await entriesOf('POST', `/v1/secret/${action}/ops/db`, {
        versions: [1],
      });
      assert.equal(status, 204, action);
      assert.deepEqual(summaries, [
        {
          operation: `secret.${action}`,
          path: 'ops/db',
          version: null,
          versions: [1],
          outcome: 'allowed',
        },
      ]);
    }
  });

  test('writes of data and metadata are told apart', async () => {
    const metadata = await entriesOf('POST', '/v1/secret/metadata/ops/db', { max_versions: 5 });
    assert.equal(metadata.status, 204);
    assert.equal(metadata.summaries[0]?.operation, 'secret.metadata.write');
    const write = await entriesOf('POST', '/v1/secret/data/ops/db', { data: { v: 'three' } });
    assert.equal(write.status, 200);
    assert.equal(write.summaries[0]?.operation, 'secret.write');
    const [line] = await readFile(file, 'utf8').then((text) =>
      text
        .trim()
        .split('\n')
        .slice(-1)
        .map((entry) => JSON.parse(entry)),
    );
    assert.match(line.reason, /\(capability update\)$/);
  });

  test('a check-and-set mismatch is recorded as an error', async () => {
    const { status, summaries } = await entriesOf('POST', '/v1/secret/data/ops/db', {
      data: { v: 'stale' },
      options: { cas: 1 },
    });
    assert.equal(status, 400);
    assert.deepEqual(
      summaries.map((entry) => [entry.operation, entry.outcome]),
      [
        ['secret.write', 'allowed'],
        ['secret.write', 'error'],
      ],
    );
    const [, failed] = await readFile(file, 'utf8').then((text) =>
      text
        .trim()
        .split('\n')
        .slice(-2)
        .map((entry) => JSON.parse(entry)),
    );
    assert.match(failed.reason, /^CAS_MISMATCH: /);
  });

  test('a failed read is recorded as allowed, then as an error', async () => {
    const destroyed = await entriesOf('GET', '/v1/secret/data/ops/db?version=1');
    assert.equal(destroyed.status, 404);
    assert.deepEqual(
      destroyed.summaries.map((entry) => [entry.outcome, entry.version]),
      [
        ['allowed', 1],
        ['error', 1],
      ],
    );
    const missing = await entriesOf('GET', '/v1/tessera/data/ops/none');
    assert.equal(missing.status, 404);
    assert.deepEqual(
      missing.summaries.map((entry) => entry.outcome),
      ['allowed', 'error'],
    );
  });

  test('a failed resolve records an error for each secret', async () => {
    const secrets = [
      { type: 'REFERENCE', reference: { name: '/ops/db', key: 'v' } },
      { type: 'REFERENCE', reference: { name: '/ops/none' } },
    ];
    const { status, summaries } = await entriesOf('POST', '/v1/tessera/resolve', { secrets });
    assert.equal(status, 400);
    assert.deepEqual(
      summaries.map((entry) => [entry.path, entry.outcome]),
      [
        ['ops/db', 'allowed'],
        ['ops/none', 'allowed'],
        ['ops/none', 'error'],
        ['ops/db', 'error'],
      ],
    );
  });

  test('the chain still verifies', async () => {
    assert.equal((await verifyAuditFile(file)).ok, true);
  });
});
