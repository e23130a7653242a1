import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';

import { loginRoleDocument, parseLoginRole } from '../../src/access/login-roles.ts';
import { TaskLogins } from '../../src/access/task-login.ts';
import { authenticate } from '../../src/access/tokens.ts';
import { isTesseraError } from '../../src/errors.ts';
import { OperatorEventSchema } from '../../src/mesos/operator-events.ts';
import { TaskIndex } from '../../src/mesos/task-index.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import type { Store } from '../../src/store/store.ts';

const FRAMEWORK = 'framework-0001';
const AGENT = 'agent-S1';
const AGENT_ADDRESS = '192.0.2.21';

const BILLING = JSON.stringify({
  policies: ['billing-read'],
  framework_names: ['marathon'],
  labels: { 'tessera-role': 'billing' },
  token_ttl: '30m',
});

function event(body: unknown) {
  return OperatorEventSchema.parse(body);
}

function snapshot(tasks: unknown[] = []) {
  return event({
    type: 'SUBSCRIBED',
    subscribed: {
      get_state: {
        get_tasks: { tasks },
        get_agents: {
          agents: [
            {
              agent_info: { id: { value: AGENT }, hostname: 'agent-1.example.invalid' },
              pid: `slave(1)@${AGENT_ADDRESS}:5051`,
            },
          ],
        },
        get_frameworks: {
          frameworks: [
            {
              framework_info: {
                id: { value: FRAMEWORK },
                name: 'marathon',
                principal: 'marathon',
                roles: ['prod'],
              },
            },
          ],
        },
      },
    },
  });
}

function task(taskId: string, extra: Record<string, unknown> = {}) {
  return {
    name: 'billing-api',
    task_id: { value: taskId },
    framework_id: { value: FRAMEWORK },
    agent_id: { value: AGENT },
    state: 'TASK_RUNNING',
    labels: { labels: [{ key: 'tessera-role', value: 'billing' }] },
    ...extra,
  };
}

function added(taskId: string, extra: Record<string, unknown> = {}) {
  return event({ type: 'TASK_ADDED', task_added: { task: task(taskId, extra) } });
}

