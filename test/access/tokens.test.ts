import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  authenticate,
  type Caller,
  createToken,
  hashToken,
  lookup,
  renew,
  revoke,
} from '../../src/access/tokens.ts';
import { isTesseraError } from '../../src/errors.ts';
import { SQLITE_MIGRATIONS } from '../../src/store/migrations.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import type { Store } from '../../src/store/store.ts';

let store: Store;

beforeEach(async () => {
  store = await openSqliteStore(':memory:');
});
afterEach(async () => {
  await store.close();
});

async function rootCaller(): Promise<Caller> {
  const { token } = await createToken(store, { policies: ['root'] });
  return authenticate(store, token);
}

function isCode(code: Parameters<typeof isTesseraError>[1]) {
  return (error: unknown) => {
    assert.ok(isTesseraError(error, code), `expected ${code}, got ${String(error)}`);
    return true;
  };
}

const invalidToken = (error: unknown) => {
  assert.ok(isTesseraError(error, 'PERMISSION_DENIED'), String(error));
  assert.equal(error.message, 'permission denied: the token is invalid or expired');
  return true;
};

describe('createToken', () => {
  it('issues a prefixed token of 32 random bytes', async () => {
    const { token, accessor } = await createToken(store, { policies: ['web'] });
    assert.match(token, /^tsr_[A-Za-z0-9_-]{43}$/);
    assert.match(accessor, /^[0-9a-f]{32}$/);
  });

  it('stores only the hash of the token', async () => {
    const { token, accessor } = await createToken(store, { policies: ['web'] });
    const record = await store.findTokenByAccessor(accessor);
    assert.equal(record?.hash, hashToken(token));
    assert.ok(!JSON.stringify(record).includes(token.slice(4)));
  });

  it('records lifetime, uses and renewability', async () => {
    const created = await createToken(store, {
      policies: ['web', 'web', 'db'],
      ttlSeconds: 60,
      maxTtlSeconds: 600,
      numUses: 3,
      renewable: false,
    });
    const { info } = created;
    assert.deepEqual(info.policies, ['web', 'db']);
    assert.equal(info.ttlSeconds, 60);
    assert.equal(info.maxTtlSeconds, 600);
    assert.equal(info.usesRemaining, 3);
    assert.equal(info.renewable, false);
    const lifetime = Date.parse(info.expireTime ?? '') - Date.parse(info.createdTime);
    assert.equal(lifetime, 60_000);
    assert.deepEqual(created.warnings, []);
  });

  it('never expires without a TTL', async () => {
    const { info } = await createToken(store, { policies: ['web'] });
    assert.equal(info.expireTime, null);
    assert.equal(info.usesRemaining, null);
    assert.equal(info.renewable, true);
  });

  it('caps the TTL at the max TTL with a warning', async () => {
    const { info, warnings } = await createToken(store, {
      policies: ['web'],
      ttlSeconds: 7200,
      maxTtlSeconds: 3600,
    });
    assert.equal(info.ttlSeconds, 3600);
    assert.deepEqual(warnings, [
      'TTL of "2h" exceeded the effective max_ttl of "1h"; TTL value is capped accordingly',
    ]);
  });

  it('rejects an empty policy list', async () => {
    await assert.rejects(createToken(store, { policies: [] }), isCode('INVALID_ARGUMENT'));
  });

  it('rejects an invalid policy name', async () => {
    await assert.rejects(createToken(store, { policies: ['Web'] }), isCode('INVALID_ARGUMENT'));
  });

  it('rejects a negative TTL', async () => {
    const options = { policies: ['web'], ttlSeconds: -1 };
    await assert.rejects(createToken(store, options), isCode('INVALID_ARGUMENT'));
  });
});

