import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Access } from '../../src/access/access.ts';
import { authenticate, createToken, revoke } from '../../src/access/tokens.ts';
import { isTesseraError } from '../../src/errors.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import type { Store } from '../../src/store/store.ts';

const ADMIN = JSON.stringify({
  rules: [
    { path: 'sys/tokens/*', capabilities: ['admin'] },
    { path: 'sys/policies/+', capabilities: ['admin'] },
  ],
});

let store: Store;
let access: Access;
let root: { token: string; accessor: string };

beforeEach(async () => {
  store = await openSqliteStore(':memory:');
  access = new Access(store);
  root = await createToken(store, { policies: ['root'], meta: { created_by: 'set-up' } });
  await access.writePolicy('admin', ADMIN);
});
afterEach(async () => {
  await store.close();
});

function isLastAdmin(error: unknown): boolean {
  assert.ok(isTesseraError(error, 'LAST_ADMIN_TOKEN'), String(error));
  assert.match(error.message, /would leave no token that can manage tokens and policies/);
  return true;
}

describe('revoking the last administrator token', () => {
  it('is rejected for the set-up root token alone', async () => {
    await assert.rejects(revoke(store, root.accessor), isLastAdmin);
    assert.ok(await store.findTokenByAccessor(root.accessor));
  });

  it('is allowed once another administrator token exists', async () => {
    const admin = await createToken(store, { policies: ['admin'] });
    assert.deepEqual(await revoke(store, root.accessor), [root.accessor]);
    await assert.rejects(revoke(store, admin.accessor), isLastAdmin);
  });

  it('ignores an administrator token that expires', async () => {
    await createToken(store, { policies: ['admin'], ttlSeconds: 3600 });
    await assert.rejects(revoke(store, root.accessor), isLastAdmin);
  });

  it('ignores an administrator token with a use limit', async () => {
    await createToken(store, { policies: ['admin'], numUses: 100 });
    await assert.rejects(revoke(store, root.accessor), isLastAdmin);
  });

  it('ignores a token with admin on one accessor only', async () => {
    await access.writePolicy(
      'narrow',
      JSON.stringify({
        rules: [
          { path: 'sys/tokens/abc', capabilities: ['admin'] },
          { path: 'sys/policies/*', capabilities: ['admin'] },
        ],
      }),
    );
    await createToken(store, { policies: ['narrow'] });
    await assert.rejects(revoke(store, root.accessor), isLastAdmin);
  });

  it('counts descendants of the revoked token as removed', async () => {
    const creator = await authenticate(store, root.token);
    await createToken(store, { policies: ['admin'], creator });
    await assert.rejects(revoke(store, root.accessor), isLastAdmin);
  });

  it('lets ordinary tokens be revoked', async () => {
    const web = await createToken(store, { policies: ['web'] });
    assert.deepEqual(await revoke(store, web.accessor), [web.accessor]);
  });

  it('allows only one of two concurrent revocations', async () => {
    const admin = await createToken(store, { policies: ['admin'] });
    const results = await Promise.allSettled([
      revoke(store, root.accessor),
      revoke(store, admin.accessor),
    ]);
    const done = results.filter((result) => result.status === 'fulfilled');
    assert.equal(done.length, 1);
  });
});

describe('changing the policy of the last administrator token', () => {
  let adminAccessor: string;
  beforeEach(async () => {
    adminAccessor = (await createToken(store, { policies: ['admin'] })).accessor;
    await revoke(store, root.accessor);
  });

  it('rejects a rewrite that drops admin', async () => {
    const readOnly = JSON.stringify({ rules: [{ path: 'sys/*', capabilities: ['read'] }] });
    await assert.rejects(access.writePolicy('admin', readOnly), isLastAdmin);
    assert.equal(await store.readPolicy('admin'), ADMIN);
  });

  it('rejects deleting the policy', async () => {
    await assert.rejects(access.deletePolicy('admin'), isLastAdmin);
  });

  it('rejects a deny written in another policy of the token', async () => {
    await createToken(store, { policies: ['admin', 'lockdown'] });
    await revoke(store, adminAccessor);
    const deny = JSON.stringify({ rules: [{ path: 'sys/*', capabilities: ['deny'] }] });
    await assert.rejects(access.writePolicy('lockdown', deny), isLastAdmin);
    assert.equal(await store.readPolicy('lockdown'), undefined);
  });

  it('allows a rewrite that keeps admin', async () => {
    const wider = JSON.stringify({ rules: [{ path: 'sys/*', capabilities: ['admin'] }] });
    await access.writePolicy('admin', wider);
    assert.equal(await store.readPolicy('admin'), wider);
  });
});