async function denied(promise: Promise<unknown>, pattern: RegExp, code = 'TASK_LOGIN_DENIED') {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isTesseraError(error), String(error));
    assert.equal(error.code, code);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('TaskLogins', () => {
  let store: Store;
  let index: TaskIndex;
  let logins: TaskLogins;
  const now = () => Date.now() / 1000;

  beforeEach(async () => {
    store = await openSqliteStore(':memory:');
    await store.saveLoginRole('billing', BILLING);
    index = new TaskIndex();
    index.apply(snapshot(), now());
    logins = new TaskLogins(store, index, { windowSeconds: 600, waitMs: 300 });
  });
  afterEach(() => store.close());

  const request = (taskId: string, clientAddress = AGENT_ADDRESS) => ({
    taskId,
    role: 'billing',
    clientAddress,
  });

  it('issues a token with the role policies', async () => {
    index.apply(added('billing.1'), now());
    const { created, task, role } = await logins.login(request('billing.1'));
    assert.equal(task.taskId, 'billing.1');
    assert.equal(role.name, 'billing');
    assert.match(created.token, /^tsr_/);
    const caller = await authenticate(store, created.token);
    assert.deepEqual(caller.policies, ['billing-read']);
    assert.equal(caller.meta.task_id, 'billing.1');
    assert.equal(caller.meta.framework_id, FRAMEWORK);
    assert.equal(caller.meta.login_role, 'billing');
    assert.equal(caller.info.ttlSeconds, 1800);
    assert.equal(caller.info.renewable, true);
  });

  it('accepts an IPv4-mapped address of the agent', async () => {
    index.apply(added('billing.1'), now());
    await logins.login(request('billing.1', `::ffff:${AGENT_ADDRESS}`));
  });

  it("accepts the task's own network address", async () => {
    const status = {
      task_id: { value: 'billing.1' },
      state: 'TASK_RUNNING',
      timestamp: now(),
      container_status: { network_infos: [{ ip_addresses: [{ ip_address: '198.51.100.7' }] }] },
    };
    index.apply(added('billing.1', { statuses: [status] }), now());
    await logins.login(request('billing.1', '198.51.100.7'));
  });

  it('refuses a request from another host', async () => {
    index.apply(added('billing.1'), now());
    await denied(
      logins.login(request('billing.1', '203.0.113.9')),
      /runs on 192\.0\.2\.21, but the request came from 203\.0\.113\.9/,
    );
  });

  it('refuses a second login of the task', async () => {
    index.apply(added('billing.1'), now());
    await logins.login(request('billing.1'));
    await denied(logins.login(request('billing.1')), /has logged in before/);
    assert.equal(await store.countTokens(), 1);
  });

  it('lets one of two concurrent logins win', async () => {
    index.apply(added('billing.1'), now());
    const results = await Promise.allSettled([
      logins.login(request('billing.1')),
      logins.login(request('billing.1')),
    ]);
    assert.equal(results.filter((result) => result.status === 'fulfilled').length, 1);
    assert.equal(await store.countTokens(), 1);
  });

  it('refuses a task that started too long ago', async () => {
    const old = { task_id: { value: 'billing.1' }, state: 'TASK_RUNNING', timestamp: now() - 3600 };
    index.apply(added('billing.1', { statuses: [old] }), now());
    await denied(logins.login(request('billing.1')), /started 3600 s ago.*within 600 s/);
  });

  it('refuses a task that is being killed', async () => {
    index.apply(added('billing.1', { state: 'TASK_KILLING' }), now());
    await denied(logins.login(request('billing.1')), /it is TASK_KILLING/);
  });

  it('waits for a task the master reports late', async () => {
    setTimeout(() => index.apply(added('late.1'), now()), 100);
    await logins.login(request('late.1'));
  });

  it('refuses an unknown task after the wait', async () => {
    await denied(logins.login(request('nope.1')), /knows no starting or running task with this id/);
  });

  it('refuses a task that does not meet the role', async () => {
    const labels = { labels: [{ key: 'tessera-role', value: 'payroll' }] };
    index.apply(added('payroll.1', { labels }), now());
    await denied(
      logins.login(request('payroll.1')),
      /does not meet login role 'billing': its label 'tessera-role' is not 'billing'/,
    );
  });

  it('refuses an unknown role', async () => {
    index.apply(added('billing.1'), now());
    await denied(
      logins.login({ ...request('billing.1'), role: 'nobody' }),
      /login role 'nobody' does not exist/,
    );
  });

  it('refuses an invalid role name without naming a command', async () => {
    index.apply(added('billing.1'), now());
    await denied(
      logins.login({ ...request('billing.1'), role: 'Billing Team' }),
      /^the login role name is invalid; set TESSERA_LOGIN_ROLE to 1 to 128/,
    );
  });

  it('asks for the framework when two frameworks share a task id', async () => {
    index.apply(added('dup.1'), now());
    index.apply(added('dup.1', { framework_id: { value: 'other' } }), now());
    await denied(
      logins.login(request('dup.1')),
      /2 frameworks run a task with id dup\.1/,
      'INVALID_ARGUMENT',
    );
    await logins.login({ ...request('dup.1'), frameworkId: FRAMEWORK });
  });

  it('reports a master it does not follow as unavailable', async () => {
    index.apply(added('billing.1'), now());
    index.unsync();
    await denied(
      logins.login(request('billing.1')),
      /event stream from the Mesos master is down/,
      'MASTER_UNAVAILABLE',
    );
  });

  it('revokes the token when the task ends', async () => {
    index.apply(added('billing.1'), now());
    const { created } = await logins.login(request('billing.1'));
    const ended = index.apply(
      event({
        type: 'TASK_UPDATED',
        task_updated: {
          framework_id: { value: FRAMEWORK },
          status: { task_id: { value: 'billing.1' }, state: 'TASK_FINISHED' },
          state: 'TASK_FINISHED',
        },
      }),
      now(),
    );
    assert.equal(await logins.endTasks(ended), 1);
    await assert.rejects(authenticate(store, created.token), (error) =>
      isTesseraError(error, 'PERMISSION_DENIED'),
    );
    assert.notEqual((await store.findTaskLogin(FRAMEWORK, 'billing.1'))?.endedTime, null);
    assert.equal(await logins.endTasks(ended), 0);
  });

  // A newly elected master lists the agents it read from its registry as recovered until
  // they register again, and lists none of their tasks meanwhile.
  function failoverSnapshot(unreachable: unknown[] = []) {
    return event({
      type: 'SUBSCRIBED',
      subscribed: {
        get_state: {
          get_tasks: { tasks: [], unreachable_tasks: unreachable },
          get_agents: { agents: [], recovered_agents: [{ id: { value: AGENT }, hostname: 'a' }] },
          get_frameworks: { frameworks: [] },
        },
      },
    });
  }

  const agentBack = () =>
    event({
      type: 'AGENT_ADDED',
      agent_added: {
        agent: {
          agent_info: { id: { value: AGENT }, hostname: 'agent-1.example.invalid' },
          pid: `slave(1)@${AGENT_ADDRESS}:5051`,
        },
      },
    });

  it('keeps tokens through a master failover', async () => {
    index.apply(added('billing.1'), now());
    const { created } = await logins.login(request('billing.1'));

    assert.deepEqual(index.apply(failoverSnapshot(), now()), []);
    assert.equal(index.recoveringAgents, 1);
    assert.equal(await logins.reconcile(), 0);
    assert.ok(index.isLive(FRAMEWORK, 'billing.1'));

    index.apply(agentBack(), now());
    index.apply(added('billing.1'), now());
    assert.equal(index.recoveringAgents, 0);
    assert.equal(await logins.reconcile(), 0);
    await authenticate(store, created.token);
  });

  it('ends the tasks of a recovered agent that is removed', async () => {
    index.apply(added('billing.1'), now());
    await logins.login(request('billing.1'));
    index.apply(failoverSnapshot(), now());
    const removed = event({ type: 'AGENT_REMOVED', agent_removed: { agent_id: { value: AGENT } } });
    assert.deepEqual(index.apply(removed, now()), [
      { frameworkId: FRAMEWORK, taskId: 'billing.1' },
    ]);
    assert.equal(index.recoveringAgents, 0);
  });

  it('keeps the token of an unreachable task', async () => {
    index.apply(added('billing.1'), now());
    const { created } = await logins.login(request('billing.1'));
    const unreachable = event({
      type: 'SUBSCRIBED',
      subscribed: {
        get_state: {
          get_tasks: { unreachable_tasks: [task('billing.1', { state: 'TASK_UNREACHABLE' })] },
          get_agents: { agents: [] },
        },
      },
    });

    assert.deepEqual(index.apply(unreachable, now()), []);
    assert.equal(await logins.reconcile(), 0);
    await authenticate(store, created.token);
  });

  it('revokes tokens of tasks that ended while it was not following', async () => {
    index.apply(added('billing.1'), now());
    index.apply(added('billing.2'), now());
    const first = await logins.login(request('billing.1'));
    const second = await logins.login(request('billing.2'));
    index.apply(snapshot([task('billing.2')]), now());
    assert.equal(await logins.reconcile(), 1);
    await assert.rejects(authenticate(store, first.created.token));
    await authenticate(store, second.created.token);
  });
});

