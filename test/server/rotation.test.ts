import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { request, startTestServer, type TestServer } from '../helpers/server.ts';

const ISSUING_HOOK = join(import.meta.dirname, '..', 'fixtures', 'rotation', 'issuing-hook.mjs');

const value = (text: string) => ({ fields: { value: Buffer.from(text).toString('base64') } });

async function readValue(server: TestServer, path: string): Promise<string> {
  const read = await request(server, 'GET', `/v1/tessera/data/${path}`);
  return Buffer.from(read.body.data.fields.value, 'base64').toString();
}

describe('rotation routes', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it('rolls back and promotes with history', async () => {
    await request(server, 'POST', '/v1/tessera/data/stage/a', value('one'));
    await request(server, 'POST', '/v1/tessera/data/stage/a', value('two'));
    const back = await request(server, 'POST', '/v1/tessera/rollback/stage/a', { version: 1 });
    assert.equal(back.status, 200);
    assert.deepEqual(back.body.data.stages, { current: 1, previous: 2, pending: null });
    assert.equal(await readValue(server, 'stage/a'), 'one');
    const kv = await request(server, 'GET', '/v1/secret/data/stage/a');
    assert.equal(kv.body.data.data.value, 'one');

    const forward = await request(server, 'POST', '/v1/tessera/promote/stage/a', { version: 2 });
    assert.deepEqual(forward.body.data.stages, { current: 2, previous: 1, pending: null });
    const history = await request(server, 'GET', '/v1/tessera/history/stage/a');
    assert.deepEqual(
      history.body.data.versions.map((v: { stages: string[] }) => v.stages),
      [['previous'], ['current']],
    );
  });

  it('rotates without a hook and serves the new value', async () => {
    await request(server, 'POST', '/v1/tessera/data/stage/b', value('before'));
    const policy = {
      schedule: { cron: '0 3 * * *' },
      generator: { type: 'bytes', encoding: 'hex' },
    };
    const set = await request(server, 'PUT', '/v1/tessera/rotation/stage/b', policy);
    assert.equal(set.status, 200);
    assert.match(set.body.data.next_run_time, /T03:00:00.000Z$/);
    const rotated = await request(server, 'POST', '/v1/tessera/rotate/stage/b', {});
    assert.equal(rotated.body.data.outcome, 'succeeded');
    assert.match(await readValue(server, 'stage/b'), /^[0-9a-f]{64}$/);
  });

  it('keeps current when a hook step fails', async () => {
    await request(server, 'POST', '/v1/tessera/data/stage/c', value('kept'));
    const policy = {
      schedule: { interval: '1h' },
      generator: { type: 'password' },
      hook: { command: ['sh', '-c', 'exit 7'], timeout_seconds: 5 },
    };
    await request(server, 'PUT', '/v1/tessera/rotation/stage/c', policy);
    const rotated = await request(server, 'POST', '/v1/tessera/rotate/stage/c', {});
    assert.equal(rotated.body.data.outcome, 'failed');
    assert.equal(rotated.body.data.step, 'create');
    assert.equal(await readValue(server, 'stage/c'), 'kept');
    const history = await request(server, 'GET', '/v1/tessera/history/stage/c');
    assert.equal(history.body.data.stages.current, 1);
    assert.equal(history.body.data.rotation.events.at(-1).outcome, 'failed');
  });

  it('rejects a policy with neither a generator nor a hook', async () => {
    await request(server, 'POST', '/v1/tessera/data/stage/none', value('kept'));
    const set = await request(server, 'PUT', '/v1/tessera/rotation/stage/none', {
      schedule: { interval: '1h' },
    });
    assert.equal(set.status, 400);
    assert.match(set.body.errors[0], /generator: give a generator, or a hook whose create step/);
  });

  for (const [mode, outcome] of [
    ['write', 'succeeded'],
    ['skip', 'failed'],
    ['other-path', 'failed'],
    ['overreach', 'succeeded'],
  ] as const) {
    it(`rotates with a value the hook writes (${mode})`, async () => {
      const path = `issued/${mode}`;
      await request(server, 'POST', `/v1/tessera/data/${path}`, value('first-key'));
      await request(server, 'POST', '/v1/tessera/data/issued/elsewhere', value('untouched'));
      const policy = {
        schedule: { interval: '1h' },
        hook: { command: [process.execPath, ISSUING_HOOK, mode], timeout_seconds: 10 },
      };
      assert.equal(
        (await request(server, 'PUT', `/v1/tessera/rotation/${path}`, policy)).status,
        200,
      );

      const rotated = await request(server, 'POST', `/v1/tessera/rotate/${path}`, {});
      assert.equal(rotated.body.data.outcome, outcome, JSON.stringify(rotated.body));
      const history = await request(server, 'GET', `/v1/tessera/history/${path}`);
      if (outcome === 'succeeded') {
        assert.match(await readValue(server, path), /^issued-[0-9a-f]{24}$/);
        assert.deepEqual(history.body.data.stages, { current: 2, previous: 1, pending: null });
        assert.equal(server.log().includes(await readValue(server, path)), false, 'key in log');
      } else {
        assert.equal(rotated.body.data.step, 'create');
        assert.equal(await readValue(server, path), 'first-key');
        assert.equal(history.body.data.stages.current, 1);
      }
      if (mode === 'skip') assert.match(rotated.body.data.message, /wrote no pending version/);
      const policies = await request(server, 'GET', '/v1/sys/policies/acl');
      const names: string[] = policies.body.data.keys;
      assert.deepEqual(
        names.filter((name) => name.startsWith('rotation-')),
        [],
        'a hook policy is left',
      );
      assert.equal(await readValue(server, 'issued/elsewhere'), 'untouched');
    });
  }

  it('lets a hook write the pending version only without a generator', async () => {
    const path = 'issued/generated';
    await request(server, 'POST', `/v1/tessera/data/${path}`, value('first-key'));
    const policy = {
      schedule: { interval: '1h' },
      generator: { type: 'password' },
      hook: { command: [process.execPath, ISSUING_HOOK, 'late-write'], timeout_seconds: 10 },
    };
    assert.equal(
      (await request(server, 'PUT', `/v1/tessera/rotation/${path}`, policy)).status,
      200,
    );
    const rotated = await request(server, 'POST', `/v1/tessera/rotate/${path}`, {});
    // The hook exits 0 only when its write in the set step was denied.
    assert.equal(rotated.body.data.outcome, 'succeeded', JSON.stringify(rotated.body));
    const history = await request(server, 'GET', `/v1/tessera/history/${path}`);
    assert.equal(history.body.data.versions.length, 2);
  });

  it('keeps a policy set while a rotation runs', async () => {
    const path = 'stage/changed';
    await request(server, 'POST', `/v1/tessera/data/${path}`, value('first'));
    // The hook sleeps in its set step, long enough to change the policy meanwhile.
    const slow = 'grep -q \'"step":"set"\' && sleep 1; exit 0';
    const policy = {
      schedule: { interval: '1h' },
      generator: { type: 'password' },
      hook: { command: ['sh', '-c', slow], timeout_seconds: 10 },
    };
    assert.equal(
      (await request(server, 'PUT', `/v1/tessera/rotation/${path}`, policy)).status,
      200,
    );
    const rotating = request(server, 'POST', `/v1/tessera/rotate/${path}`, {});
    await new Promise((resolve) => setTimeout(resolve, 400));
    const changed = { ...policy, schedule: { interval: '7d' } };
    assert.equal(
      (await request(server, 'PUT', `/v1/tessera/rotation/${path}`, changed)).status,
      200,
    );

    assert.equal((await rotating).body.data.outcome, 'succeeded');
    const view = await request(server, 'GET', `/v1/tessera/rotation/${path}`);
    assert.deepEqual(view.body.data.policy.schedule, { interval: '7d' });
    const days = (Date.parse(view.body.data.next_run_time) - Date.now()) / 86_400_000;
    assert.ok(days > 6.9, `next run in ${days} days`);
    assert.ok(days <= 7, `next run in ${days} days`);
  });

  it('needs admin to set a hook, rotate alone is not enough', async () => {
    const rules = { rules: [{ path: 'stage/*', capabilities: ['read', 'rotate', 'create'] }] };
    await request(server, 'PUT', '/v1/sys/policies/acl/rotator', { policy: JSON.stringify(rules) });
    const created = await request(server, 'POST', '/v1/auth/token/create', {
      policies: ['rotator'],
    });
    const token: string = created.body.auth.client_token;
    await request(server, 'POST', '/v1/tessera/data/stage/e', value('e'));

    const withHook = {
      schedule: { interval: '1h' },
      generator: { type: 'password' },
      hook: { command: ['sh', '-c', 'touch /tmp/should-not-run'], timeout_seconds: 5 },
    };
    const denied = await request(server, 'PUT', '/v1/tessera/rotation/stage/e', withHook, token);
    assert.equal(denied.status, 403);
    const { hook: _hook, ...withoutHook } = withHook;
    const allowed = await request(
      server,
      'PUT',
      '/v1/tessera/rotation/stage/e',
      withoutHook,
      token,
    );
    assert.equal(allowed.status, 200);
  });

  it('rejects an invalid policy', async () => {
    const policy = { schedule: { cron: '* * *' }, generator: { type: 'password' } };
    const set = await request(server, 'PUT', '/v1/tessera/rotation/stage/d', policy);
    assert.equal(set.status, 400);
    assert.equal(set.body.code, 'INVALID_ARGUMENT');
  });

  it('streams promote events to watchers', async () => {
    await request(server, 'POST', '/v1/tessera/data/stage/e', value('one'));
    await request(server, 'POST', '/v1/tessera/data/stage/e', value('two'));
    const controller = new AbortController();
    const response = await fetch(`${server.address}/v1/tessera/watch?path=stage/e`, {
      headers: { 'x-vault-token': server.rootToken },
      signal: controller.signal,
    });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    const readUntil = async (pattern: RegExp) => {
      const deadline = Date.now() + 5000;
      while (!pattern.test(text) && Date.now() < deadline) {
        const chunk = await reader.read();
        if (chunk.done) break;
        text += Buffer.from(chunk.value).toString();
      }
    };
    try {
      await readUntil(/event: ready/);
      await request(server, 'POST', '/v1/tessera/rollback/stage/e', { version: 1 });
      await readUntil(/rolled-back/);
      assert.match(text, /"version":1,"kind":"rolled-back"/);
    } finally {
      controller.abort();
    }
  });
});
