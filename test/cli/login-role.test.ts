import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runTessera } from '../helpers/cli.ts';
import { request, startTestServer, type TestServer } from '../helpers/server.ts';

describe('tessera login-role', () => {
  let server: TestServer;
  let home: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    server = await startTestServer();
    home = await mkdtemp(join(tmpdir(), 'tessera-login-role-cli-'));
    env = {
      PATH: process.env.PATH,
      HOME: home,
      TESSERA_ADDR: server.address,
      TESSERA_TOKEN: server.rootToken,
    };
  });
  after(async () => {
    await server.close();
    await rm(home, { recursive: true, force: true });
  });

  test('write rejects a key given twice', async () => {
    const file = join(home, 'twice.json');
    await writeFile(
      file,
      '{"policies": ["billing-read"],\n "framework_names": ["marathon"],\n "policies": ["root"]}\n',
    );
    const ran = await runTessera(['login-role', 'write', 'billing', file], { env });
    assert.equal(ran.code, 2, ran.stderr);
    assert.match(ran.stderr, /login role file .*twice\.json has the key 'policies' twice/);
    assert.match(ran.stderr, /the second at line 3, column 2;/);
    const read = await request(server, 'GET', '/v1/auth/mesos/role/billing');
    assert.equal(read.status, 404);
  });

  test('invalid name is a usage error', async () => {
    const file = join(home, 'role.json');
    await writeFile(file, '{"policies": ["billing-read"], "roles": ["prod"]}');
    const name = 'tsr_CANARY-role-name-3c1d';
    for (const args of [
      ['login-role', 'write', name, file],
      ['login-role', 'read', name],
      ['login-role', 'delete', name],
    ]) {
      const ran = await runTessera(args, { env });
      assert.equal(ran.code, 1, `${args[1]}: ${ran.stderr}`);
      assert.match(ran.stderr, /^error: login role name is invalid; use 1 to 128 lowercase/);
      assert.ok(!ran.stderr.includes(name), ran.stderr);
      assert.equal(ran.stdout.toString(), '');
    }
  });
});
