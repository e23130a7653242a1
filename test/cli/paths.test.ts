import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runTessera } from '../helpers/cli.ts';
import { request, startTestServer, type TestServer } from '../helpers/server.ts';

describe('CLI path checks', () => {
  let server: TestServer;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    server = await startTestServer();
    env = {
      PATH: process.env.PATH,
      HOME: '/nonexistent',
      TESSERA_ADDR: server.address,
      TESSERA_TOKEN: server.rootToken,
    };
    await request(server, 'POST', '/v1/secret/data/team-b/db', { data: { password: 'b' } });
  });
  after(() => server.close());

  for (const args of [
    ['destroy', 'team-a/../team-b/db', '--versions', '1'],
    ['delete', 'team-a/./../team-b/db'],
    ['get', 'team-a/../team-b/db'],
    ['put', '../../v1/sys/health', 'x=1'],
    ['list', 'team-a/../'],
  ]) {
    test(`${args[0]} rejects dot segments instead of following them`, async () => {
      const ran = await runTessera(args, { env });
      assert.equal(ran.code, 2);
      assert.match(ran.stderr, /'\.\.' segment|'\.' segment/);

      const target = await request(server, 'GET', '/v1/secret/data/team-b/db');
      assert.equal(target.status, 200, 'team-b/db is untouched');
      assert.equal(target.body.data.metadata.version, 1);
    });
  }

  test('an address with credentials is refused without echoing them', async () => {
    const ran = await runTessera(['get', 'team-b/db'], {
      env: { ...env, TESSERA_ADDR: 'http://user:CANARY-pw@127.0.0.1:1' },
    });
    assert.equal(ran.code, 2);
    assert.doesNotMatch(ran.stderr, /CANARY/);
  });
});
