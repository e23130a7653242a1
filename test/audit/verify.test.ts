import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AuditEntry } from '../../src/audit/entry.ts';
import { verifyAuditFile } from '../../src/audit/verify.ts';
import { AuditLog } from '../../src/audit/writer.ts';
import { isTesseraError } from '../../src/errors.ts';

const LINES = 10;

function entry(index: number): AuditEntry {
  return {
    time: new Date(Date.UTC(2025, 0, 1, 12, 0, index)).toISOString(),
    request_id: `req-${index}`,
    accessor: 'a1b2c3d4e5f6a7b8c9d0e1f2',
    operation: 'read',
    path: `billing/db-${index}`,
    version: index,
    outcome: index % 3 === 0 ? 'denied' : 'allowed',
    reason: index % 3 === 0 ? 'no policy grants read' : null,
    client: '127.0.0.1',
    task_id: null,
  };
}

let dir: string;
let pristine: string;
let fileCount = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-audit-verify-'));
  const file = join(dir, 'pristine.log');
  const log = await AuditLog.open({ file });
  for (let index = 1; index <= LINES; index += 1) await log.write(entry(index));
  await log.close();
  pristine = await readFile(file, 'utf8');
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

// Writes a tampered copy of the pristine log; `change` gets its lines without newlines.
async function tampered(change: (lines: string[]) => string[]): Promise<string> {
  fileCount += 1;
  const file = join(dir, `tampered-${fileCount}.log`);
  const lines = pristine.split('\n').slice(0, -1);
  await writeFile(file, `${change(lines).join('\n')}\n`);
  return file;
}

