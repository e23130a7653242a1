import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runTessera } from '../helpers/cli.ts';

const APP = {
  id: '/x',
  cmd: 'echo café',
  env: { P: { secret: 's' } },
  secrets: { s: { source: 'p/s' } },
};

describe('tessera wrap input and output files', () => {
  let dir: string;
  let appFile: string;
  const env = { PATH: process.env.PATH };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-wrap-cli-'));
    appFile = join(dir, 'app.json');
    await writeFile(appFile, JSON.stringify(APP));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('rejects bytes that are not UTF-8', async () => {
    const latin1 = join(dir, 'latin1.json');
    await writeFile(latin1, Buffer.from(JSON.stringify(APP), 'latin1'));
    const ran = await runTessera(['wrap', latin1], { env });
    assert.equal(ran.code, 2);
    assert.match(ran.stderr, /latin1\.json is not valid UTF-8: a byte at line 1, byte offset 26/);
    assert.equal(ran.stdout.length, 0);
  });

  test('rejects bytes that are not UTF-8 on standard input', async () => {
    const input = Buffer.from('{"id":"/x","cmd":"caf\xe9"}', 'latin1');
    const ran = await runTessera(['wrap', '-'], { env, input });
    assert.equal(ran.code, 2);
    assert.match(ran.stderr, /standard input is not valid UTF-8: a byte at line 1, byte offset 21/);
  });

  test('names an output directory that does not exist', async () => {
    const output = join(dir, 'missing', 'x.json');
    const ran = await runTessera(['wrap', '-o', output, appFile], { env });
    assert.equal(ran.code, 2);
    assert.match(
      ran.stderr,
      /could not write the wrapped definition to .*missing\/x\.json \(ENOENT\); its directory does not exist/,
    );
    assert.doesNotMatch(ran.stderr, /internal error/);
  });

  test('names an output that is a directory', async () => {
    const ran = await runTessera(['wrap', '-o', dir, appFile], { env });
    assert.equal(ran.code, 2);
    assert.match(ran.stderr, /\(EISDIR\); it is a directory; name a file to write/);
  });
});