describe('child tokens', () => {
  it('records the creator and its task', async () => {
    const { token } = await createToken(store, { policies: ['web'], taskId: 'web.1' });
    const creator = await authenticate(store, token);
    const child = await createToken(store, { policies: ['web'], creator, meta: { team: 'a' } });
    assert.deepEqual(child.info.meta, {
      team: 'a',
      created_by: creator.accessor,
      task_id: 'web.1',
    });
    assert.equal(child.info.parentAccessor, creator.accessor);
  });

  it('rejects meta keys that Tessera sets', async () => {
    const creator = await rootCaller();
    for (const key of ['created_by', 'task_id']) {
      const options = { policies: ['web'], creator, meta: { [key]: 'forged' } };
      await assert.rejects(createToken(store, options), isCode('INVALID_ARGUMENT'));
    }
  });

  it('needs policies that are a subset of the creator', async () => {
    const { token } = await createToken(store, { policies: ['web', 'db'] });
    const creator = await authenticate(store, token);
    const subset = await createToken(store, { policies: ['db'], creator });
    assert.deepEqual(subset.info.policies, ['db']);
    await assert.rejects(createToken(store, { policies: ['web', 'ops'], creator }), (error) => {
      assert.ok(isTesseraError(error, 'PERMISSION_DENIED'));
      assert.match(error.message, /'ops' is not among them/);
      return true;
    });
    const root = { policies: ['root'], creator };
    await assert.rejects(createToken(store, root), isCode('PERMISSION_DENIED'));
  });

  it('lets a root creator grant any policy', async () => {
    const creator = await rootCaller();
    const child = await createToken(store, { policies: ['anything', 'root'], creator });
    assert.deepEqual(child.info.policies, ['anything', 'root']);
  });

  it('does not outlive its parent', async () => {
    const { token } = await createToken(store, { policies: ['web'], ttlSeconds: 60 });
    const creator = await authenticate(store, token);
    const parentExpiry = Date.parse(creator.info.expireTime ?? '');

    const unlimited = await createToken(store, { policies: ['web'], creator });
    assert.ok(Date.parse(unlimited.info.expireTime ?? '') <= parentExpiry);
    assert.ok(unlimited.info.maxTtlSeconds <= 60);

    const long = await createToken(store, { policies: ['web'], creator, maxTtlSeconds: 3600 });
    assert.ok(Date.parse(long.info.expireTime ?? '') <= parentExpiry);
    assert.match(long.warnings[0] ?? '', /capped at the parent token's remaining/);
  });

  it('warns when its TTL is capped at the parent', async () => {
    const { token } = await createToken(store, { policies: ['web'], ttlSeconds: 60 });
    const creator = await authenticate(store, token);
    const child = await createToken(store, { policies: ['web'], creator, ttlSeconds: 3600 });
    assert.ok(child.info.ttlSeconds <= 60);
    assert.equal(child.warnings.length, 1);
    assert.match(child.warnings[0] ?? '', /^TTL of "1h" exceeded the effective max_ttl of "/);
    const unlimited = await createToken(store, { policies: ['web'], creator });
    assert.deepEqual(unlimited.warnings, []);
  });

  it('cannot be created by a use-limited token', async () => {
    const { token } = await createToken(store, { policies: ['root'], numUses: 5 });
    const creator = await authenticate(store, token);
    await assert.rejects(createToken(store, { policies: ['web'], creator }), (error) => {
      assert.ok(isTesseraError(error, 'PERMISSION_DENIED'));
      assert.match(error.message, /use limit cannot create child tokens/);
      return true;
    });
  });
});

describe('authenticate', () => {
  it('returns the caller without the token', async () => {
    const { token, accessor } = await createToken(store, { policies: ['web'], taskId: 't1' });
    const caller = await authenticate(store, token);
    assert.equal(caller.accessor, accessor);
    assert.deepEqual(caller.policies, ['web']);
    assert.deepEqual(caller.meta, { task_id: 't1' });
    assert.ok(!JSON.stringify(caller).includes(token));
  });

  it('rejects a missing token', async () => {
    await assert.rejects(authenticate(store, undefined), isCode('TOKEN_MISSING'));
    await assert.rejects(authenticate(store, ''), isCode('TOKEN_MISSING'));
  });

  it('rejects an unknown token', async () => {
    await assert.rejects(authenticate(store, `tsr_${'A'.repeat(43)}`), invalidToken);
    await assert.rejects(authenticate(store, 'not-a-token'), invalidToken);
  });

  it('stops accepting a token once it expires', async () => {
    const { token, accessor } = await createToken(store, { policies: ['web'], ttlSeconds: 1 });
    await authenticate(store, token);
    await sleep(1100);
    await assert.rejects(authenticate(store, token), invalidToken);
    assert.equal(await store.findTokenByAccessor(accessor), undefined);
  });

  it('accepts a token with two uses twice', async () => {
    const { token, accessor } = await createToken(store, { policies: ['web'], numUses: 2 });
    const first = await authenticate(store, token);
    assert.equal(first.info.usesRemaining, 1);
    const second = await authenticate(store, token);
    assert.equal(second.info.usesRemaining, 0);
    await assert.rejects(authenticate(store, token), invalidToken);
    assert.equal(await store.findTokenByAccessor(accessor), undefined);
  });

  it('grants each use once under concurrency', async () => {
    const { token } = await createToken(store, { policies: ['web'], numUses: 3 });
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => authenticate(store, token)),
    );
    const granted = results.filter((result) => result.status === 'fulfilled');
    assert.equal(granted.length, 3);
  });
});

describe('lookup', () => {
  it('returns metadata without the hash', async () => {
    const { accessor } = await createToken(store, { policies: ['web'] });
    const info = await lookup(store, accessor);
    assert.equal(info.accessor, accessor);
    assert.equal('hash' in info, false);
  });

  it('rejects an unknown accessor', async () => {
    await assert.rejects(lookup(store, 'nobody'), isCode('NOT_FOUND'));
  });
});

