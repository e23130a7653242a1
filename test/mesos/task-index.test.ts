import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

import { OperatorEventSchema } from '../../src/mesos/operator-events.ts';
import { TaskIndex } from '../../src/mesos/task-index.ts';

// The v1 operator API's GET_TASKS example from the Mesos documentation, verbatim.
const getTasks = JSON.parse(
  readFileSync(
    new URL('../fixtures/mesos/operator-api-GET_TASKS-response.json', import.meta.url),
    'utf8',
  ),
).get_tasks;
const FRAMEWORK = 'd4bd102f-e25f-46dc-bb5d-8b10bca133d8-0000';
const AGENT = 'd4bd102f-e25f-46dc-bb5d-8b10bca133d8-S0';
const NOW = 1_700_000_000;

function event(body: unknown) {
  return OperatorEventSchema.parse(body);
}

function subscribed(extra: Record<string, unknown> = {}) {
  return event({
    type: 'SUBSCRIBED',
    subscribed: {
      get_state: {
        get_tasks: getTasks,
        get_agents: {
          agents: [
            {
              agent_info: { id: { value: AGENT }, hostname: 'agent-1.example.invalid', port: 5051 },
              pid: 'slave(1)@192.0.2.21:5051',
              active: true,
              version: '1.11.0',
            },
          ],
        },
        get_frameworks: {
          frameworks: [
            {
              framework_info: {
                id: { value: FRAMEWORK },
                name: 'marathon',
                principal: 'marathon-principal',
                roles: ['prod'],
              },
              active: true,
              connected: true,
              recovered: false,
            },
          ],
        },
        ...extra,
      },
      heartbeat_interval_seconds: 15,
    },
  });
}

function newTask(taskId: string, state = 'TASK_STAGING', extra: Record<string, unknown> = {}) {
  return event({
    type: 'TASK_ADDED',
    task_added: {
      task: {
        name: 'billing-api',
        task_id: { value: taskId },
        framework_id: { value: FRAMEWORK },
        agent_id: { value: AGENT },
        state,
        labels: { labels: [{ key: 'tessera-role', value: 'billing' }] },
        resources: [{ name: 'cpus', allocation_info: { role: 'prod/billing' } }],
        ...extra,
      },
    },
  });
}

function update(taskId: string, state: string, status: Record<string, unknown> = {}) {
  return event({
    type: 'TASK_UPDATED',
    task_updated: {
      framework_id: { value: FRAMEWORK },
      status: { task_id: { value: taskId }, state, timestamp: NOW + 5, ...status },
      state,
    },
  });
}

