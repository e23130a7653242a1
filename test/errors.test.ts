import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { ERRORS } from '../src/errors.ts';

test('docs/errors.md lists every error code with its status', async () => {
  const doc = await readFile(join(import.meta.dirname, '..', 'docs', 'errors.md'), 'utf8');
  for (const [code, { status }] of Object.entries(ERRORS)) {
    const row = `| \`${code}\` | ${status} |`;
    assert.ok(doc.includes(row), `docs/errors.md has no row starting ${row}`);
  }
});