async function copyWith(text: string): Promise<string> {
  fileCount += 1;
  const file = join(dir, `copy-${fileCount}.log`);
  await writeFile(file, text);
  return file;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function problemOf(result: Awaited<ReturnType<typeof verifyAuditFile>>) {
  assert.equal(result.ok, false, 'expected a problem, the chain verified');
  return result as Extract<typeof result, { ok: false }>;
}

describe('verifyAuditFile', () => {
  it('accepts an intact file', async () => {
    const result = await verifyAuditFile(await copyWith(pristine));
    const lastLine = pristine.split('\n').at(-2)!;
    assert.deepEqual(result, { ok: true, lines: LINES, lastHash: sha256(lastLine), note: null });
  });

  it('accepts lines without the versions field', async () => {
    // Written before entries had `versions`: the same lines with that key left out, and
    // each prev recomputed over the shorter line before.
    let prev = '0'.repeat(64);
    const lines = pristine
      .split('\n')
      .slice(0, -1)
      .map((line) => {
        const { versions: _versions, ...older } = JSON.parse(line);
        const text = JSON.stringify({ ...older, prev });
        prev = createHash('sha256').update(text).digest('hex');
        return text;
      });
    assert.equal(lines[0]?.includes('versions'), false);
    const result = await verifyAuditFile(await copyWith(`${lines.join('\n')}\n`));
    assert.equal(result.ok, true);
    assert.equal(result.ok && result.lines, LINES);
  });

  it('accepts an empty file', async () => {
    const result = await verifyAuditFile(await copyWith(''));
    assert.equal(result.ok, true);
    assert.equal(result.ok && result.lines, 0);
  });

  it('catches an edited field', async () => {
    const file = await tampered((lines) => {
      lines[3] = lines[3]!.replace('"outcome":"allowed"', '"outcome":"denied"');
      return lines;
    });
    const problem = problemOf(await verifyAuditFile(file));
    assert.equal(problem.problem, 'edited');
    assert.equal(problem.line, 4);
    assert.equal(problem.file, file);
    assert.equal(problem.message, 'line 4 was edited: its hash does not match the prev of line 5');
  });

  it('catches an edited seq whose prev still links', async () => {
    const file = await tampered((lines) => {
      lines[4] = lines[4]!.replace('"seq":5,', '"seq":9,');
      return lines;
    });
    const problem = problemOf(await verifyAuditFile(file));
    assert.equal(problem.problem, 'edited');
    assert.equal(problem.line, 5);
  });

  it('catches a removed line', async () => {
    const file = await tampered((lines) => lines.filter((_, index) => index !== 4));
    const problem = problemOf(await verifyAuditFile(file));
    assert.equal(problem.problem, 'removed');
    assert.equal(problem.line, 5);
    assert.match(problem.message, /1 line was removed before line 5: seq jumps from 4 to 6/);
  });

  it('catches an inserted copy of an earlier line', async () => {
    const file = await tampered((lines) => [...lines.slice(0, 6), lines[1]!, ...lines.slice(6)]);
    const problem = problemOf(await verifyAuditFile(file));
    assert.equal(problem.problem, 'inserted');
    assert.equal(problem.line, 7);
    assert.match(problem.message, /seq 2 repeats or goes back after seq 6/);
  });

  it('catches a duplicated line right after its original', async () => {
    const file = await tampered((lines) => [...lines.slice(0, 3), lines[2]!, ...lines.slice(3)]);
    const problem = problemOf(await verifyAuditFile(file));
    assert.equal(problem.problem, 'inserted');
    assert.equal(problem.line, 4);
  });

  it('catches a forged line with a valid prev', async () => {
    const file = await tampered((lines) => {
      const forged = JSON.parse(lines[3]!);
      forged.request_id = 'forged';
      return [...lines.slice(0, 3), JSON.stringify(forged), ...lines.slice(3)];
    });
    const problem = problemOf(await verifyAuditFile(file));
    assert.equal(problem.problem, 'inserted');
    assert.equal(problem.line, 4);
  });

  it('catches two swapped lines', async () => {
    const file = await tampered((lines) => {
      [lines[2], lines[3]] = [lines[3]!, lines[2]!];
      return lines;
    });
    const problem = problemOf(await verifyAuditFile(file));
    assert.equal(problem.problem, 'reordered');
    assert.equal(problem.line, 3);
    assert.match(problem.message, /lines 3 and 4 are in the wrong order/);
  });

  it('catches a tail cut mid-line', async () => {
    const file = await copyWith(pristine.slice(0, -40));
    const problem = problemOf(await verifyAuditFile(file));
    assert.equal(problem.problem, 'truncated');
    assert.equal(problem.line, LINES);
    assert.match(problem.message, /cut off mid-JSON/);
  });

  it('catches a last line without its newline', async () => {
    const file = await copyWith(pristine.slice(0, -1));
    const problem = problemOf(await verifyAuditFile(file));
    assert.equal(problem.problem, 'truncated');
    assert.equal(problem.line, LINES);
  });

  it('catches a line that is not JSON', async () => {
    const file = await tampered((lines) => {
      lines[5] = 'not json at all';
      return lines;
    });
    const problem = problemOf(await verifyAuditFile(file));
    assert.equal(problem.problem, 'malformed');
    assert.equal(problem.line, 6);
  });

  it('catches an empty line', async () => {
    const file = await tampered((lines) => [...lines.slice(0, 2), '', ...lines.slice(2)]);
    const problem = problemOf(await verifyAuditFile(file));
    assert.equal(problem.problem, 'malformed');
    assert.equal(problem.line, 3);
  });

  it('catches a line with an unknown field', async () => {
    const file = await tampered((lines) => {
      lines[1] = lines[1]!.replace('"client"', '"value":"x","client"');
      return lines;
    });
    const problem = problemOf(await verifyAuditFile(file));
    assert.equal(problem.problem, 'malformed');
    assert.equal(problem.line, 2);
  });

  it('catches an overlong line', async () => {
    const file = await tampered((lines) => [lines[0]!, 'x'.repeat(300 * 1024), ...lines.slice(1)]);
    const problem = problemOf(await verifyAuditFile(file));
    assert.equal(problem.problem, 'malformed');
    assert.equal(problem.line, 2);
    assert.match(problem.message, /longer than 262144 bytes/);
  });

  it('sees an edited last line only in lastHash', async () => {
    const file = await tampered((lines) => {
      lines[LINES - 1] = lines[LINES - 1]!.replace('req-10', 'req-99');
      return lines;
    });
    const result = await verifyAuditFile(file);
    const lastLine = pristine.split('\n').at(-2)!;
    assert.equal(result.ok, true);
    assert.notEqual(result.ok && result.lastHash, sha256(lastLine));
  });

  it('accepts a continuation with a note', async () => {
    const file = await tampered((lines) => lines.slice(4));
    const result = await verifyAuditFile(file);
    assert.equal(result.ok, true);
    assert.equal(result.ok && result.lines, LINES - 4);
    assert.match((result.ok && result.note) || '', /seq 5\) continues a chain/);
  });

  it('checks the chain across several files', async () => {
    const lines = pristine.split('\n').slice(0, -1);
    const older = await copyWith(`${lines.slice(0, 3).join('\n')}\n`);
    const middle = await copyWith(`${lines.slice(3, 7).join('\n')}\n`);
    const newest = await copyWith(`${lines.slice(7).join('\n')}\n`);

    const result = await verifyAuditFile(newest, { previous: [older, middle] });
    assert.equal(result.ok, true);
    assert.equal(result.ok && result.lines, LINES);
    assert.equal(result.ok && result.note, null);

    const gap = problemOf(await verifyAuditFile(newest, { previous: [older] }));
    assert.equal(gap.problem, 'removed');
    assert.equal(gap.file, newest);
    assert.equal(gap.line, 1);
  });

  it('reports an edit at the end of an older file', async () => {
    const lines = pristine.split('\n').slice(0, -1);
    const edited = lines.slice(0, 5);
    edited[4] = edited[4]!.replace('billing/db-5', 'billing/db-X');
    const older = await copyWith(`${edited.join('\n')}\n`);
    const newest = await copyWith(`${lines.slice(5).join('\n')}\n`);

    const problem = problemOf(await verifyAuditFile(newest, { previous: [older] }));
    assert.equal(problem.problem, 'edited');
    assert.equal(problem.file, older);
    assert.equal(problem.line, 5);
    assert.match(problem.message, new RegExp(`prev of line 1 of ${newest}`));
  });

  it('rejects a missing file', async () => {
    await assert.rejects(verifyAuditFile(join(dir, 'missing.log')), (error) => {
      assert.ok(isTesseraError(error, 'INVALID_ARGUMENT'));
      assert.match(error.message, /ENOENT/);
      return true;
    });
  });
});