describe('renew', () => {
  it('extends a token past its first expiry', async () => {
    const { token, accessor } = await createToken(store, { policies: ['web'], ttlSeconds: 1 });
    const renewal = await renew(store, accessor, 30);
    assert.equal(renewal.leaseSeconds, 30);
    assert.deepEqual(renewal.warnings, []);
    await sleep(1100);
    const caller = await authenticate(store, token);
    assert.equal(caller.accessor, accessor);
  });

  it('renews by the token TTL by default', async () => {
    const { accessor } = await createToken(store, { policies: ['web'], ttlSeconds: 120 });
    const renewal = await renew(store, accessor);
    assert.equal(renewal.leaseSeconds, 120);
  });

  it('caps a renewal at the max TTL with a warning', async () => {
    const created = await createToken(store, {
      policies: ['web'],
      ttlSeconds: 60,
      maxTtlSeconds: 600,
    });
    const renewal = await renew(store, created.accessor, 3600);
    const maxExpiry = Date.parse(created.info.createdTime) + 600_000;
    assert.equal(Date.parse(renewal.info.expireTime ?? ''), maxExpiry);
    assert.ok(renewal.leaseSeconds <= 600);
    assert.equal(renewal.warnings.length, 1);
    assert.match(
      renewal.warnings[0] ?? '',
      /^TTL of "1h" exceeded the effective max_ttl of "(9m\d+s|10m)"; TTL value is capped accordingly$/,
    );
  });

  it('expires at the max TTL despite renewal', async () => {
    const created = await createToken(store, {
      policies: ['web'],
      ttlSeconds: 1,
      maxTtlSeconds: 2,
    });
    await renew(store, created.accessor, 60);
    await sleep(2100);
    await assert.rejects(renew(store, created.accessor, 60), isCode('NOT_FOUND'));
  });

  it('rejects a token that is not renewable', async () => {
    const options = { policies: ['web'], ttlSeconds: 60, renewable: false };
    const { accessor } = await createToken(store, options);
    await assert.rejects(renew(store, accessor), (error) => {
      assert.ok(isTesseraError(error, 'INVALID_ARGUMENT'));
      assert.match(error.message, /is not renewable/);
      return true;
    });
  });

  it('rejects a token that never expires', async () => {
    const { accessor } = await createToken(store, { policies: ['web'] });
    await assert.rejects(renew(store, accessor), (error) => {
      assert.ok(isTesseraError(error, 'INVALID_ARGUMENT'));
      assert.match(error.message, /never expires/);
      return true;
    });
  });
});

describe('revoke', () => {
  it('revokes children and grandchildren', async () => {
    const root = await rootCaller();
    const parent = await createToken(store, { policies: ['web'], creator: root });
    const parentCaller = await authenticate(store, parent.token);
    const child = await createToken(store, { policies: ['web'], creator: parentCaller });
    const grandchild = await createToken(store, {
      policies: ['web'],
      creator: await authenticate(store, child.token),
    });
    const sibling = await createToken(store, { policies: ['web'], creator: root });

    const revoked = await revoke(store, parent.accessor);
    assert.deepEqual(
      new Set(revoked),
      new Set([parent.accessor, child.accessor, grandchild.accessor]),
    );
    assert.equal(revoked[0], parent.accessor);
    for (const token of [parent.token, child.token, grandchild.token]) {
      await assert.rejects(authenticate(store, token), invalidToken);
    }
    assert.equal((await authenticate(store, sibling.token)).accessor, sibling.accessor);
  });

  it('rejects an unknown accessor', async () => {
    await assert.rejects(revoke(store, 'nobody'), isCode('NOT_FOUND'));
  });
});

describe('a token from schema version 1', () => {
  it('keeps working after the upgrade', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'tessera-upgrade-'));
    try {
      const file = join(directory, 'v1.db');
      const token = `tsr_${'b'.repeat(43)}`;
      const db = new DatabaseSync(file);
      db.exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,
        applied_time TEXT NOT NULL) STRICT`);
      db.exec(SQLITE_MIGRATIONS[0]?.sql ?? '');
      db.prepare("INSERT INTO schema_migrations VALUES (1, 'v1', 'then')").run();
      db.prepare(`INSERT INTO tokens VALUES ('old', ?, '["root"]', '2024-01-01T00:00:00.000Z',
        NULL, '{}', NULL)`).run(hashToken(token));
      db.close();

      const upgraded = await openSqliteStore(file);
      try {
        const caller = await authenticate(upgraded, token);
        assert.equal(caller.accessor, 'old');
        assert.equal(caller.info.renewable, false);
        assert.equal(caller.info.usesRemaining, null);
      } finally {
        await upgraded.close();
      }
      const bytes = await readFile(file);
      assert.equal(bytes.indexOf(token), -1);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
