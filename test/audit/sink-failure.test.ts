import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync, readSync, writeSync } from 'node:fs';
import { mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import type { AuditEntry } from '../../src/audit/entry.ts';
import { verifyAuditFile } from '../../src/audit/verify.ts';
import { AuditLog, RESUME_OPERATION } from '../../src/audit/writer.ts';
import { isTesseraError } from '../../src/errors.ts';

// Well under the 2 s default timeout, so that a rejection this fast cannot be a timeout.
const FAST_MS = 150;
const WRITE_TIMEOUT_MS = 400;

function entry(index: number): AuditEntry {
  return {
    time: new Date().toISOString(),
    request_id: `req-${index}`,
    accessor: '5e4d3c2b1a0998877665544a',
    operation: 'read',
    path: 'payments/stripe',
    version: 1,
    outcome: 'allowed',
    reason: null,
    client: '10.1.2.3',
    task_id: null,
  };
}

// Times a write that must fail with AUDIT_UNAVAILABLE and returns how long it took.
async function timedRejection(log: AuditLog, index: number): Promise<number> {
  const started = performance.now();
  await assert.rejects(log.write(entry(index)), (error) => {
    assert.ok(isTesseraError(error, 'AUDIT_UNAVAILABLE'), `write ${index}: ${error}`);
    return true;
  });
  return performance.now() - started;
}

async function waitUntilHealthy(log: AuditLog, whileWaiting: () => void = () => {}) {
  const deadline = Date.now() + 5000;
  while (!log.health().ok && Date.now() < deadline) {
    whileWaiting();
    await sleep(50);
  }
  assert.equal(log.health().ok, true, 'the log did not recover within 5 s');
}

// Reads whatever the pipe holds from a non-blocking descriptor.
function drain(fd: number, into: Buffer[]) {
  const buffer = Buffer.alloc(65536);
  for (let round = 0; round < 1000; round += 1) {
    let count: number;
    try {
      count = readSync(fd, buffer);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN') return;
      throw error;
    }
    if (count === 0) return;
    into.push(Buffer.from(buffer.subarray(0, count)));
  }
}

// Fills a pipe to the last byte through a second, non-blocking writer; returns the count.
function fillPipe(fifo: string): number {
  const fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
  let filled = 0;
  try {
    for (const size of [4096, 1]) {
      const chunk = Buffer.alloc(size, 0x2e);
      for (let round = 0; round < 100_000; round += 1) {
        try {
          filled += writeSync(fd, chunk);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'EAGAIN') break;
          throw error;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return filled;
}

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-audit-sink-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('AuditLog on a failing sink', () => {
  it('fails fast on a full device', async () => {
    const logLines: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => logLines.push(line) });
    const log = await AuditLog.open({ file: '/dev/full', logger });
    try {
      const first = await timedRejection(log, 1);
      assert.ok(first < FAST_MS, `first write took ${first} ms`);
      assert.deepEqual(log.health(), {
        ok: false,
        reason: 'write failed with ENOSPC',
        failures: 1,
      });

      const second = await timedRejection(log, 2);
      assert.ok(second < FAST_MS, `second write took ${second} ms`);
      assert.equal(log.health().failures, 2);

      await timedRejection(log, 3);
      const errors = logLines.map((line) => JSON.parse(line)).filter((line) => line.level >= 50);
      assert.equal(errors.length, 1, 'an outage is logged once, not once per write');
      assert.equal(errors[0].reason, 'write failed with ENOSPC');
    } finally {
      await log.close();
    }
  });

  it('recovers when the path points at a writable file again', async () => {
    const link = join(dir, 'audit.log');
    const real = join(dir, 'real.log');
    await writeFile(real, '', { mode: 0o600 });
    await symlink('/dev/full', link);
    const log = await AuditLog.open({ file: link });
    try {
      await timedRejection(log, 1);
      await timedRejection(log, 2);
      assert.equal(log.health().ok, false);

      await symlink(real, join(dir, 'next.link'));
      await rename(join(dir, 'next.link'), link);
      await waitUntilHealthy(log);
      await log.write(entry(3));
      await log.write(entry(4));
    } finally {
      await log.close();
    }

    const result = await verifyAuditFile(real);
    assert.equal(result.ok, true);
    assert.equal(result.ok && result.lines, 3);
    const [resume] = (await readFile(real, 'utf8'))
      .split('\n')
      .map((line) => line && JSON.parse(line));
    assert.equal(resume.operation, RESUME_OPERATION);
    assert.match(resume.reason, /ENOSPC\); 2 writes were rejected/);
  });

  it('removes a line cut short by the file size limit', async () => {
    const file = join(dir, 'audit.log');
    const writer = join(import.meta.dirname, '..', '..', 'src', 'audit', 'writer.ts');
    // Under `ulimit -f 4` the kernel takes part of the write that crosses 4096 bytes and
    // fails the rest with EFBIG, as a file system does when it fills up mid-write.
    const script = `
      import { AuditLog } from ${JSON.stringify(writer)};
      const entry = ${JSON.stringify(entry(0))};
      const log = await AuditLog.open({ file: ${JSON.stringify(file)} });
      let written = 0;
      for (; written < 100; written += 1) {
        try { await log.write({ ...entry, request_id: 'req-' + written }); } catch { break; }
      }
      await new Promise((resolve) => setTimeout(resolve, 1300));
      await log.close();
      process.stdout.write(JSON.stringify({ written, health: log.health() }));
    `;
    const output = execFileSync(
      'bash',
      [
        '-c',
        'ulimit -f 4 && exec "$0" "$@"',
        process.execPath,
        '--input-type=module',
        '-e',
        script,
      ],
      { encoding: 'utf8', timeout: 20_000 },
    );
    const { written } = JSON.parse(output);

    assert.ok(written > 5, `wrote only ${written} lines before the limit`);
    assert.ok(written < 100, 'the file size limit did not stop the writes');
    const result = await verifyAuditFile(file);
    assert.equal(result.ok, true, JSON.stringify(result));
    assert.equal(result.ok && result.lines, written);
  });

  it('times out on a hung pipe, fails fast, and recovers', async () => {
    const fifo = join(dir, 'audit.fifo');
    execFileSync('mkfifo', ['-m', '600', fifo]);
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const received: Buffer[] = [];
    let log: AuditLog | undefined;
    try {
      const junkBytes = fillPipe(fifo);
      log = await AuditLog.open({ file: fifo, writeTimeoutMs: WRITE_TIMEOUT_MS });

      // The first write hangs in the kernel. Two writes queued half-way through its wait
      // fail as soon as it times out, not after a full timeout of their own.
      const started = performance.now();
      const rejectedAt = (index: number) =>
        timedRejection(log!, index).then(() => performance.now());
      const first = rejectedAt(1);
      await sleep(WRITE_TIMEOUT_MS / 2);
      const [firstAt, ...queuedAt] = await Promise.all([first, rejectedAt(2), rejectedAt(3)]);
      const waited = firstAt - started;
      assert.ok(waited >= WRITE_TIMEOUT_MS - 20, `rejected after ${waited} ms, before the timeout`);
      assert.ok(waited < WRITE_TIMEOUT_MS + 300, `rejected after ${waited} ms`);
      for (const at of queuedAt) {
        assert.ok(
          at - firstAt < WRITE_TIMEOUT_MS / 4,
          `a queued write took ${at - firstAt} ms more`,
        );
      }

      // Far less than a timeout of its own. A bound of 50 ms failed on a loaded machine.
      const fast = await timedRejection(log, 4);
      assert.ok(fast < WRITE_TIMEOUT_MS / 2, `a write during the outage took ${fast} ms`);
      assert.match(log.health().reason ?? '', /did not finish within 400 ms/);
      assert.equal(log.health().failures, 4);

      await waitUntilHealthy(log, () => drain(reader, received));
      await log.write(entry(5));
      await log.write(entry(6));
      await log.close();
      drain(reader, received);

      const stream = Buffer.concat(received);
      assert.ok(stream.subarray(0, junkBytes).every((byte) => byte === 0x2e));
      const copy = join(dir, 'received.log');
      await writeFile(copy, stream.subarray(junkBytes));
      const result = await verifyAuditFile(copy);
      assert.deepEqual(result.ok && result.lines, 4);

      const written = stream.subarray(junkBytes).toString('utf8').split('\n').slice(0, -1);
      const ids = written.map((line) => JSON.parse(line).request_id);
      assert.equal(ids[0], 'req-1', 'the hung line lands once the pipe is read');
      assert.equal(JSON.parse(written[1]!).operation, RESUME_OPERATION);
      assert.deepEqual(ids.slice(2), ['req-5', 'req-6']);
    } finally {
      // A write blocked on the pipe would keep this process alive, so read until it ends.
      drain(reader, received);
      await log?.close();
      closeSync(reader);
    }
  });
});
