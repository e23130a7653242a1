import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type FakeOperator, startFakeOperator } from '../helpers/fake-operator.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { until } from '../helpers/wait.ts';

const PASSWORD = 'canary-master-password-77d1';
const AUTHORIZATION = `Basic ${Buffer.from(`tessera:${PASSWORD}`).toString('base64')}`;

describe('following a master with credentials', () => {
  let master: FakeOperator;
  let server: TestServer;

  before(async () => {
    master = await startFakeOperator();
    master.answer = { status: 401 };
    server = await startTestServer({
      mesos: {
        masters: [new URL(master.url)],
        authorization: AUTHORIZATION,
        loginWindowSeconds: 600,
        connectTimeoutMs: 2000,
      },
    });
  });
  after(async () => {
    await server.close();
    await master.close();
  });

  it('logs no part of the credentials', async () => {
    await until(() => /rejected the principal and password/.test(server.log()), 'a 401 is logged');
    master.answer = undefined;
    await until(() => server.log().includes('following the Mesos master'), 'a subscription');

    assert.equal(master.authorizations.at(-1), AUTHORIZATION);
    const log = server.log();
    assert.ok(!log.includes(PASSWORD), 'the password is not logged');
    assert.ok(!log.includes(AUTHORIZATION.slice(6)), 'the encoded credentials are not logged');
  });
});
