import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { removeExpiredTokens } from '../../src/access/tidy.ts';
import { authenticate, createToken } from '../../src/access/tokens.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { request, startTestServer } from '../helpers/server.ts';

describe('removeExpiredTokens', () => {
  it('removes expired tokens and their children only', async () => {
    const store = await openSqliteStore(':memory:');
    try {
      const lasting = await createToken(store, { policies: ['default'] });
      const expiring = await createToken(store, { policies: ['default'], ttlSeconds: 60 });
      const child = await createToken(store, {
        policies: ['default'],
        creator: await authenticate(store, expiring.token),
      });
      assert.equal(await store.countTokens(), 3);

      assert.equal(await removeExpiredTokens(store), 0);
      const later = Date.now() + 61_000;
      assert.equal(await removeExpiredTokens(store, later), 2);
      assert.deepEqual(await store.listTokenAccessors(), [lasting.accessor]);
      assert.equal(await store.findTokenByAccessor(child.accessor), undefined);
    } finally {
      await store.close();
    }
  });
});

describe('the server removes expired tokens', () => {
  it('removes a token after its TTL without it being sent again', async () => {
    const server = await startTestServer({ tokenTidyMs: 100 });
    after(() => server.close());
    const created = await request(server, 'POST', '/v1/auth/token/create', {
      policies: ['default'],
      ttl: '1s',
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const { accessor } = created.body.auth;
    await sleep(1500);
    assert.match(server.log(), /"removed":1,.*"msg":"removed expired tokens"/);
    const lookup = await request(server, 'POST', '/v1/auth/token/lookup-accessor', { accessor });
    assert.notEqual(lookup.status, 200);
  });
});
