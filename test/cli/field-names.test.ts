import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { parseFieldArgs } from '../../src/cli/put.ts';
import { runTessera } from '../helpers/cli.ts';
import { request, startTestServer, type TestServer } from '../helpers/server.ts';

// A plain object turns the key `__proto__` into its prototype, which loses the field or
// makes `in` find it where it is not. These tests pin that such names stay keys.
describe('field names that objects inherit', () => {
  let server: TestServer;
  let env: NodeJS.ProcessEnv;
  let dir: string;
  before(async () => {
    server = await startTestServer();
    env = {
      PATH: process.env.PATH,
      HOME: '/nonexistent',
      TESSERA_ADDR: server.address,
      TESSERA_TOKEN: server.rootToken,
    };
    dir = await mkdtemp(join(tmpdir(), 'tessera-field-names-'));
    await request(server, 'POST', '/v1/secret/data/names/plain', { data: { a: 'b' } });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
    await server.close();
  });

  test('parseFieldArgs keeps __proto__ as a field', async () => {
    const fields = await parseFieldArgs(['__proto__=x', 'constructor=y']);
    assert.deepEqual(Object.keys(fields), ['__proto__', 'constructor']);
    assert.equal(Object.getOwnPropertyDescriptor(fields, '__proto__')?.value?.toString(), 'x');
  });

  test('parseFieldArgs still finds a field given twice', async () => {
    await assert.rejects(parseFieldArgs(['__proto__=x', '__proto__=y']), /given twice/);
  });

  test('the server names a __proto__ key it rejects', async () => {
    const body = JSON.parse('{"data": {"__proto__": "x", "a": "b"}}');
    const written = await request(server, 'POST', '/v1/secret/data/names/proto', body);
    assert.equal(written.status, 400);
    assert.equal(written.body.code, 'INVALID_ARGUMENT');
    assert.match(written.body.message, /key named __proto__/);
    assert.equal((await request(server, 'GET', '/v1/secret/data/names/proto')).status, 404);
  });

  test('import rejects the whole file for a __proto__ field', async () => {
    const file = join(dir, 'secrets.json');
    await writeFile(
      file,
      JSON.stringify([
        { reference: { name: '/names/imported', key: '__proto__' }, value: { data: 'eA==' } },
        { reference: { name: '/names/imported', key: 'b' }, value: { data: 'eQ==' } },
      ]),
    );
    const ran = await runTessera(['import', file], { env });
    assert.equal(ran.code, 2);
    assert.match(ran.stderr, /key named __proto__/);
    assert.equal((await request(server, 'GET', '/v1/secret/data/names/imported')).status, 404);
  });

  for (const field of ['__proto__', 'constructor', 'toString']) {
    test(`get --field ${field} reports a missing field`, async () => {
      const ran = await runTessera(['get', 'names/plain', '--field', field], { env });
      assert.equal(ran.code, 2);
      assert.match(ran.stderr, new RegExp(`has no field '${field}'; its fields are: a`));
    });
  }
});
