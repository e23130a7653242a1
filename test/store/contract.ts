import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { SealedValue } from '../../src/crypto/envelope.ts';
import { isTesseraError } from '../../src/errors.ts';
import type { PutRequest, Store, TokenRecord } from '../../src/store/store.ts';

// Stores never open sealed values, so the contract uses recognisable stand-ins.
function fakeSealed(tag: string, version: number): SealedValue {
  return {
    kekId: 1,
    wrappedKey: Buffer.from(`key:${tag}:${version}`),
    ciphertext: Buffer.from([0, 255, ...Buffer.from(`${tag}:${version}`)]),
  };
}

function write(path: string, options: { cas?: number; tag?: string } = {}): PutRequest {
  const tag = options.tag ?? path;
  return { path, cas: options.cas, author: 'accessor-1', seal: (v) => fakeSealed(tag, v) };
}

function token(accessor: string, parentAccessor: string | null = null): TokenRecord {
  return {
    accessor,
    hash: `hash-of-${accessor}`,
    policies: ['root', 'ops'],
    createdTime: '2024-01-02T03:04:05.000Z',
    expireTime: null,
    meta: { task: 'web.1' },
    parentAccessor,
    ttlSeconds: 0,
    maxTtlSeconds: 0,
    usesRemaining: null,
    renewable: false,
  };
}

async function putTimes(store: Store, path: string, count: number): Promise<void> {
  for (let index = 0; index < count; index++) {
    await store.putVersions([write(path)]);
  }
}

function isCasMismatch(error: unknown): boolean {
  return isTesseraError(error, 'CAS_MISMATCH');
}

/**
 * Registers the suite every Store adapter must pass. `open` returns a new, empty store for
 * each test; the suite closes it afterwards.
 */
