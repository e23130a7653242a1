import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';

import type { OperatorEvent } from '../../src/mesos/operator-events.ts';
import { followMaster, type MasterFollower } from '../../src/mesos/operator-stream.ts';
import { unusedPort } from '../helpers/fake-mesos.ts';
import { type FakeOperator, startFakeOperator } from '../helpers/fake-operator.ts';
import { until } from '../helpers/wait.ts';

interface Seen {
  events: OperatorEvent[];
  subscribedTo: string[];
  disconnects: string[];
}

function follow(masters: string[], seen: Seen, extra: { authorization?: string } = {}) {
  return followMaster({
    masters: masters.map((url) => new URL(url)),
    connectTimeoutMs: 2000,
    retryDelayMs: () => 50,
    onEvent: (event) => seen.events.push(event),
    onSubscribed: (master) => seen.subscribedTo.push(master.origin),
    onDisconnect: (reason) => seen.disconnects.push(reason),
    ...extra,
  });
}

describe('followMaster', () => {
  let master: FakeOperator;
  let follower: MasterFollower | undefined;
  let seen: Seen;

  beforeEach(async () => {
    master = await startFakeOperator();
    seen = { events: [], subscribedTo: [], disconnects: [] };
  });
  afterEach(async () => {
    await follower?.stop();
    follower = undefined;
    await master.close();
  });

  it('receives the snapshot, then each event', async () => {
    master.state.tasks = [
      {
        task_id: { value: 't1' },
        framework_id: { value: 'f' },
        agent_id: { value: 'a' },
        state: 'TASK_RUNNING',
      },
    ];
    follower = follow([master.url], seen);
    await master.subscribed(1);
    master.send({ type: 'HEARTBEAT' });
    master.send({
      type: 'TASK_UPDATED',
      task_updated: {
        framework_id: { value: 'f' },
        status: { task_id: { value: 't1' }, state: 'TASK_FINISHED' },
        state: 'TASK_FINISHED',
      },
    });
    await until(() => seen.events.length === 3, 'three events');
    assert.deepEqual(
      seen.events.map((event) => event.type),
      ['SUBSCRIBED', 'HEARTBEAT', 'TASK_UPDATED'],
    );
    assert.equal(seen.events[0]?.subscribed?.get_state?.get_tasks?.tasks?.length, 1);
    assert.deepEqual(seen.subscribedTo, [master.url]);
  });

  it('subscribes again after the stream ends', async () => {
    follower = follow([master.url], seen);
    await master.subscribed(1);
    master.endStreams();
    await master.subscribed(2);
    await until(() => seen.events.length === 2, 'a second snapshot');
    assert.match(
      seen.disconnects[0] ?? '',
      /event stream of the Mesos master at 127\.0\.0\.1:\d+ ended/,
    );
  });

  it('follows a redirect to the leader', async () => {
    const standby = await startFakeOperator();
    try {
      standby.answer = { status: 307, location: `//${new URL(master.url).host}/api/v1` };
      follower = follow([standby.url], seen);
      await master.subscribed(1);
      await until(() => seen.subscribedTo.length === 1, 'a subscription');
      assert.deepEqual(seen.subscribedTo, [master.url]);
      assert.equal(standby.authorizations.length, 1);
    } finally {
      await standby.close();
    }
  });

  it('tries the next master when one is down', async () => {
    const down = await unusedPort();
    follower = follow([`http://127.0.0.1:${down}`, master.url], seen);
    await master.subscribed(1);
    assert.match(
      seen.disconnects[0] ?? '',
      new RegExp(`127\\.0\\.0\\.1:${down} is unreachable \\(ECONNREFUSED\\)`),
    );
  });

  it('reports rejected credentials and retries', async () => {
    master.answer = { status: 401 };
    follower = follow([master.url], seen, { authorization: 'Basic dGVzc2VyYTpjYW5hcnk=' });
    await until(() => seen.disconnects.length >= 2, 'two failed attempts');
    const reason = seen.disconnects[0] ?? '';
    assert.match(reason, /rejected the principal and password sent \(401 Unauthorized\)/);
    assert.match(reason, /check that TESSERA_MESOS_PRINCIPAL names a principal/);
    assert.doesNotMatch(reason, /requires authentication/);
    assert.equal(master.authorizations[0], 'Basic dGVzc2VyYTpjYW5hcnk=');
    master.answer = undefined;
    await master.subscribed(1);
  });

  it('asks for credentials when none were sent', async () => {
    master.answer = { status: 401 };
    follower = follow([master.url], seen);
    await until(() => seen.disconnects.length >= 1, 'a failed attempt');
    assert.match(
      seen.disconnects[0] ?? '',
      /requires authentication \(401 Unauthorized\); set TESSERA_MESOS_PRINCIPAL/,
    );
    assert.equal(master.authorizations[0], undefined);
  });

  it('names --mesos-master after a redirect loop', async () => {
    const standby = await startFakeOperator();
    try {
      standby.answer = { status: 307, location: `//${new URL(master.url).host}/api/v1` };
      master.answer = { status: 307, location: `//${new URL(standby.url).host}/api/v1` };
      follower = follow([standby.url], seen);
      await until(() => seen.disconnects.length >= 1, 'a given-up redirect loop');
      const reason = seen.disconnects[0] ?? '';
      assert.match(reason, /is not the leading master \(307 Temporary Redirect to 127\.0\.0\.1:/);
      assert.match(reason, /; point --mesos-master at the leader, after 3 redirects in a row$/);
    } finally {
      await follower?.stop();
      follower = undefined;
      await standby.close();
    }
  });

  it('drops a stream that misses its heartbeats', async () => {
    master.heartbeatSeconds = 0.1;
    follower = follow([master.url], seen);
    await master.subscribed(1);
    await until(() => seen.disconnects.length >= 1, 'a lost stream');
    assert.match(seen.disconnects[0] ?? '', /sent nothing for 0\.5 s/);
    await master.subscribed(2);
  });

  it('drops a stream that sends an invalid event', async () => {
    follower = follow([master.url], seen);
    await master.subscribed(1);
    master.send({ type: 'TASK_ADDED', task_added: { task: { task_id: 'not an id' } } });
    await until(() => seen.disconnects.length >= 1, 'a dropped stream');
    assert.match(seen.disconnects[0] ?? '', /sent an event that is not valid/);
    await master.subscribed(2);
  });

  it('stops without a retry', async () => {
    follower = follow([master.url], seen);
    await master.subscribed(1);
    await follower.stop();
    follower = undefined;
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(seen.disconnects, []);
  });
});
