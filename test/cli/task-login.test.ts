import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  envSecret,
  shellTask,
  startExecCli,
  type TaskDir,
  writeTaskDir,
} from '../delivery/exec-cli-harness.ts';
import { collect, runTessera, TESSERA_BIN } from '../helpers/cli.ts';
import {
  FAKE_FRAMEWORK,
  type FakeOperator,
  localCluster,
  masterTask,
  startFakeOperator,
  taskEnded,
} from '../helpers/fake-operator.ts';
import { request, startTestServer, type TestServer } from '../helpers/server.ts';

const CANARY = 'canary-task-login-secret-91f0';

describe('tessera exec logging in as a Mesos task', () => {
  let master: FakeOperator;
  let server: TestServer;
  let dir: TaskDir;
  let seq = 0;
  let taskId: string;

  before(async () => {
    master = await startFakeOperator();
    localCluster(master);
    server = await startTestServer({
      mesos: { masters: [new URL(master.url)], loginWindowSeconds: 600, connectTimeoutMs: 2000 },
    });
    await master.subscribed(1);
    const role = {
      policies: ['billing-read'],
      framework_names: ['marathon'],
      labels: { team: 'billing' },
    };
    assert.equal((await request(server, 'PUT', '/v1/auth/mesos/role/billing', role)).status, 204);
    const policy = JSON.stringify({ rules: [{ path: 'billing/*', capabilities: ['read'] }] });
    await request(server, 'PUT', '/v1/sys/policies/acl/billing-read', { policy });
    await request(server, 'POST', '/v1/secret/data/billing/db', { data: { value: CANARY } });
  });
  after(async () => {
    await server.close();
    await master.close();
  });
  beforeEach(async () => {
    taskId = `billing-api.${process.pid}.${++seq}`;
    dir = await writeTaskDir({ ...shellTask('true'), task_id: { value: taskId } });
  });

  // The environment of a task that logs in, with no token.
  function loginEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: '/nonexistent',
      TESSERA_ADDR: server.address,
      TESSERA_LOGIN_ROLE: 'billing',
      ...extra,
    };
  }

  function exec(
    script = 'echo "db=$DB"; sleep 30',
    env = loginEnv({ MESOS_FRAMEWORK_ID: FAKE_FRAMEWORK }),
  ) {
    return startExecCli(['--task', dir.taskFile, '--', 'sh', '-c', script], env, dir.dir);
  }

  async function withTask(secret = envSecret('DB', '/billing/db')) {
    await dir.cleanup();
    dir = await writeTaskDir({
      ...shellTask('true', [secret]),
      task_id: { value: taskId },
    });
  }

  it('gets its secrets without a token in its definition', async () => {
    await withTask();
    master.send({ type: 'TASK_ADDED', task_added: { task: masterTask(taskId) } });
    const run = exec();
    try {
      await run.waitFor('db=****');
      assert.match(
        run.stderr(),
        new RegExp(`logged in as task ${taskId.replaceAll('.', '\\.')} with login role billing`),
      );
      assert.ok(!run.stdout().includes(CANARY));
      assert.ok(!run.stderr().includes('tsr_'), 'the token is not logged');
      assert.ok(!server.log().includes(CANARY));
      assert.doesNotMatch(server.log(), /tsr_[A-Za-z0-9_-]{10}/);
      assert.match(server.log(), /task logged in/);
    } finally {
      run.kill();
      await run.ended();
    }
  });

  it("keeps the login's token out of the command's reach", async () => {
    await withTask();
    master.send({ type: 'TASK_ADDED', task_added: { task: masterTask(taskId) } });
    const script =
      'tr "\\0" "\\n" < /proc/$PPID/environ; echo "env=$(env | grep -c TESSERA_)"; echo done';
    const run = exec(script, loginEnv());
    try {
      await run.waitFor('done');
      assert.doesNotMatch(run.stdout(), /tsr_/);
      assert.match(run.stdout(), /env=0/);
    } finally {
      run.kill();
      await run.ended();
    }
  });

  it('masks a given token that the command prints', async () => {
    await withTask();
    const script = 'tr "\\0" "\\n" < /proc/$PPID/environ | grep ^TESSERA_TOKEN=; echo done';
    const env = loginEnv({ TESSERA_TOKEN: server.rootToken, TESSERA_LOGIN_ROLE: undefined });
    const run = exec(script, env);
    try {
      await run.waitFor('done');
      assert.match(run.stdout(), /^TESSERA_TOKEN=\*\*\*\*$/m);
      assert.ok(!run.stdout().includes(server.rootToken));
    } finally {
      run.kill();
      await run.ended();
    }
  });

  it('logs in even with a token file on the agent', async () => {
    await withTask();
    master.send({ type: 'TASK_ADDED', task_added: { task: masterTask(taskId) } });
    const tokenFile = join(dir.dir, 'operator-token');
    await writeFile(tokenFile, server.rootToken, { mode: 0o600 });
    const run = exec('echo "db=$DB"', loginEnv({ TESSERA_TOKEN_FILE: tokenFile }));
    try {
      await run.waitFor('db=****');
      assert.match(run.stderr(), /logged in as task .* with login role billing \(accessor /);
    } finally {
      run.kill();
      await run.ended();
    }
  });

  it('needs a task id to log in', async () => {
    const env = loginEnv({
      TESSERA_SECRETS: JSON.stringify({ version: 1, env: [], files: [] }),
    });
    const ran = await runTessera(['exec', '--', 'true'], { env });
    assert.equal(ran.code, 2);
    assert.match(
      ran.stderr,
      /logging in with TESSERA_LOGIN_ROLE needs the task id: set TESSERA_TASK_ID/,
    );
  });

  it('checks the login role name before logging in', async () => {
    await withTask();
    const ran = await runTessera(['exec', '--task', dir.taskFile, '--', 'true'], {
      env: loginEnv({ TESSERA_LOGIN_ROLE: 'Billing Team' }),
    });
    assert.equal(ran.code, 2);
    assert.match(ran.stderr, /TESSERA_LOGIN_ROLE is invalid; use 1 to 128 lowercase letters/);
  });

  it('loses its token when the task ends', async () => {
    await withTask();
    master.send({ type: 'TASK_ADDED', task_added: { task: masterTask(taskId) } });
    const login = await request(server, 'POST', '/v1/auth/mesos/login', {
      task_id: taskId,
      role: 'billing',
    });
    assert.equal(login.status, 200);
    const token = login.body.auth.client_token as string;
    const read = await fetch(`${server.address}/v1/secret/data/billing/db`, {
      headers: { 'x-vault-token': token },
    });
    assert.equal(read.status, 200);

    master.send(taskEnded(taskId));
    const started = Date.now();
    let status = 200;
    while (status === 200 && Date.now() - started < 5000) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      status = (
        await fetch(`${server.address}/v1/secret/data/billing/db`, {
          headers: { 'x-vault-token': token },
        })
      ).status;
    }
    assert.equal(status, 403);
  });

  it('is refused a second login of the same task', async () => {
    await withTask();
    master.send({ type: 'TASK_ADDED', task_added: { task: masterTask(taskId) } });
    const body = { task_id: taskId, role: 'billing' };
    assert.equal((await request(server, 'POST', '/v1/auth/mesos/login', body)).status, 200);
    const again = await request(server, 'POST', '/v1/auth/mesos/login', body);
    assert.equal(again.status, 403);
    assert.equal(again.body.code, 'TASK_LOGIN_DENIED');
    assert.match(again.body.message, /has logged in before/);
  });

  it('fails at once for a task on another agent', async () => {
    await withTask();
    master.send({ type: 'TASK_ADDED', task_added: { task: masterTask(taskId, 'S-far') } });
    const ran = await runTessera(['exec', '--task', dir.taskFile, '--', 'true'], {
      env: loginEnv(),
    });
    assert.equal(ran.code, 2);
    assert.match(
      ran.stderr,
      /may not log in: it runs on 192\.0\.2\.50, but the request came from 127\.0\.0\.1/,
    );
  });

  it('fails at once for a task the role does not admit', async () => {
    await withTask();
    const labels = [{ key: 'team', value: 'payroll' }];
    master.send({
      type: 'TASK_ADDED',
      task_added: { task: masterTask(taskId, 'S-local', labels) },
    });
    const ran = await runTessera(['exec', '--task', dir.taskFile, '--', 'true'], {
      env: loginEnv(),
    });
    assert.equal(ran.code, 2);
    assert.match(
      ran.stderr,
      /does not meet login role 'billing': its label 'team' is not 'billing'/,
    );
  });

  it('retries while the server has lost the master', async () => {
    await withTask();
    master.state.tasks = [masterTask(taskId)];
    master.answer = { status: 503 };
    master.endStreams();
    const run = exec();
    try {
      await run.waitFor(/logging in as task .* failed \(MASTER_UNAVAILABLE\)/, 15_000, 'stderr');
      master.answer = undefined;
      await run.waitFor('db=****', 30_000);
    } finally {
      master.answer = undefined;
      run.kill();
      await run.ended();
    }
  });

  it('runs a definition wrapped with --login-role', async () => {
    await withTask();
    master.send({ type: 'TASK_ADDED', task_added: { task: masterTask(taskId) } });
    const wrappedFile = `${dir.taskFile}.wrapped`;
    const wrap = await runTessera(
      [
        'wrap',
        '--login-role',
        'billing',
        '--tessera',
        TESSERA_BIN,
        '--output',
        wrappedFile,
        dir.taskFile,
      ],
      { env: loginEnv() },
    );
    assert.equal(wrap.code, 0, wrap.stderr);
    const wrapped = JSON.parse(await readFile(wrappedFile, 'utf8'));
    // The Mesos launcher runs `/bin/sh -c value` with the task's VALUE variables.
    const env = loginEnv();
    for (const variable of wrapped.command.environment.variables) {
      env[variable.name] = variable.value;
    }
    assert.equal(env.TESSERA_LOGIN_ROLE, 'billing');
    const shell = wrapped.command.value.replace(/ true$/, ` 'echo "db=$DB"'`);
    const child = spawn('/bin/sh', ['-c', shell], { env, cwd: dir.dir, timeout: 30_000 });
    child.stdin.end();
    const ran = await collect(child);
    assert.equal(ran.code, 0, ran.stderr);
    assert.equal(ran.stdout.toString(), 'db=****\n');
    assert.match(ran.stderr, /logged in as task .* with login role billing/);
  });

  it('reports the master in health', async () => {
    const health = await request(server, 'GET', '/v1/sys/health');
    assert.equal(health.body.mesos.following, true);
    assert.equal(typeof health.body.mesos.tasks, 'number');
  });
});

describe('a server that follows no master', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it('answers task logins with TASK_LOGIN_OFF', async () => {
    const login = await request(server, 'POST', '/v1/auth/mesos/login', {
      task_id: 't',
      role: 'r',
    });
    assert.equal(login.status, 404);
    assert.equal(login.body.code, 'TASK_LOGIN_OFF');
    assert.match(login.body.message, /start it with --mesos-master/);
  });
});
