import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request, startTestServer, type TestServer } from '../helpers/server.ts';

const CANARY = 'CANARY-input-message-5e2b';
const VALUE = Buffer.from('x').toString('base64');

// Zod's own wording, which speaks of its types and not of the request's fields.
const ZOD_WORDING = /expected \w+, received|Unrecognized key|Invalid input|Too big|Too small/;

describe('request input messages', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  const post = (route: string, body: unknown) => request(server, 'POST', route, body);

  const rawPost = async (route: string, text: string) => {
    const response = await fetch(server.address + route, {
      method: 'POST',
      headers: { 'x-vault-token': server.rootToken, 'content-type': 'application/json' },
      body: text,
    });
    return { status: response.status, body: (await response.json()) as any };
  };

  test('body syntax error gives line and column', async () => {
    const text = `{\n  "data": {\n    "k": "${CANARY}" x}}`;
    const response = await rawPost('/v1/secret/data/in/json', text);
    assert.equal(response.status, 400);
    assert.equal(response.body.code, 'INVALID_ARGUMENT');
    assert.match(
      response.body.message,
      /^request body is not valid JSON: .* at line 3, column \d+/,
    );
    assert.equal(response.body.details.line, 3);
    assert.doesNotMatch(JSON.stringify(response.body), /CANARY/);
  });

  test('prototype key is named as such', async () => {
    const response = await rawPost('/v1/secret/data/in/proto', '{"data": {"__proto__": "x"}}');
    assert.equal(response.status, 400);
    assert.match(response.body.message, /__proto__/);
  });

  test('key given twice gives line and column', async () => {
    const text = `{"data": {\n  "${CANARY}": "a", "${CANARY}": "b"}}`;
    const response = await rawPost('/v1/secret/data/in/twice', text);
    assert.equal(response.status, 400);
    assert.equal(response.body.code, 'INVALID_ARGUMENT');
    assert.match(response.body.message, /^request body has a key twice in one object/);
    assert.equal(response.body.details.line, 2);
    assert.equal(response.body.details.column, 37);
    assert.doesNotMatch(JSON.stringify(response.body), /CANARY/);
    const read = await request(server, 'GET', '/v1/secret/data/in/twice');
    assert.equal(read.status, 404);
  });

  test('missing field reads as missing', async () => {
    const response = await post('/v1/tessera/data/in/a', {});
    assert.equal(response.status, 400);
    assert.equal(response.body.message, 'request body is invalid: fields is missing');
  });

  test('wrong type names the JSON type', async () => {
    const response = await post('/v1/tessera/data/in/a', { fields: [] });
    assert.equal(response.status, 400);
    assert.match(response.body.message, /fields must be a JSON object/);
    assert.doesNotMatch(response.body.message, ZOD_WORDING);
  });

  test('unknown field is named with the allowed ones', async () => {
    const response = await post('/v1/tessera/data/in/a', { fields: { v: VALUE }, zz: 1 });
    assert.equal(response.status, 400);
    assert.match(response.body.message, /has unknown field 'zz'; allowed: "fields", "cas"/);
    assert.doesNotMatch(response.body.message, ZOD_WORDING);
  });

  test('unknown token field is named', async () => {
    const response = await post('/v1/auth/token/create', { policies: ['root'], period: 5 });
    assert.equal(response.status, 400);
    assert.match(response.body.message, /has unknown field 'period'/);
    assert.doesNotMatch(response.body.message, ZOD_WORDING);
  });

  test('huge KV cas names options.cas', async () => {
    const response = await post('/v1/secret/data/in/cas', {
      data: { v: 'x' },
      options: { cas: 1e300 },
    });
    assert.equal(response.status, 400);
    assert.match(response.body.message, /^options\.cas must be a whole number/);
  });

  test('huge cas names the field', async () => {
    const response = await post('/v1/tessera/data/in/cas', { fields: { v: VALUE }, cas: 1e300 });
    assert.equal(response.status, 400);
    assert.match(response.body.message, /cas must be a whole number at most 9007199254740991/);
  });

  test('batch cas names its write', async () => {
    const writes = [
      { path: 'in/b1', fields: { v: VALUE } },
      { path: 'in/b2', fields: { v: VALUE }, cas: -1 },
    ];
    const response = await post('/v1/tessera/batch', { writes });
    assert.equal(response.status, 400);
    assert.match(response.body.message, /writes\[1\]\.cas must be at least 0/);
  });

  test('batch lists every invalid write', async () => {
    const writes = [
      { path: 'in/ok', fields: { v: VALUE } },
      { path: 'in/../up', fields: { v: VALUE } },
      { path: 'in//double', fields: { v: VALUE } },
    ];
    const response = await post('/v1/tessera/batch', { writes });
    assert.equal(response.status, 400);
    assert.equal(response.body.code, 'INVALID_PATH');
    assert.match(response.body.message, /^2 of 3 writes are invalid, so nothing was written/);
    assert.match(response.body.message, /writes\[1\]: secret path "in\/\.\.\/up"/);
    assert.match(response.body.message, /writes\[2\]: secret path "in\/\/double"/);
    const indexes = response.body.details.errors.map((error: { index: number }) => error.index);
    assert.deepEqual(indexes, [1, 2]);
    const ok = await request(server, 'GET', '/v1/tessera/data/in/ok');
    assert.equal(ok.status, 404);
  });

  test('batch with mixed problems is INVALID_ARGUMENT', async () => {
    const writes = [
      { path: 'in/../up', fields: { v: VALUE } },
      { path: 'in/empty', fields: {} },
    ];
    const response = await post('/v1/tessera/batch', { writes });
    assert.equal(response.status, 400);
    assert.equal(response.body.code, 'INVALID_ARGUMENT');
    assert.match(response.body.message, /writes\[1\]: fields must hold at least one field/);
    const codes = response.body.details.errors.map((error: { code: string }) => error.code);
    assert.deepEqual(codes, ['INVALID_PATH', 'INVALID_ARGUMENT']);
  });

  test('bad duration names the accepted forms', async () => {
    const response = await post('/v1/auth/token/create', { policies: ['root'], ttl: true });
    assert.equal(response.status, 400);
    assert.match(
      response.body.message,
      /ttl must be a number of seconds or a duration such as "1h"/,
    );
  });

  test('body that is no object is named', async () => {
    const response = await post('/v1/tessera/data/in/a', ['x']);
    assert.equal(response.status, 400);
    assert.match(response.body.message, /\(top level\) must be a JSON object/);
  });
});
