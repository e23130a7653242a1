import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuditLog } from '../../src/audit/writer.ts';
import { collect, type RunResult } from '../helpers/cli.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const AUDIT_CLI = join(ROOT, 'src', 'cli', 'audit.ts');

// Runs `tessera audit ARGS` through a program that holds only the audit command, the way
// main.ts registers it, and returns its output and exit status.
function runAudit(args: string[]): Promise<RunResult> {
  const script = `
    import { Command } from 'commander';
    import { registerAudit } from ${JSON.stringify(AUDIT_CLI)};
    const program = new Command('tessera').exitOverride();
    registerAudit(program);
    await program.parseAsync(process.argv.slice(1), { from: 'user' });
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, 'audit', ...args], {
    cwd: ROOT,
    timeout: 20_000,
  });
  return collect(child);
}

let dir: string;
let file: string;
// Every file of the log, oldest first.
let chain: string[];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-audit-cli-'));
  file = join(dir, 'audit.log');
  const log = await AuditLog.open({ file, maxBytes: 1200 });
  for (let index = 1; index <= 12; index += 1) {
    await log.write({
      time: new Date().toISOString(),
      request_id: `req-${index}`,
      accessor: '9a8b7c6d5e4f3a2b1c0d9e8f',
      operation: 'read',
      path: 'search/elastic',
      version: 3,
      outcome: 'allowed',
      reason: null,
      client: '192.0.2.10',
      task_id: null,
    });
  }
  await log.close();

  const rotated = (await readdir(dir))
    .filter((name) => name.startsWith('audit.log.'))
    .map((name) => Number(name.slice('audit.log.'.length)))
    .sort((a, b) => b - a);
  chain = [...rotated.map((index) => `${file}.${index}`), file];
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('tessera audit verify', () => {
  it('reports an intact chain across rotated files', async () => {
    assert.ok(chain.length >= 3, `expected rotated files, got ${chain.join(', ')}`);
    const result = await runAudit(['verify', ...chain]);
    assert.equal(result.stderr, '');
    assert.equal(result.code, 0);
    assert.equal(result.stdout.toString(), 'ok: 12 lines, chain intact\n');
  });

  it('notes a file that continues an earlier one', async () => {
    const result = await runAudit(['verify', file]);
    assert.equal(result.code, 0);
    assert.match(result.stderr, /^note: line 1 of .* continues a chain/);
  });

  it('prints the first problem with file and line', async () => {
    const lines = (await readFile(`${file}.1`, 'utf8')).split('\n');
    lines[0] = lines[0]!.replace('"version":3', '"version":4');
    const tampered = join(dir, 'tampered.log');
    await writeFile(tampered, lines.join('\n'));

    const result = await runAudit(['verify', tampered]);
    assert.equal(result.code, 2);
    assert.equal(
      result.stdout.toString(),
      `${tampered}: line 1 was edited: its hash does not match the prev of line 2\n`,
    );
  });

  it('prints the result as JSON', async () => {
    const missingMiddle = await runAudit(['verify', '--format', 'json', chain[0]!, file]);
    assert.equal(missingMiddle.code, 2);
    const result = JSON.parse(missingMiddle.stdout.toString());
    assert.equal(result.ok, false);
    assert.equal(result.problem, 'removed');
    assert.equal(result.file, file);
    assert.equal(result.line, 1);

    const intact = await runAudit(['verify', '--format', 'json', `${file}.1`, file]);
    assert.equal(intact.code, 0);
    assert.match(JSON.parse(intact.stdout.toString()).lastHash, /^[0-9a-f]{64}$/);
  });
});
