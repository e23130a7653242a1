import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type FakeOperator, startFakeOperator } from '../helpers/fake-operator.ts';
import { request, startTestServer, type TestServer } from '../helpers/server.ts';
import { until } from '../helpers/wait.ts';

describe('task login while the master is lost', () => {
  let master: FakeOperator;
  let server: TestServer;

  before(async () => {
    master = await startFakeOperator();
    master.answer = { status: 503 };
    server = await startTestServer({
      mesos: { masters: [new URL(master.url)], loginWindowSeconds: 600, connectTimeoutMs: 2000 },
    });
    const role = { policies: ['billing-read'], framework_names: ['marathon'] };
    assert.equal((await request(server, 'PUT', '/v1/auth/mesos/role/billing', role)).status, 204);
    await until(() => server.log().includes('lost the event stream'), 'a lost stream');
  });
  after(async () => {
    await server.close();
    await master.close();
  });

  test('logs one warn line without a stack', async () => {
    const body = { task_id: 'billing-api.1', role: 'billing' };
    const login = await request(server, 'POST', '/v1/auth/mesos/login', body, undefined);
    assert.equal(login.status, 503);
    assert.equal(login.body.code, 'MASTER_UNAVAILABLE');

    const logged = server
      .log()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    assert.deepEqual(
      logged.filter((line) => line.level >= 50),
      [],
    );
    const lines = logged.filter((line) => line.reqId === login.body.request_id);
    assert.equal(lines.length, 1, JSON.stringify(lines));
    assert.equal(lines[0].level, 40);
    assert.equal(lines[0].msg, 'request');
    assert.equal(lines[0].status, 503);
    assert.equal(lines[0].code, 'MASTER_UNAVAILABLE');
    assert.doesNotMatch(JSON.stringify(lines[0]), /stack|task-login\.ts/);
  });
});
