import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { TesseraClient } from '../../src/client/client.ts';
import { isTesseraError } from '../../src/errors.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

describe('unreachable server errors', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it('tells https to a plain HTTP server', async () => {
    const address = server.address.replace(/^http:/, 'https:');
    const client = new TesseraClient({ address, token: server.rootToken });
    const error = await client.read('any/path').then(
      () => undefined,
      (failure: unknown) => failure,
    );
    assert.ok(isTesseraError(error, 'UNREACHABLE'), String(error));
    assert.match(error.message, /answered in plain HTTP, not TLS/);
    assert.match(error.message, /give its address with http:\/\//);
    assert.doesNotMatch(error.message, /TESSERA_CACERT/);
  });
});
