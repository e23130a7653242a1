import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// node-vault is a Vault client written by others; if it works against Tessera, the KV v2
// wire format is right where it matters to real clients.
const require = createRequire(import.meta.url);
const nodeVault = require('node-vault') as (options: Record<string, unknown>) => any;

describe('node-vault against the KV v2 API', () => {
  let server: TestServer;
  let vault: any;
  before(async () => {
    server = await startTestServer();
    vault = nodeVault({
      apiVersion: 'v1',
      endpoint: server.address,
      token: server.rootToken,
      noCustomHTTPVerbs: true,
    });
  });
  after(() => server.close());

  test('writes and reads a secret', async () => {
    const written = await vault.write('secret/data/apps/web', {
      data: { api_key: 'PLACEHOLDER-key', user: 'web' },
    });
    assert.equal(written.data.version, 1);

    const read = await vault.read('secret/data/apps/web');
    assert.deepEqual(read.data.data, { api_key: 'PLACEHOLDER-key', user: 'web' });
    assert.equal(read.data.metadata.version, 1);
  });

  test('lists and reads metadata', async () => {
    await vault.write('secret/data/apps/db', { data: { password: 'PLACEHOLDER' } });
    const listed = await vault.list('secret/metadata/apps');
    assert.ok(listed.data.keys.includes('db'));
    const metadata = await vault.read('secret/metadata/apps/db');
    assert.equal(metadata.data.current_version, 1);
  });

  test('manages policies with its policy helpers', async () => {
    const rules = JSON.stringify({ rules: [{ path: 'apps/*', capabilities: ['read'] }] });
    await vault.addPolicy({ name: 'apps-read', rules });

    const listed = await vault.policies();
    assert.ok(listed.policies.includes('apps-read'));
    assert.ok(listed.data.keys.includes('apps-read'));

    const read = await vault.getPolicy({ name: 'apps-read' });
    assert.equal(read.rules, rules);
    assert.equal(read.data.rules, rules);

    await vault.removePolicy({ name: 'apps-read' });
    const after = await vault.policies();
    assert.ok(!after.policies.includes('apps-read'));
  });

  test('a bad policy from the helper is a 400', async () => {
    await assert.rejects(
      vault.addPolicy({ name: 'bad', rules: '{"rules": []}' }),
      (error: { response?: { statusCode?: number } }) => {
        assert.equal(error.response?.statusCode, 400);
        return true;
      },
    );
  });

  test('a missing secret is a 404 error for the client', async () => {
    await assert.rejects(
      vault.read('secret/data/apps/missing'),
      (error: { response?: { statusCode?: number } }) => {
        assert.equal(error.response?.statusCode, 404);
        return true;
      },
    );
  });
});