describe('parseLoginRole', () => {
  it('fills in the defaults', () => {
    const role = parseLoginRole('web', JSON.stringify({ policies: ['web'], roles: ['prod'] }));
    assert.deepEqual(loginRoleDocument(role), {
      policies: ['web'],
      framework_names: [],
      framework_principals: [],
      roles: ['prod'],
      labels: {},
      token_ttl: '1h',
      token_max_ttl: '0s',
    });
  });

  const invalid: [string, unknown, RegExp][] = [
    ['no constraint', { policies: ['web'] }, /names no framework_names.*any task of the cluster/],
    ['no policy', { policies: [], roles: ['prod'] }, /policies must name at least one policy/],
    [
      'a bad policy name',
      { policies: ['Web!'], roles: ['prod'] },
      /policies\[0\] must be a policy name/,
    ],
    [
      'an unknown field',
      { policies: ['web'], roles: ['prod'], ttl: '1h' },
      /login role 'web' is invalid: \(top level\) has unknown field 'ttl'/,
    ],
    [
      'a short ttl',
      { policies: ['web'], roles: ['prod'], token_ttl: '10s' },
      /token_ttl must be at least 1m/,
    ],
    [
      'a max ttl under the ttl',
      { policies: ['web'], roles: ['prod'], token_ttl: '2h', token_max_ttl: '1h' },
      /token_max_ttl \(1h\) is shorter than token_ttl \(2h\)/,
    ],
  ];
  for (const [name, body, pattern] of invalid) {
    it(`rejects ${name}`, () => {
      assert.throws(() => parseLoginRole('web', JSON.stringify(body)), pattern);
    });
  }

  it('rejects an invalid name', () => {
    assert.throws(() => parseLoginRole('Bad Name', '{}'), /login role name/);
  });
});
