import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request, startTestServer, type TestServer } from '../helpers/server.ts';

const b64 = (text: string) => Buffer.from(text).toString('base64');

describe('POST /v1/tessera/resolve', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    await request(server, 'POST', '/v1/tessera/data/my/secret', {
      fields: { username: b64('PLACEHOLDER-user'), value: b64('whole') },
    });
    await request(server, 'POST', '/v1/tessera/data/empty', { fields: { value: '' } });
  });
  after(() => server.close());

  const resolve = (secrets: unknown[]) =>
    request(server, 'POST', '/v1/tessera/resolve', { secrets });

  test('resolves references and values in order', async () => {
    const response = await resolve([
      { type: 'REFERENCE', reference: { name: '/my/secret', key: 'username' } },
      { type: 'VALUE', value: { data: b64('inline') } },
      { type: 'REFERENCE', reference: { name: 'my/secret' } },
    ]);
    assert.equal(response.status, 200);
    const items = response.body.data.secrets;
    assert.equal(Buffer.from(items[0].data, 'base64').toString(), 'PLACEHOLDER-user');
    assert.equal(items[0].path, 'my/secret');
    assert.equal(items[0].field, 'username');
    assert.equal(items[0].version, 1);
    assert.equal(Buffer.from(items[1].data, 'base64').toString(), 'inline');
    assert.equal(Buffer.from(items[2].data, 'base64').toString(), 'whole');
  });

  test('a zero-length secret resolves to zero bytes, not not-found', async () => {
    const response = await resolve([{ type: 'REFERENCE', reference: { name: '/empty' } }]);
    assert.equal(response.status, 200);
    assert.equal(response.body.data.secrets[0].data, '');
  });

  test('one unknown reference fails the whole batch with an error per item', async () => {
    const response = await resolve([
      { type: 'REFERENCE', reference: { name: '/my/secret', key: 'username' } },
      { type: 'REFERENCE', reference: { name: '/no/such' } },
      { type: 'REFERENCE', reference: { name: '/my/secret', key: 'nope' } },
    ]);
    assert.equal(response.status, 400);
    assert.equal(response.body.code, 'RESOLVE_FAILED');
    assert.equal(response.body.data, undefined);
    const errors = response.body.details.errors;
    assert.deepEqual(
      errors.map((e: { index: number }) => e.index),
      [1, 2],
    );
    assert.equal(errors[0].code, 'NOT_FOUND');
    assert.match(errors[1].message, /no field 'nope'/);
    assert.doesNotMatch(JSON.stringify(response.body), /PLACEHOLDER-user/);
  });

  test('invalid base64 in a VALUE is rejected without echoing it', async () => {
    const response = await resolve([{ type: 'VALUE', value: { data: 'CANARY-not-base64!!' } }]);
    assert.equal(response.status, 400);
    assert.equal(response.body.details.errors[0].index, 0);
    assert.doesNotMatch(JSON.stringify(response.body), /CANARY/);
  });

  test('a secret without a type is rejected', async () => {
    const response = await resolve([{ reference: { name: '/my/secret' } }]);
    assert.equal(response.status, 400);
    assert.match(response.body.details.errors[0].message, /REFERENCE or VALUE/);
  });

  test('an empty batch is a usage error', async () => {
    const response = await resolve([]);
    assert.equal(response.status, 400);
    assert.equal(response.body.code, 'INVALID_ARGUMENT');
  });
});