describe('TaskIndex', () => {
  it('reads the snapshot of the GET_TASKS example', () => {
    const index = new TaskIndex();
    assert.equal(index.synced, false);
    index.apply(subscribed(), NOW);
    assert.equal(index.synced, true);
    const [task] = index.findTasks('1');
    assert.ok(task);
    assert.equal(task.frameworkId, FRAMEWORK);
    assert.equal(task.agentId, AGENT);
    assert.equal(task.state, 'TASK_RUNNING');
    assert.equal(task.name, 'test');
    // The example's only status is dated 2016, long before NOW.
    assert.equal(task.firstSeenSeconds, 1470820172.32565);
    assert.deepEqual(task.containerAddresses, ['127.0.1.1']);
    assert.deepEqual(index.agent(AGENT), {
      id: AGENT,
      hostname: 'agent-1.example.invalid',
      address: '192.0.2.21',
    });
    assert.deepEqual(index.framework(FRAMEWORK), {
      id: FRAMEWORK,
      name: 'marathon',
      principal: 'marathon-principal',
      roles: ['prod'],
    });
  });

  it('adds a task with its labels and roles', () => {
    const index = new TaskIndex();
    index.apply(subscribed(), NOW);
    index.apply(newTask('billing.1'), NOW + 1);
    const [task] = index.findTasks('billing.1');
    assert.ok(task);
    assert.equal(task.state, 'TASK_STAGING');
    assert.equal(task.firstSeenSeconds, NOW + 1);
    assert.deepEqual(task.labels, { 'tessera-role': 'billing' });
    assert.deepEqual(task.roles, ['prod/billing']);
  });

  it('keeps the first sight of a task through updates', () => {
    const index = new TaskIndex();
    index.apply(subscribed(), NOW);
    index.apply(newTask('billing.1'), NOW + 1);
    const addresses = { network_infos: [{ ip_addresses: [{ ip_address: '198.51.100.7' }] }] };
    index.apply(update('billing.1', 'TASK_RUNNING', { container_status: addresses }), NOW + 9);
    const [task] = index.findTasks('billing.1');
    assert.equal(task?.state, 'TASK_RUNNING');
    assert.equal(task?.firstSeenSeconds, NOW + 1);
    assert.deepEqual(task?.containerAddresses, ['198.51.100.7']);
  });

  it('drops a task that ends and reports it', () => {
    const index = new TaskIndex();
    index.apply(subscribed(), NOW);
    index.apply(newTask('billing.1'), NOW);
    const ended = index.apply(update('billing.1', 'TASK_KILLED'), NOW);
    assert.deepEqual(ended, [{ frameworkId: FRAMEWORK, taskId: 'billing.1' }]);
    assert.deepEqual(index.findTasks('billing.1'), []);
    assert.equal(index.isLive(FRAMEWORK, 'billing.1'), false);
  });

  it('keeps an unreachable task', () => {
    const index = new TaskIndex();
    index.apply(subscribed(), NOW);
    index.apply(newTask('billing.1'), NOW);
    assert.deepEqual(index.apply(update('billing.1', 'TASK_UNREACHABLE'), NOW), []);
    assert.equal(index.isLive(FRAMEWORK, 'billing.1'), true);
  });

  it('reports tasks that a new snapshot no longer lists', () => {
    const index = new TaskIndex();
    index.apply(subscribed(), NOW);
    index.apply(newTask('billing.1'), NOW);
    const ended = index.apply(subscribed(), NOW + 60);
    assert.deepEqual(ended, [{ frameworkId: FRAMEWORK, taskId: 'billing.1' }]);
    assert.equal(index.isLive(FRAMEWORK, '1'), true);
  });

  it('tells tasks of two frameworks apart', () => {
    const index = new TaskIndex();
    index.apply(subscribed(), NOW);
    index.apply(newTask('same-id'), NOW);
    index.apply(newTask('same-id', 'TASK_STAGING', { framework_id: { value: 'other' } }), NOW);
    assert.equal(index.findTasks('same-id').length, 2);
    index.apply(update('same-id', 'TASK_FINISHED'), NOW);
    assert.deepEqual(
      index.findTasks('same-id').map((task) => task.frameworkId),
      ['other'],
    );
  });

  it('follows agents and frameworks', () => {
    const index = new TaskIndex();
    index.apply(subscribed(), NOW);
    index.apply(
      event({ type: 'AGENT_REMOVED', agent_removed: { agent_id: { value: AGENT } } }),
      NOW,
    );
    assert.equal(index.agent(AGENT), undefined);
    index.apply(
      event({
        type: 'AGENT_ADDED',
        agent_added: {
          agent: { agent_info: { id: { value: 'S9' }, hostname: 'h' }, pid: 'slave(1)@[::1]:5051' },
        },
      }),
      NOW,
    );
    assert.equal(index.agent('S9')?.hostname, 'h');
    assert.equal(index.agent('S9')?.address, '::1');
    const info = { id: { value: 'F2' }, name: 'spark', role: 'batch' };
    index.apply(
      event({ type: 'FRAMEWORK_ADDED', framework_added: { framework: { framework_info: info } } }),
      NOW,
    );
    assert.deepEqual(index.framework('F2')?.roles, ['batch']);
    index.apply(
      event({ type: 'FRAMEWORK_REMOVED', framework_removed: { framework_info: info } }),
      NOW,
    );
    assert.equal(index.framework('F2'), undefined);
  });

  it('ignores heartbeats and unknown events', () => {
    const index = new TaskIndex();
    index.apply(subscribed(), NOW);
    assert.deepEqual(index.apply(event({ type: 'HEARTBEAT' }), NOW), []);
    assert.deepEqual(index.apply(event({ type: 'SOMETHING_NEW', something_new: {} }), NOW), []);
    assert.equal(index.size.tasks, 1);
  });

  it('goes out of sync when told', () => {
    const index = new TaskIndex();
    index.apply(subscribed(), NOW);
    index.unsync();
    assert.equal(index.synced, false);
  });
});
