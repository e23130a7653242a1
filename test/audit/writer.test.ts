import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { AuditEntry } from '../../src/audit/entry.ts';
import { verifyAuditFile } from '../../src/audit/verify.ts';
import { AuditLog } from '../../src/audit/writer.ts';
import { isTesseraError } from '../../src/errors.ts';
import { capturedLogger } from '../helpers/log.ts';

const KEY_ORDER = [
  'seq',
  'prev',
  'time',
  'request_id',
  'accessor',
  'operation',
  'path',
  'version',
  'versions',
  'outcome',
  'reason',
  'client',
  'task_id',
];

function entry(index: number, overrides: Partial<AuditEntry> = {}): AuditEntry {
  return {
    time: new Date().toISOString(),
    request_id: `req-${index}`,
    accessor: '0f1e2d3c4b5a69788796a5b4',
    operation: 'write',
    path: `apps/web/key-${index}`,
    version: 2,
    outcome: 'allowed',
    reason: null,
    client: '10.0.0.7',
    task_id: 'web.6c4b2a10-8f31-11ee-b9d1-0242ac120002',
    ...overrides,
  };
}

async function lines(file: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(file, 'utf8');
  return text
    .split('\n')
    .slice(0, -1)
    .map((line) => JSON.parse(line));
}

