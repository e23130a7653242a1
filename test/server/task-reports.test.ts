import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  FAKE_FRAMEWORK,
  type FakeOperator,
  localCluster,
  masterTask,
  startFakeOperator,
  taskEnded,
} from '../helpers/fake-operator.ts';
import { request, startTestServer, type TestServer } from '../helpers/server.ts';
import { until } from '../helpers/wait.ts';

const PATH = 'shared/db';

function report(taskId: string, version = 1) {
  return { task_id: taskId, secrets: [{ path: PATH, version }], ttl_seconds: 600 };
}

describe('reports of the versions tasks run with', () => {
  let dir: string;
  let auditFile: string;
  let master: FakeOperator;
  let server: TestServer;
  const tokens: Record<'first' | 'second' | 'task', string> = { first: '', second: '', task: '' };

  async function newToken(): Promise<string> {
    const body = { policies: ['reader'] };
    const created = await request(server, 'POST', '/v1/auth/token/create', body);
    assert.equal(created.status, 200, JSON.stringify(created.body));
    return created.body.auth.client_token;
  }

  // Logs in as Mesos task `taskId`, which runs on this machine, for a token made for it.
  async function taskToken(taskId: string): Promise<string> {
    master.send({ type: 'TASK_ADDED', task_added: { task: masterTask(taskId) } });
    const body = { task_id: taskId, framework_id: FAKE_FRAMEWORK, role: 'web' };
    const login = await request(server, 'POST', '/v1/auth/mesos/login', body, undefined);
    assert.equal(login.status, 200, JSON.stringify(login.body));
    return login.body.auth.client_token;
  }

  const listed = async () =>
    (await request(server, 'GET', `/v1/tessera/tasks?path=${PATH}`)).body.data.tasks as {
      task_id: string;
      version: number;
    }[];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-task-reports-'));
    auditFile = join(dir, 'audit.log');
    master = await startFakeOperator();
    localCluster(master);
    server = await startTestServer({
      auditFile,
      mesos: { masters: [new URL(master.url)], loginWindowSeconds: 600, connectTimeoutMs: 2000 },
    });
    await master.subscribed(1);
    const policy = JSON.stringify({ rules: [{ path: 'shared/*', capabilities: ['read'] }] });
    await request(server, 'PUT', '/v1/sys/policies/acl/reader', { policy });
    await request(server, 'POST', `/v1/secret/data/${PATH}`, { data: { value: 'v1' } });
    await request(server, 'POST', `/v1/secret/data/${PATH}`, { data: { value: 'v2' } });
    tokens.first = await newToken();
    tokens.second = await newToken();
    const role = { policies: ['reader'], framework_names: ['marathon'] };
    assert.equal((await request(server, 'PUT', '/v1/auth/mesos/role/web', role)).status, 204);
    tokens.task = await taskToken('web.2');
  });
  after(async () => {
    await server.close();
    await master.close();
    await rm(dir, { recursive: true, force: true });
  });

  const post = (route: string, body: unknown, token: string) =>
    request(server, 'POST', `/v1/tessera/tasks/${route}`, body, token);

  it('keeps a report from being replaced or ended by another token', async () => {
    assert.equal((await post('versions', report('web.1', 2), tokens.first)).status, 200);

    const replaced = await post('versions', report('web.1', 1), tokens.second);
    assert.equal(replaced.status, 403);
    assert.match(replaced.body.message, /another token reports for task 'web\.1'/);
    assert.match(replaced.body.message, /admin on 'sys\/tasks\/web\.1'/);
    const ended = await post('ended', { task_id: 'web.1' }, tokens.second);
    assert.equal(ended.status, 403);
    assert.deepEqual(
      (await listed()).map((task) => [task.task_id, task.version]),
      [['web.1', 2]],
      'the first report stands',
    );

    assert.equal((await post('versions', report('web.1', 1), tokens.first)).status, 200);
    assert.equal((await listed())[0]?.version, 1, 'its own token replaces it');

    const audit = await readFile(auditFile, 'utf8');
    const denials = audit
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
      .filter((entry) => entry.path === 'sys/tasks/web.1' && entry.outcome === 'denied');
    assert.deepEqual(
      denials.map((entry) => entry.operation),
      ['tasks.report', 'tasks.end'],
    );
  });

  it("lets an admin of sys/tasks replace and end another token's report", async () => {
    assert.equal((await post('versions', report('web.3'), tokens.first)).status, 200);
    assert.equal((await post('versions', report('web.3', 2), server.rootToken)).status, 200);
    assert.equal((await post('ended', { task_id: 'web.3' }, server.rootToken)).status, 200);
    assert.ok(!(await listed()).some((task) => task.task_id === 'web.3'));
  });

  it("limits a task's token to its own task", async () => {
    const other = await post('versions', report('web.4'), tokens.task);
    assert.equal(other.status, 403);
    assert.match(
      other.body.message,
      /this token is for Mesos task 'web\.2' and reports only for it/,
    );
    assert.equal((await post('ended', { task_id: 'web.1' }, tokens.task)).status, 403);
    assert.equal((await post('versions', report('web.2'), tokens.task)).status, 200);
    assert.ok((await listed()).some((task) => task.task_id === 'web.2'));
  });

  it("lets a task's token replace a report made before its own", async () => {
    const early = await post('versions', { task_id: 'web.7', secrets: [] }, tokens.first);
    assert.equal(early.status, 200);
    const own = await taskToken('web.7');
    assert.equal((await post('versions', report('web.7', 1), own)).status, 200);
    const version = (await listed()).find((task) => task.task_id === 'web.7')?.version;
    assert.equal(version, 1);
    assert.equal((await post('versions', report('web.7', 2), tokens.first)).status, 403);
  });

  it('keeps the oldest version of a path given twice', async () => {
    const secrets = [
      { path: PATH, version: 2 },
      { path: PATH, version: 1 },
    ];
    assert.equal((await post('versions', { task_id: 'web.8', secrets }, tokens.first)).status, 200);
    assert.equal((await listed()).find((task) => task.task_id === 'web.8')?.version, 1);
  });

  it('frees the id of a task that reported its end', async () => {
    assert.equal((await post('versions', report('web.5'), tokens.first)).status, 200);
    assert.equal((await post('ended', { task_id: 'web.5' }, tokens.first)).status, 200);
    assert.equal((await post('versions', report('web.5'), tokens.second)).status, 200);
  });

  it('drops the report of a task that the master reports ended', async () => {
    master.send({ type: 'TASK_ADDED', task_added: { task: masterTask('web.6') } });
    assert.equal((await post('versions', report('web.6'), tokens.first)).status, 200);
    assert.ok((await listed()).some((task) => task.task_id === 'web.6'));
    master.send(taskEnded('web.6'));
    await until(
      async () => !(await listed()).some((task) => task.task_id === 'web.6'),
      'the ended task drops out',
    );
  });
});
