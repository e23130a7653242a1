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
    const write = lines.find((line) => line.operation === 'create');
    const read = lines.find((line) => line.operation === 'read');
    const refused = lines.find((line) => line.operation === 'authenticate');
    assert.equal(write.path, 'audit/db');
    assert.equal(write.outcome, 'allowed');
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
