import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Access } from '../../src/access/access.ts';
import { createToken } from '../../src/access/tokens.ts';
import { isTesseraError } from '../../src/errors.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import type { Store } from '../../src/store/store.ts';

const WEB = JSON.stringify({ rules: [{ path: 'apps/web/*', capabilities: ['read'] }] });
const NONE = JSON.stringify({ rules: [{ path: 'apps/web/*', capabilities: ['deny'] }] });

let store: Store;
let access: Access;
let policyReads = 0;

// Counts policy reads, so that a test can tell a cached decision from a fresh one.
function counting(inner: Store): Store {
  return new Proxy(inner, {
    get(target, property, receiver) {
      if (property === 'readPolicy') {
        return (name: string) => {
          policyReads += 1;
          return target.readPolicy(name);
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

beforeEach(async () => {
  policyReads = 0;
  store = counting(await openSqliteStore(':memory:'));
  access = new Access(store);
  await createToken(store, { policies: ['root'] });
});
afterEach(async () => {
  await store.close();
});

const web = { policies: ['web'] };

describe('Access', () => {
  it('authenticates a token', async () => {
    const { token, accessor } = await createToken(store, { policies: ['web'] });
    assert.equal((await access.authenticate(token)).accessor, accessor);
  });

  it('decides with stored policies', async () => {
    await access.writePolicy('web', WEB);
    assert.equal((await access.decide(web, 'read', 'apps/web/db')).allowed, true);
    assert.equal((await access.decide(web, 'read', 'apps/api/db')).allowed, false);
  });

  it('grants nothing for a policy that does not exist', async () => {
    const decision = await access.decide({ policies: ['missing'] }, 'read', 'apps/web/db');
    assert.equal(decision.allowed, false);
  });

  it('reads a policy once until it changes', async () => {
    await access.writePolicy('web', WEB);
    await access.decide(web, 'read', 'apps/web/a');
    await access.decide(web, 'read', 'apps/web/b');
    assert.equal(policyReads, 1);
  });

  it('drops the cache when a policy is written', async () => {
    await access.writePolicy('web', WEB);
    assert.equal((await access.decide(web, 'read', 'apps/web/db')).allowed, true);
    await access.writePolicy('web', NONE);
    assert.equal((await access.decide(web, 'read', 'apps/web/db')).allowed, false);
  });

  it('drops the cache when a policy is deleted', async () => {
    await access.writePolicy('web', WEB);
    assert.equal((await access.decide(web, 'read', 'apps/web/db')).allowed, true);
    assert.equal(await access.deletePolicy('web'), true);
    assert.equal((await access.decide(web, 'read', 'apps/web/db')).allowed, false);
    assert.equal(await access.deletePolicy('web'), false);
  });

  it('rejects writing or deleting the root policy', async () => {
    const isBuiltIn = (error: unknown) => {
      assert.ok(isTesseraError(error, 'INVALID_ARGUMENT'));
      assert.match(error.message, /'root' is built in/);
      return true;
    };
    await assert.rejects(access.writePolicy('root', WEB), isBuiltIn);
    await assert.rejects(access.deletePolicy('root'), isBuiltIn);
  });

  it('rejects an invalid policy without storing it', async () => {
    await assert.rejects(access.writePolicy('web', '{"rules": []}'), (error) => {
      assert.ok(isTesseraError(error, 'INVALID_ARGUMENT'));
      return true;
    });
    assert.equal(await store.readPolicy('web'), undefined);
  });

  it('lists policies with root', async () => {
    await access.writePolicy('web', WEB);
    await access.writePolicy('db', WEB);
    assert.deepEqual(await access.listPolicies(), ['db', 'root', 'web']);
  });

  it('reads the root policy as empty text', async () => {
    assert.equal(await access.readPolicy('root'), '');
    assert.equal(await access.readPolicy('web'), undefined);
  });

  it('loads a stored policy with a key twice', async () => {
    const rules = '[{"path": "a", "capabilities": ["list"], "capabilities": ["read"]}]';
    await store.savePolicy('older', `{"rules": ${rules}}`);
    const decision = await access.decide({ policies: ['older'] }, 'read', 'a');
    assert.equal(decision.allowed, true);
    await assert.rejects(access.writePolicy('older', `{"rules": ${rules}}`), (error) =>
      isTesseraError(error, 'INVALID_ARGUMENT'),
    );
  });

  it('reports a stored policy that no longer parses', async () => {
    await store.savePolicy('broken', '{"rules": 1}');
    await assert.rejects(access.decide({ policies: ['broken'] }, 'read', 'a'), (error) => {
      assert.ok(isTesseraError(error, 'INTERNAL'));
      assert.match(error.message, /stored policy 'broken' no longer parses/);
      return true;
    });
  });
});
