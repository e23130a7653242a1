import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request, startTestServer, type TestServer } from '../helpers/server.ts';

const POLICY = JSON.stringify({ rules: [{ path: 'apps/*', capabilities: ['read'] }] });
const NAME_RULE = /1 to 128 lowercase letters, digits, '-' or '_'/;

// Policy and login role names are 1 to 128 characters in every route that takes one.
describe('names in route parameters', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  for (const length of [100, 101, 128]) {
    test(`policy name of ${length} characters works`, async () => {
      const name = 'p'.repeat(length);
      const route = `/v1/sys/policies/acl/${name}`;
      assert.equal((await request(server, 'PUT', route, { policy: POLICY })).status, 204);
      const read = await request(server, 'GET', route);
      assert.equal(read.status, 200);
      assert.equal(read.body.data.name, name);
      assert.equal((await request(server, 'DELETE', route)).status, 204);
    });

    test(`login role name of ${length} characters works`, async () => {
      const route = `/v1/auth/mesos/role/${'r'.repeat(length)}`;
      const role = { policies: ['default'], framework_names: ['marathon'] };
      assert.equal((await request(server, 'PUT', route, role)).status, 204);
      assert.equal((await request(server, 'GET', route)).status, 200);
      assert.equal((await request(server, 'DELETE', route)).status, 204);
    });
  }

  for (const length of [129, 1025, 5000]) {
    for (const prefix of ['/v1/sys/policies/acl/', '/v1/auth/mesos/role/']) {
      test(`name of ${length} characters under ${prefix} is 400`, async () => {
        const response = await request(server, 'GET', `${prefix}${'n'.repeat(length)}`);
        assert.equal(response.status, 400);
        assert.equal(response.body.code, 'INVALID_ARGUMENT');
        assert.match(response.body.message, NAME_RULE);
        assert.ok(response.body.request_id);
      });
    }
  }
});