let dir: string;
let file: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-audit-writer-'));
  file = join(dir, 'audit.log');
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('AuditLog', () => {
  it('writes a chain that verifies', async () => {
    const log = await AuditLog.open({ file });
    for (let index = 1; index <= 3; index += 1) await log.write(entry(index));
    await log.close();

    const written = await lines(file);
    assert.deepEqual(
      written.map((line) => line.seq),
      [1, 2, 3],
    );
    assert.equal(written[0]!.prev, '0'.repeat(64));
    assert.deepEqual(await verifyAuditFile(file).then((result) => result.ok), true);
  });

  it('writes keys in a fixed order', async () => {
    const log = await AuditLog.open({ file });
    await log.write({ ...entry(1), task_id: null, client: '10.0.0.8' });
    await log.close();

    const [line] = await lines(file);
    assert.deepEqual(Object.keys(line!), KEY_ORDER);
  });

  it('creates the file with mode 0600', async () => {
    const log = await AuditLog.open({ file });
    await log.write(entry(1));
    await log.close();
    assert.equal((await stat(file)).mode & 0o777, 0o600);
  });

  it('keeps concurrent writes in call order', async () => {
    const log = await AuditLog.open({ file });
    const writes = Array.from({ length: 50 }, (_, index) => log.write(entry(index)));
    await Promise.all(writes);
    await log.close();

    const written = await lines(file);
    assert.deepEqual(
      written.map((line) => line.request_id),
      Array.from({ length: 50 }, (_, index) => `req-${index}`),
    );
    assert.equal((await verifyAuditFile(file)).ok, true);
  });

  it('continues the chain after reopening', async () => {
    const first = await AuditLog.open({ file });
    for (let index = 1; index <= 3; index += 1) await first.write(entry(index));
    await first.close();
    const second = await AuditLog.open({ file });
    for (let index = 4; index <= 5; index += 1) await second.write(entry(index));
    await second.close();

    const result = await verifyAuditFile(file);
    assert.equal(result.ok, true);
    assert.equal(result.ok && result.lines, 5);
    assert.equal(result.ok && result.note, null);
  });

  it('continues from the rotated file when the current one is empty', async () => {
    const first = await AuditLog.open({ file });
    for (let index = 1; index <= 3; index += 1) await first.write(entry(index));
    await first.close();
    await rename(file, `${file}.1`);
    await writeFile(file, '');

    const second = await AuditLog.open({ file });
    await second.write(entry(4));
    await second.close();

    const [line] = await lines(file);
    assert.equal(line!.seq, 4);
    const result = await verifyAuditFile(file, { previous: [`${file}.1`] });
    assert.equal(result.ok, true);
    assert.equal(result.ok && result.lines, 4);
  });

  it('removes an incomplete last line at open', async () => {
    const first = await AuditLog.open({ file });
    for (let index = 1; index <= 2; index += 1) await first.write(entry(index));
    await first.close();
    const complete = await readFile(file, 'utf8');
    await writeFile(file, `${complete}{"seq":3,"prev":"abc`);

    const { logger, text } = capturedLogger();
    const second = await AuditLog.open({ file, logger });
    await second.write(entry(3));
    await second.close();

    const written = await lines(file);
    assert.deepEqual(
      written.map((line) => line.seq),
      [1, 2, 3],
    );
    assert.ok((await readFile(file, 'utf8')).startsWith(complete));
    assert.equal((await verifyAuditFile(file)).ok, true);
    assert.match(text(), /removed an incomplete audit line/);
    assert.match(text(), /"bytes":20/);
  });

  it('continues the rotated file when the only line is incomplete', async () => {
    const first = await AuditLog.open({ file });
    for (let index = 1; index <= 2; index += 1) await first.write(entry(index));
    await first.close();
    await rename(file, `${file}.1`);
    await writeFile(file, '{"seq":3,"pr');

    const second = await AuditLog.open({ file });
    await second.write(entry(3));
    await second.close();

    const [line] = await lines(file);
    assert.equal(line!.seq, 3);
    const result = await verifyAuditFile(file, { previous: [`${file}.1`] });
    assert.equal(result.ok, true);
  });

  it('rejects a broken line before the incomplete one', async () => {
    const log = await AuditLog.open({ file });
    await log.write(entry(1));
    await log.close();
    const text = await readFile(file, 'utf8');
    await writeFile(file, `${text.slice(0, -30)}\n{"seq":2,"prev":"abc`);

    await assert.rejects(AuditLog.open({ file }), (error) => {
      assert.ok(isTesseraError(error, 'AUDIT_UNAVAILABLE'));
      assert.match(error.message, /its last line is not an audit line/);
      assert.match(error.message, /tessera audit verify/);
      return true;
    });
  });

  it('rotates by size and keeps the chain across files', async () => {
    const maxBytes = 1500;
    const log = await AuditLog.open({ file, maxBytes, maxFiles: 20 });
    for (let index = 1; index <= 30; index += 1) await log.write(entry(index));
    await log.close();

    const names = (await readdir(dir)).filter((name) => name.startsWith('audit.log.'));
    const rotated = names.map((name) => Number(name.slice('audit.log.'.length)));
    assert.ok(rotated.length >= 3, `expected several rotated files, got ${names.join(', ')}`);
    for (const name of [...names, 'audit.log']) {
      assert.ok((await stat(join(dir, name))).size <= maxBytes, `${name} is over maxBytes`);
    }

    const oldestFirst = rotated.sort((a, b) => b - a).map((index) => `${file}.${index}`);
    const result = await verifyAuditFile(file, { previous: oldestFirst });
    assert.equal(result.ok, true);
    assert.equal(result.ok && result.lines, 30);
    assert.equal(result.ok && result.note, null);

    const [firstOfCurrent] = await lines(file);
    assert.notEqual(firstOfCurrent!.prev, '0'.repeat(64));
  });

  it('keeps at most maxFiles rotated files', async () => {
    const log = await AuditLog.open({ file, maxBytes: 700, maxFiles: 2 });
    for (let index = 1; index <= 20; index += 1) await log.write(entry(index));
    await log.close();

    const names = (await readdir(dir)).sort();
    assert.deepEqual(names, ['audit.log', 'audit.log.1', 'audit.log.2']);
    const result = await verifyAuditFile(file, { previous: [`${file}.2`, `${file}.1`] });
    assert.equal(result.ok, true);
    assert.match((result.ok && result.note) || '', /continues a chain/);
  });

  it('verifies a file larger than one read chunk', async () => {
    const log = await AuditLog.open({ file });
    const long = 'x'.repeat(1000);
    for (let index = 1; index <= 300; index += 1) await log.write(entry(index, { reason: long }));
    await log.close();

    assert.ok((await stat(file)).size > 256 * 1024);
    const result = await verifyAuditFile(file);
    assert.equal(result.ok, true);
    assert.equal(result.ok && result.lines, 300);
  });

  it('rejects token-looking strings in every text field', async () => {
    const token = `tsr_${Buffer.from('0123456789abcdef01234567').toString('base64url')}`;
    const fields = ['request_id', 'accessor', 'operation', 'path', 'reason', 'client', 'task_id'];
    const log = await AuditLog.open({ file });
    for (const field of fields) {
      await assert.rejects(log.write(entry(1, { [field]: `see ${token}` })), (error) => {
        assert.ok(isTesseraError(error, 'INVALID_ARGUMENT'), `${field}: wrong error`);
        assert.match(error.message, new RegExp(`field ${field} contains a token-looking string`));
        assert.ok(!error.message.includes(token), `${field}: message contains the token`);
        return true;
      });
    }
    await log.close();
    assert.equal(await readFile(file, 'utf8'), '');
  });

  it('rejects a field longer than 1024 characters', async () => {
    const log = await AuditLog.open({ file });
    await log.write(entry(1, { path: 'p'.repeat(1024) }));
    await assert.rejects(log.write(entry(2, { path: 'p'.repeat(1025) })), (error) => {
      assert.ok(isTesseraError(error, 'INVALID_ARGUMENT'));
      assert.match(error.message, /field path is longer than 1024 characters/);
      return true;
    });
    await log.close();
    assert.equal((await lines(file)).length, 1);
  });

  it('rejects an invalid outcome and time', async () => {
    const log = await AuditLog.open({ file });
    const bad = [{ outcome: 'maybe' }, { time: 'yesterday' }, { version: -1 }];
    for (const override of bad) {
      await assert.rejects(log.write({ ...entry(1), ...override } as AuditEntry), (error) => {
        assert.ok(isTesseraError(error, 'INVALID_ARGUMENT'));
        return true;
      });
    }
    await log.close();
    assert.equal(await readFile(file, 'utf8'), '');
  });

  it('never writes a field outside the entry', async () => {
    const canary = 'canary-6f1d0c29-value-never-logged';
    const log = await AuditLog.open({ file });
    const withValue = { ...entry(1), value: canary, token: canary } as unknown as AuditEntry;
    await log.write(withValue);
    await log.close();

    const text = await readFile(file, 'utf8');
    assert.ok(!text.includes(canary), 'the canary reached the audit file');
    assert.equal((await verifyAuditFile(file)).ok, true);
  });

  it('rejects writes after close', async () => {
    const log = await AuditLog.open({ file });
    await log.close();
    await assert.rejects(log.write(entry(1)), (error) =>
      isTesseraError(error, 'AUDIT_UNAVAILABLE'),
    );
    assert.equal(log.health().ok, false);
  });

  it('reports in health where lines go after a move', async () => {
    const log = await AuditLog.open({ file });
    await log.write(entry(1));
    await rename(file, `${file}.1`);

    const moved = log.health();
    assert.equal(moved.ok, false);
    assert.match(moved.reason ?? '', /was moved or replaced, so new lines go to the moved file/);
    assert.match(moved.reason ?? '', /SIGHUP/);
    await log.write(entry(2));
    assert.equal((await lines(`${file}.1`)).length, 2);

    await rm(`${file}.1`);
    const removed = log.health();
    assert.match(removed.reason ?? '', /was removed, so new lines go to a deleted file/);
    await log.close();
  });

  it('rejects invalid options', async () => {
    await assert.rejects(AuditLog.open({ file, maxBytes: 0 }), (error) =>
      isTesseraError(error, 'CONFIG_INVALID'),
    );
  });
});