export function storeContract(name: string, open: () => Promise<Store>): void {
  describe(`store contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    describe('versions', () => {
      it('numbers versions from 1', async () => {
        const [first] = await store.putVersions([write('db/password')]);
        const [second] = await store.putVersions([write('db/password')]);
        assert.equal(first?.version, 1);
        assert.equal(second?.version, 2);
        assert.equal(second?.author, 'accessor-1');
        assert.equal(second?.deletionTime, null);
        assert.equal(second?.destroyed, false);
      });

      it('passes the assigned version to seal', async () => {
        const seen: number[] = [];
        const seal = (version: number) => {
          seen.push(version);
          return fakeSealed('a', version);
        };
        await putTimes(store, 'a', 2);
        await store.putVersions([{ ...write('a'), seal }]);
        assert.deepEqual(seen, [3]);
      });

      it('reads the sealed bytes back unchanged', async () => {
        await putTimes(store, 'a/b', 2);
        const stored = await store.readVersion('a/b', 1);
        assert.deepEqual(stored?.sealed, fakeSealed('a/b', 1));
        assert.equal(stored?.info.version, 1);
      });

      it('reads the current version without a number', async () => {
        await putTimes(store, 'a/b', 3);
        const stored = await store.readVersion('a/b');
        assert.equal(stored?.info.version, 3);
        assert.deepEqual(stored?.sealed, fakeSealed('a/b', 3));
      });

      it('returns undefined for a missing secret or version', async () => {
        await putTimes(store, 'a', 1);
        assert.equal(await store.readVersion('missing'), undefined);
        assert.equal(await store.readVersion('a', 2), undefined);
        assert.equal(await store.readMetadata('missing'), undefined);
      });

      it('compares paths byte for byte', async () => {
        const composed = 'caf\u00e9';
        const decomposed = 'cafe\u0301';
        await store.putVersions([write(composed)]);
        assert.equal(await store.readVersion(decomposed), undefined);
        assert.equal(await store.readVersion('CAF\u00c9'), undefined);
      });

      it('writes two versions for one path in a batch', async () => {
        const infos = await store.putVersions([write('a'), write('a')]);
        assert.deepEqual(
          infos.map((info) => info.version),
          [1, 2],
        );
      });

      it('records metadata of every version', async () => {
        await putTimes(store, 'a', 2);
        const metadata = await store.readMetadata('a');
        assert.equal(metadata?.path, 'a');
        assert.equal(metadata?.currentVersion, 2);
        assert.equal(metadata?.oldestVersion, 1);
        assert.equal(metadata?.maxVersions, 0);
        assert.equal(metadata?.casRequired, false);
        assert.deepEqual(metadata?.customMetadata, {});
        assert.deepEqual(
          metadata?.versions.map((info) => info.version),
          [1, 2],
        );
        assert.ok(Date.parse(metadata?.createdTime ?? '') > 0);
      });

      it('serializes concurrent writes', async () => {
        const writes = Array.from({ length: 20 }, () => store.putVersions([write('busy')]));
        const versions = (await Promise.all(writes)).map(([info]) => info?.version);
        assert.deepEqual(
          versions.toSorted((a = 0, b = 0) => a - b),
          Array.from({ length: 20 }, (_, index) => index + 1),
        );
      });
    });

    describe('check-and-set', () => {
      it('cas 0 writes only a new secret', async () => {
        const [info] = await store.putVersions([write('a', { cas: 0 })]);
        assert.equal(info?.version, 1);
        await assert.rejects(store.putVersions([write('a', { cas: 0 })]), isCasMismatch);
      });

      it('cas N writes only over version N', async () => {
        await putTimes(store, 'a', 2);
        await assert.rejects(store.putVersions([write('a', { cas: 1 })]), isCasMismatch);
        const [info] = await store.putVersions([write('a', { cas: 2 })]);
        assert.equal(info?.version, 3);
      });

      it('reports the current version on mismatch', async () => {
        await putTimes(store, 'a', 2);
        const error = await store.putVersions([write('a', { cas: 7 })]).catch((e: unknown) => e);
        if (!isTesseraError(error, 'CAS_MISMATCH')) {
          assert.fail(`expected CAS_MISMATCH, got ${String(error)}`);
        }
        assert.equal(error.details?.currentVersion, 2);
        assert.match(error.message, /current version is 2/);
        assert.match(error.message, /retry with cas=2/);
      });

      it('lets exactly one of racing writers win', async () => {
        await putTimes(store, 'a', 1);
        const attempts = Array.from({ length: 10 }, () =>
          store.putVersions([write('a', { cas: 1 })]).then(
            () => 'written',
            (error: unknown) => (isCasMismatch(error) ? 'rejected' : 'other'),
          ),
        );
        const outcomes = await Promise.all(attempts);
        assert.equal(outcomes.filter((outcome) => outcome === 'written').length, 1);
        assert.equal(outcomes.filter((outcome) => outcome === 'rejected').length, 9);
      });

      it('rejects a write without cas when casRequired', async () => {
        await putTimes(store, 'a', 1);
        await store.writeMetadata('a', { casRequired: true });
        await assert.rejects(store.putVersions([write('a')]), isCasMismatch);
        const [info] = await store.putVersions([write('a', { cas: 1 })]);
        assert.equal(info?.version, 2);
      });

      it('rolls back the whole batch when one cas fails', async () => {
        await putTimes(store, 'existing', 1);
        const batch = [write('fresh'), write('existing'), write('existing', { cas: 5 })];
        await assert.rejects(store.putVersions(batch), isCasMismatch);
        assert.equal(await store.readMetadata('fresh'), undefined);
        assert.equal((await store.readMetadata('existing'))?.currentVersion, 1);
        assert.deepEqual(await store.list(''), ['existing']);
      });

      it('rolls back the whole batch when seal throws', async () => {
        const failing: PutRequest = {
          ...write('b'),
          seal: () => {
            throw new Error('seal failed');
          },
        };
        await assert.rejects(store.putVersions([write('a'), failing]), /seal failed/);
        assert.equal(await store.readMetadata('a'), undefined);
      });
    });

    describe('max versions', () => {
      it('keeps 10 versions by default', async () => {
        await putTimes(store, 'a', 12);
        const metadata = await store.readMetadata('a');
        assert.equal(metadata?.currentVersion, 12);
        assert.equal(metadata?.oldestVersion, 3);
        assert.equal(metadata?.versions.length, 10);
        assert.equal(await store.readVersion('a', 2), undefined);
        assert.equal((await store.readVersion('a', 3))?.info.version, 3);
      });

      it('keeps the number set in metadata', async () => {
        await store.writeMetadata('a', { maxVersions: 2 });
        await putTimes(store, 'a', 4);
        const metadata = await store.readMetadata('a');
        assert.equal(metadata?.maxVersions, 2);
        assert.deepEqual(
          metadata?.versions.map((info) => info.version),
          [3, 4],
        );
        assert.equal(metadata?.oldestVersion, 3);
      });

      it('applies a lower maximum at the next write', async () => {
        await putTimes(store, 'a', 5);
        await store.writeMetadata('a', { maxVersions: 2 });
        assert.equal((await store.readMetadata('a'))?.versions.length, 5);
        await putTimes(store, 'a', 1);
        const metadata = await store.readMetadata('a');
        assert.deepEqual(
          metadata?.versions.map((info) => info.version),
          [5, 6],
        );
      });
    });

    describe('metadata', () => {
      it('creates metadata without versions', async () => {
        const metadata = await store.writeMetadata('new', { casRequired: true });
        assert.equal(metadata.currentVersion, 0);
        assert.equal(metadata.oldestVersion, 0);
        assert.deepEqual(metadata.versions, []);
        assert.equal(await store.readVersion('new'), undefined);
        const [info] = await store.putVersions([write('new', { cas: 0 })]);
        assert.equal(info?.version, 1);
      });

      it('keeps the properties a patch omits', async () => {
        await store.writeMetadata('a', { maxVersions: 4, customMetadata: { team: 'db' } });
        const metadata = await store.writeMetadata('a', { casRequired: true });
        assert.equal(metadata.maxVersions, 4);
        assert.deepEqual(metadata.customMetadata, { team: 'db' });
        assert.equal(metadata.casRequired, true);
      });

      it('replaces custom metadata whole', async () => {
        await store.writeMetadata('a', { customMetadata: { team: 'db', tier: '1' } });
        const metadata = await store.writeMetadata('a', { customMetadata: { owner: 'ops' } });
        assert.deepEqual(metadata.customMetadata, { owner: 'ops' });
      });
    });

    describe('list', () => {
      beforeEach(async () => {
        const paths = ['b', 'a/x', 'a/y/z', 'a', 'ab', 'a/y', 'c%/d', 'c_/e', 'cc/f'];
        await store.putVersions(paths.map((path) => write(path)));
      });

      it('lists the root', async () => {
        assert.deepEqual(await store.list(''), ['a', 'a/', 'ab', 'b', 'c%/', 'c_/', 'cc/']);
      });

      it('lists a folder', async () => {
        assert.deepEqual(await store.list('a/'), ['x', 'y', 'y/']);
        assert.deepEqual(await store.list('a/y/'), ['z']);
      });

      it('treats % and _ as plain characters', async () => {
        assert.deepEqual(await store.list('c%/'), ['d']);
        assert.deepEqual(await store.list('c_/'), ['e']);
      });

      it('returns [] for an empty folder', async () => {
        assert.deepEqual(await store.list('nothing/'), []);
        assert.deepEqual(await store.list('b/'), []);
      });

      it('sorts by UTF-8 bytes', async () => {
        await store.putVersions([write('s/\u{1f511}'), write('s/\uff5e'), write('s/Z')]);
        assert.deepEqual(await store.list('s/'), ['Z', '\uff5e', '\u{1f511}']);
      });
    });

    describe('delete, undelete and destroy', () => {
      it('soft-deletes and undeletes versions', async () => {
        await putTimes(store, 'a', 3);
        assert.equal(await store.deleteVersions('a', [1, 3, 99]), true);
        const deleted = await store.readMetadata('a');
        assert.ok(deleted?.versions[0]?.deletionTime);
        assert.equal(deleted?.versions[1]?.deletionTime, null);
        assert.ok(deleted?.versions[2]?.deletionTime);
        assert.ok((await store.readVersion('a', 1))?.sealed, 'soft delete keeps ciphertext');

        assert.equal(await store.undeleteVersions('a', [1]), true);
        const restored = await store.readMetadata('a');
        assert.equal(restored?.versions[0]?.deletionTime, null);
        assert.ok(restored?.versions[2]?.deletionTime);
      });

      it('keeps the first deletion time', async () => {
        await putTimes(store, 'a', 1);
        await store.deleteVersions('a', [1]);
        const first = (await store.readVersion('a', 1))?.info.deletionTime;
        await new Promise((resolve) => setTimeout(resolve, 5));
        await store.deleteVersions('a', [1]);
        assert.equal((await store.readVersion('a', 1))?.info.deletionTime, first);
      });

      it('destroys versions for good', async () => {
        await putTimes(store, 'a', 2);
        assert.equal(await store.destroyVersions('a', [1]), true);
        const destroyed = await store.readVersion('a', 1);
        assert.equal(destroyed?.info.destroyed, true);
        assert.equal(destroyed?.sealed, null);
        assert.equal(await store.undeleteVersions('a', [1]), true);
        assert.equal((await store.readVersion('a', 1))?.info.destroyed, true);
        assert.deepEqual((await store.readVersion('a', 2))?.sealed, fakeSealed('a', 2));
      });

      it('returns false for a missing secret', async () => {
        assert.equal(await store.deleteVersions('missing', [1]), false);
        assert.equal(await store.undeleteVersions('missing', [1]), false);
        assert.equal(await store.destroyVersions('missing', [1]), false);
        assert.equal(await store.deleteSecret('missing'), false);
      });

      it('deletes a secret with all its versions', async () => {
        await putTimes(store, 'a', 3);
        await putTimes(store, 'a/b', 1);
        assert.equal(await store.deleteSecret('a'), true);
        assert.equal(await store.readMetadata('a'), undefined);
        assert.equal(await store.readVersion('a', 1), undefined);
        assert.deepEqual(await store.list(''), ['a/']);
        const [info] = await store.putVersions([write('a', { cas: 0 })]);
        assert.equal(info?.version, 1);
      });
    });

    describe('tokens', () => {
      it('finds a saved token by hash', async () => {
        await store.saveToken(token('acc-1'));
        assert.deepEqual(await store.findToken('hash-of-acc-1'), token('acc-1'));
        assert.deepEqual(await store.findTokenByAccessor('acc-1'), token('acc-1'));
      });

      it('returns undefined for an unknown hash', async () => {
        await store.saveToken(token('acc-1'));
        assert.equal(await store.findToken('hash-of-acc-2'), undefined);
        assert.equal(await store.findTokenByAccessor('acc-2'), undefined);
      });

      it('replaces a token with the same accessor', async () => {
        await store.saveToken(token('acc-1'));
        const updated = { ...token('acc-1'), expireTime: '2030-01-01T00:00:00.000Z' };
        await store.saveToken(updated);
        assert.deepEqual(await store.findToken('hash-of-acc-1'), updated);
      });

      it('rejects a hash that another accessor holds', async () => {
        await store.saveToken(token('acc-1'));
        const clash = { ...token('acc-2'), hash: 'hash-of-acc-1' };
        await assert.rejects(store.saveToken(clash), (error) => isTesseraError(error, 'INTERNAL'));
        assert.equal(await store.findTokenByAccessor('acc-2'), undefined);
      });

      it('deletes a token with its descendants', async () => {
        await store.saveToken(token('root'));
        await store.saveToken(token('child', 'root'));
        await store.saveToken(token('grandchild', 'child'));
        await store.saveToken(token('other'));
        assert.deepEqual(await store.deleteToken('child'), ['child', 'grandchild']);
        assert.equal(await store.findToken('hash-of-grandchild'), undefined);
        assert.ok(await store.findToken('hash-of-root'));
        assert.deepEqual(await store.deleteToken('child'), []);
      });

      it('keeps lifetime and use fields', async () => {
        const limited = {
          ...token('acc-1'),
          expireTime: '2030-01-01T00:00:00.000Z',
          ttlSeconds: 60,
          maxTtlSeconds: 3600,
          usesRemaining: 5,
          renewable: true,
        };
        await store.saveToken(limited);
        assert.deepEqual(await store.findTokenByAccessor('acc-1'), limited);
      });

      it('leaves an unlimited token as it is on use', async () => {
        await store.saveToken(token('acc-1'));
        assert.deepEqual(await store.useToken('hash-of-acc-1'), token('acc-1'));
        assert.deepEqual(await store.findToken('hash-of-acc-1'), token('acc-1'));
      });

      it('counts down the uses of a token', async () => {
        await store.saveToken({ ...token('acc-1'), usesRemaining: 2 });
        const first = await store.useToken('hash-of-acc-1');
        assert.equal(first?.usesRemaining, 2);
        assert.equal((await store.findToken('hash-of-acc-1'))?.usesRemaining, 1);
      });

      it('removes a token with its descendants at its last use', async () => {
        await store.saveToken({ ...token('acc-1'), usesRemaining: 1 });
        await store.saveToken(token('child', 'acc-1'));
        const last = await store.useToken('hash-of-acc-1');
        assert.equal(last?.usesRemaining, 1);
        assert.equal(await store.findToken('hash-of-acc-1'), undefined);
        assert.equal(await store.findTokenByAccessor('child'), undefined);
        assert.equal(await store.useToken('hash-of-acc-1'), undefined);
      });

      it('grants each use once under concurrency', async () => {
        await store.saveToken({ ...token('acc-1'), usesRemaining: 3 });
        const uses = await Promise.all(
          Array.from({ length: 8 }, () => store.useToken('hash-of-acc-1')),
        );
        const granted = uses.filter((record) => record !== undefined);
        assert.equal(granted.length, 3);
        assert.deepEqual(
          granted.map((record) => record?.usesRemaining),
          [3, 2, 1],
        );
      });

      it('returns undefined when using an unknown hash', async () => {
        assert.equal(await store.useToken('hash-of-nobody'), undefined);
      });

      it('updates the expiry of a token', async () => {
        await store.saveToken(token('acc-1'));
        const expireTime = '2031-02-03T04:05:06.000Z';
        const updated = await store.updateToken('acc-1', { expireTime });
        assert.deepEqual(updated, { ...token('acc-1'), expireTime });
        assert.equal((await store.findToken('hash-of-acc-1'))?.expireTime, expireTime);
        assert.equal(await store.updateToken('acc-2', { expireTime }), undefined);
      });

      it('counts and lists tokens', async () => {
        assert.equal(await store.countTokens(), 0);
        assert.deepEqual(await store.listTokenAccessors(), []);
        await store.saveToken(token('b'));
        await store.saveToken(token('a', 'b'));
        assert.equal(await store.countTokens(), 2);
        assert.deepEqual(await store.listTokenAccessors(), ['a', 'b']);
      });
    });

    describe('policies', () => {
      const web = '{"rules": [{"path": "apps/web/*", "capabilities": ["read"]}]}';

      it('reads a saved policy', async () => {
        await store.savePolicy('web', web);
        assert.equal(await store.readPolicy('web'), web);
      });

      it('returns undefined for an unknown policy', async () => {
        assert.equal(await store.readPolicy('web'), undefined);
      });

      it('replaces a policy with the same name', async () => {
        await store.savePolicy('web', web);
        await store.savePolicy('web', '{"rules": []}');
        assert.equal(await store.readPolicy('web'), '{"rules": []}');
        assert.deepEqual(await store.listPolicies(), ['web']);
      });

      it('lists policies sorted by name', async () => {
        await store.savePolicy('web', web);
        await store.savePolicy('db-admin', web);
        await store.savePolicy('ops_2', web);
        assert.deepEqual(await store.listPolicies(), ['db-admin', 'ops_2', 'web']);
      });

      it('deletes a policy', async () => {
        await store.savePolicy('web', web);
        assert.equal(await store.deletePolicy('web'), true);
        assert.equal(await store.readPolicy('web'), undefined);
        assert.equal(await store.deletePolicy('web'), false);
        assert.deepEqual(await store.listPolicies(), []);
      });
    });

    describe('stage labels', () => {
      it('moves current on plain writes', async () => {
        await putTimes(store, 'a', 2);
        const metadata = await store.readMetadata('a');
        assert.deepEqual(metadata?.stages, { current: 2, previous: 1, pending: null });
      });

      it('keeps reads on current while pending', async () => {
        await putTimes(store, 'a', 1);
        const [pending] = await store.putVersions([{ ...write('a'), stage: 'pending' }]);
        assert.equal(pending?.version, 2);
        assert.equal((await store.readVersion('a'))?.info.version, 1);
        const metadata = await store.readMetadata('a');
        assert.deepEqual(metadata?.stages, { current: 1, previous: null, pending: 2 });
        assert.equal(metadata?.currentVersion, 2);
      });

      it('promotes pending to current', async () => {
        await putTimes(store, 'a', 1);
        await store.putVersions([{ ...write('a'), stage: 'pending' }]);
        const labels = await store.promoteVersion('a', 2);
        assert.deepEqual(labels, { current: 2, previous: 1, pending: null });
        assert.equal((await store.readVersion('a'))?.info.version, 2);
      });

      it('rejects promoting a missing version', async () => {
        await putTimes(store, 'a', 1);
        assert.equal(await store.promoteVersion('a', 5), undefined);
        assert.equal(await store.promoteVersion('missing', 1), undefined);
      });

      it('clears and sets pending', async () => {
        await putTimes(store, 'a', 2);
        assert.deepEqual(await store.setPending('a', 1), { current: 2, previous: 1, pending: 1 });
        assert.deepEqual(await store.setPending('a', null), {
          current: 2,
          previous: 1,
          pending: null,
        });
        assert.equal(await store.setPending('a', 9), undefined);
      });

      it('keeps labelled versions past max versions', async () => {
        await store.writeMetadata('a', { maxVersions: 2 });
        await putTimes(store, 'a', 1);
        await putTimes(store, 'a', 1);
        await store.promoteVersion('a', 1);
        await putTimes(store, 'a', 2);
        const metadata = await store.readMetadata('a');
        const kept = metadata?.versions.map((info) => info.version);
        assert.deepEqual(kept, [3, 4]);
        await store.promoteVersion('a', 3);
        await store.putVersions([{ ...write('a'), stage: 'pending' }]);
        const after = await store.readMetadata('a');
        assert.deepEqual(after?.stages, { current: 3, previous: 4, pending: 5 });
        assert.deepEqual(
          after?.versions.map((info) => info.version),
          [3, 4, 5],
        );
        assert.equal(after?.oldestVersion, 3);
      });
    });

    describe('rotation records', () => {
      const record = (path: string, state = '{}') => ({
        path,
        policy: '{"schedule":{"interval":"1h"}}',
        state,
        nextRunTime: '2024-01-01T00:00:00.000Z',
        updatedTime: '2024-01-01T00:00:00.000Z',
      });

      it('saves, replaces and lists records', async () => {
        await store.saveRotation(record('b'));
        await store.saveRotation(record('a'));
        await store.saveRotation(record('a', '{"step":"set"}'));
        assert.equal((await store.readRotation('a'))?.state, '{"step":"set"}');
        assert.deepEqual(
          (await store.listRotations()).map((entry) => entry.path),
          ['a', 'b'],
        );
        assert.notEqual(await store.readMetadata('b'), undefined);
      });

      it('deletes records, also with their secret', async () => {
        await store.saveRotation(record('a'));
        await store.saveRotation(record('b'));
        assert.equal(await store.deleteRotation('a'), true);
        assert.equal(await store.deleteRotation('a'), false);
        await store.deleteSecret('b');
        assert.equal(await store.readRotation('b'), undefined);
      });
    });

    describe('login roles', () => {
      const role = '{"policies": ["billing-read"], "framework_names": ["marathon"]}';

      it('saves, replaces, lists and deletes roles', async () => {
        await store.saveLoginRole('billing', role);
        await store.saveLoginRole('audit', role);
        await store.saveLoginRole('billing', '{"policies": []}');
        assert.equal(await store.readLoginRole('billing'), '{"policies": []}');
        assert.equal(await store.readLoginRole('nobody'), undefined);
        assert.deepEqual(await store.listLoginRoles(), ['audit', 'billing']);
        assert.equal(await store.deleteLoginRole('billing'), true);
        assert.equal(await store.deleteLoginRole('billing'), false);
        assert.deepEqual(await store.listLoginRoles(), ['audit']);
      });

      it('keeps roles apart from policies', async () => {
        await store.saveLoginRole('web', role);
        assert.equal(await store.readPolicy('web'), undefined);
        assert.deepEqual(await store.listPolicies(), []);
      });
    });

    describe('task logins', () => {
      const login = (taskId: string, loginTime: string, frameworkId = 'framework-1') => ({
        frameworkId,
        taskId,
        accessor: `accessor-of-${taskId}`,
        loginTime,
        endedTime: null,
      });

      it('lets a task log in once', async () => {
        assert.equal(await store.claimTaskLogin(login('web.1', '2024-01-01T00:00:00.000Z')), true);
        const again = { ...login('web.1', '2024-01-01T00:05:00.000Z'), accessor: 'other' };
        assert.equal(await store.claimTaskLogin(again), false);
        assert.deepEqual(
          await store.findTaskLogin('framework-1', 'web.1'),
          login('web.1', '2024-01-01T00:00:00.000Z'),
        );
      });

      it('tells tasks of two frameworks apart', async () => {
        assert.equal(await store.claimTaskLogin(login('web.1', '2024-01-01T00:00:00.000Z')), true);
        const other = login('web.1', '2024-01-01T00:00:00.000Z', 'framework-2');
        assert.equal(await store.claimTaskLogin(other), true);
        assert.equal(await store.findTaskLogin('framework-3', 'web.1'), undefined);
      });

      it('lists running logins oldest first and records ends', async () => {
        await store.claimTaskLogin(login('b', '2024-01-01T00:02:00.000Z'));
        await store.claimTaskLogin(login('a', '2024-01-01T00:01:00.000Z'));
        await store.claimTaskLogin(login('c', '2024-01-01T00:03:00.000Z'));
        assert.equal(
          await store.endTaskLogin('framework-1', 'b', '2024-01-01T01:00:00.000Z'),
          true,
        );
        assert.equal(
          await store.endTaskLogin('framework-1', 'b', '2024-01-01T02:00:00.000Z'),
          false,
        );
        assert.equal(
          await store.endTaskLogin('framework-1', 'none', '2024-01-01T02:00:00.000Z'),
          false,
        );
        assert.deepEqual(
          (await store.listRunningTaskLogins()).map((entry) => entry.taskId),
          ['a', 'c'],
        );
        const ended = await store.findTaskLogin('framework-1', 'b');
        assert.equal(ended?.endedTime, '2024-01-01T01:00:00.000Z');
      });

      it('deletes logins made before a time', async () => {
        await store.claimTaskLogin(login('old', '2024-01-01T00:00:00.000Z'));
        await store.claimTaskLogin(login('new', '2024-01-02T00:00:00.000Z'));
        assert.equal(await store.deleteTaskLoginsBefore('2024-01-01T12:00:00.000Z'), 1);
        assert.equal(await store.findTaskLogin('framework-1', 'old'), undefined);
        assert.notEqual(await store.findTaskLogin('framework-1', 'new'), undefined);
      });

      it('lets one of many concurrent claims win', async () => {
        const claims = Array.from({ length: 8 }, (_, index) =>
          store.claimTaskLogin({
            ...login('race', '2024-01-01T00:00:00.000Z'),
            accessor: `a${index}`,
          }),
        );
        const won = (await Promise.all(claims)).filter(Boolean);
        assert.equal(won.length, 1);
      });
    });

    describe('close', () => {
      it('rejects calls after close', async () => {
        await store.close();
        await assert.rejects(store.readMetadata('a'), (error) => isTesseraError(error, 'INTERNAL'));
        await store.close();
      });
    });
  });
}
