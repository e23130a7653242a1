// Several servers on one PostgreSQL database. Changes and policy edits reach the other
// replicas, and one replica runs the scheduler. A rotation runs on one replica at a time,
// and two replicas started at once on an empty database create one keyring.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';

import { parseEvents } from '../../src/client/watch.ts';
import { isTesseraError } from '../../src/errors.ts';
import { rotationLockName } from '../../src/rotation/rotator.ts';
import { SERVER_DEFAULTS, startServer } from '../../src/server/start.ts';
import { CLUSTER_CHANNEL, openPostgresCluster } from '../../src/store/postgres-cluster.ts';
import { capturedLogger } from '../helpers/log.ts';
import { type PostgresCluster, psqlAdmin, startPostgres } from '../helpers/postgres.ts';
import { requestAt } from '../helpers/server.ts';
import { until } from '../helpers/wait.ts';

const PASSWORD = 'cluster-db-Pw/8';
const CANARY = 'CANARY-cluster-41f9';
const TICK_MS = 100;

interface Replica {
  address: string;
  rootToken?: string;
  log(): string;
  close(): Promise<void>;
}

async function startReplica(
  dataDir: string,
  databaseUrl: string,
  auditFile?: string,
): Promise<Replica> {
  const { logger, text: log } = capturedLogger();
  const server = await startServer(
    {
      dev: false,
      dataDir,
      databaseUrl,
      auditFile,
      host: '127.0.0.1',
      port: 0,
      limits: { maxSecretBytes: SERVER_DEFAULTS.maxSecretBytes, requestTimeoutMs: 10_000 },
      failureLimit: { ...SERVER_DEFAULTS.failureLimit },
      rotationTickMs: TICK_MS,
    },
    logger,
  );
  return { address: server.address, rootToken: server.rootToken, log, close: server.close };
}

function call(replica: Replica, token: string, method: string, route: string, body?: unknown) {
  return requestAt(replica.address, token, method, route, body);
}

function putBody(value: string) {
  return { fields: { value: Buffer.from(value).toString('base64') } };
}

// Writes a first version of `path` and sets a password rotation on it, with `hook` if given.
async function setUpRotation(replica: Replica, token: string, path: string, hook?: unknown) {
  await call(replica, token, 'POST', `/v1/tessera/data/${path}`, putBody(`first-of-${path}`));
  const policy = {
    schedule: { interval: '1h' },
    generator: { type: 'password', length: 20, classes: ['lower', 'digits'] },
    ...(hook === undefined ? {} : { hook }),
  };
  const set = await call(replica, token, 'PUT', `/v1/tessera/rotation/${path}`, policy);
  assert.equal(set.status, 200, JSON.stringify(set.body));
}

function openStream(replica: Replica, token: string, path: string) {
  const abort = new AbortController();
  const events: { event: string; data: string }[] = [];
  let raw = '';
  const reading = (async () => {
    const response = await fetch(`${replica.address}/v1/tessera/watch?path=${path}`, {
      headers: { 'x-vault-token': token },
      signal: abort.signal,
    });
    const body = response.body as unknown as AsyncIterable<Uint8Array>;
    const tee = (async function* () {
      for await (const chunk of body) {
        raw += Buffer.from(chunk).toString('utf8');
        yield chunk;
      }
    })();
    for await (const event of parseEvents(tee)) events.push(event);
  })().catch(() => undefined);
  return {
    events,
    raw: () => raw,
    close: async () => {
      abort.abort();
      await reading;
    },
  };
}

describe('replicas on one PostgreSQL database', { timeout: 120_000 }, () => {
  let cluster: PostgresCluster;
  let home: string;
  let url: string;
  let first: Replica;
  let second: Replica;
  let root: string;

  before(async () => {
    cluster = await startPostgres();
    await psqlAdmin(cluster, `CREATE ROLE tessera LOGIN PASSWORD '${PASSWORD}'`);
    await psqlAdmin(cluster, 'CREATE DATABASE tessera OWNER tessera');
    await psqlAdmin(cluster, 'CREATE DATABASE tessera_race OWNER tessera');
    const base = `postgres://tessera:${encodeURIComponent(PASSWORD)}@127.0.0.1:${cluster.port}`;
    url = `${base}/tessera`;
    home = await mkdtemp(join(tmpdir(), 'tessera-cluster-'));
    first = await startReplica(join(home, 'data'), url);
    second = await startReplica(join(home, 'data'), url);
    root = first.rootToken as string;
  });
  after(async () => {
    await first?.close();
    await second?.close();
    await cluster?.stop();
    await rm(home, { recursive: true, force: true });
  });

  it('sends a change written through one replica to a watch on another', async () => {
    const stream = openStream(second, root, 'shared/a');
    // Listens on the replicas' channel too, to check what travels between them.
    const listener = new pg.Client({ connectionString: url });
    const payloads: string[] = [];
    listener.on('notification', (message) => payloads.push(message.payload ?? ''));
    await listener.connect();
    await listener.query(`LISTEN ${CLUSTER_CHANNEL}`);
    try {
      await until(() => stream.events.length >= 1, 'the stream is ready');
      assert.equal(
        (await call(first, root, 'POST', '/v1/tessera/data/shared/a', putBody(CANARY))).status,
        200,
      );
      await until(
        () => stream.events.some((event) => event.event === 'change'),
        'the change arrives',
      );
      const change = stream.events.find((event) => event.event === 'change');
      assert.deepEqual(JSON.parse(change?.data ?? '{}'), {
        path: 'shared/a',
        version: 1,
        kind: 'written',
      });
      assert.equal(stream.raw().includes(CANARY), false, 'the value is in the stream');
      await until(() => payloads.length > 0, 'the change travels between replicas');
      assert.equal(payloads.join('\n').includes(CANARY), false, 'the value was notified');
    } finally {
      await stream.close();
      await listener.end();
    }
  });

  it('applies a policy change made through another replica at once', async () => {
    const readAll = {
      policy: JSON.stringify({ rules: [{ path: 'team/*', capabilities: ['read'] }] }),
    };
    assert.equal(
      (await call(first, root, 'PUT', '/v1/sys/policies/acl/team', readAll)).status,
      204,
    );
    await call(first, root, 'POST', '/v1/tessera/data/team/db', putBody('team-value-1'));
    const created = await call(first, root, 'POST', '/v1/auth/token/create', {
      policies: ['team'],
    });
    const token = created.body.auth.client_token as string;
    // The second replica reads the policy now and keeps it in its cache.
    assert.equal((await call(second, token, 'GET', '/v1/tessera/data/team/db')).status, 200);

    const denyAll = {
      policy: JSON.stringify({ rules: [{ path: 'team/*', capabilities: ['deny'] }] }),
    };
    assert.equal(
      (await call(first, root, 'PUT', '/v1/sys/policies/acl/team', denyAll)).status,
      204,
    );
    await until(
      async () => (await call(second, token, 'GET', '/v1/tessera/data/team/db')).status === 403,
      'the second replica denies the read',
      2000,
    );
  });

  it('shows on one replica the versions a task reported to another', async () => {
    await call(first, root, 'POST', '/v1/tessera/data/shared/task', putBody('task-value'));
    const report = { task_id: 'web.1', secrets: [{ path: 'shared/task', version: 1 }] };
    assert.equal(
      (await call(first, root, 'POST', '/v1/tessera/tasks/versions', report)).status,
      200,
    );
    await until(async () => {
      const listed = await call(second, root, 'GET', '/v1/tessera/tasks?path=shared/task');
      return listed.body.data.tasks.some((task: { task_id: string }) => task.task_id === 'web.1');
    }, 'the second replica lists the task');
  });

  it('runs the scheduler on one replica and hands it over', async () => {
    const leads = (replica: Replica) => replica.log().includes('now runs scheduled rotations');
    assert.equal(leads(first), true, 'the first replica leads');
    assert.equal(leads(second), false, 'the second replica leads as well');

    const third = await startReplica(join(home, 'data'), url);
    try {
      await first.close();
      await until(() => leads(second) || leads(third), 'another replica leads', 3000);
      assert.equal(leads(second) && leads(third), false, 'two replicas lead');
    } finally {
      first = third;
    }
  });

  it('runs a due rotation once', async () => {
    const path = 'shared/due';
    await setUpRotation(second, root, path);
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      const due =
        "UPDATE rotations SET next_run_time = now() - interval '1 minute' WHERE path = $1";
      await db.query(due, [path]);
      const version = async () =>
        (await call(first, root, 'GET', `/v1/tessera/data/${path}`)).body.data.metadata.version;
      await until(async () => (await version()) === 2, 'the scheduler rotates the secret');
      await new Promise((resolve) => setTimeout(resolve, TICK_MS * 5));
      assert.equal(await version(), 2, 'the secret rotated more than once');
      const history = await call(second, root, 'GET', `/v1/tessera/history/${path}`);
      const events = history.body.data.rotation.events as { outcome: string }[];
      const outcomes = events.map((event) => event.outcome);
      assert.deepEqual(outcomes, ['succeeded']);
    } finally {
      await db.end();
    }
  });

  it('rejects a rotation that another server runs, and recovers it when that ends', async () => {
    const path = 'shared/rotated';
    await setUpRotation(second, root, path);

    // A process that holds the path's lock stands for a replica in the middle of a rotation.
    const { logger } = capturedLogger();
    const other = await openPostgresCluster(url, logger);
    const lock = await other.tryLock(rotationLockName(path));
    assert.ok(lock, 'the lock was free');
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      const busy = await call(second, root, 'POST', `/v1/tessera/rotate/${path}`, {});
      assert.equal(busy.status, 409);
      assert.equal(busy.body.code, 'ROTATION_RUNNING');
      assert.match(busy.body.errors[0], /rotating on another server/);

      // Interrupted in its set step: the leader leaves it alone while the lock is held.
      const interrupted = {
        step: 'set',
        pendingVersion: 1,
        tokenAccessor: null,
        startedTime: null,
        events: [],
      };
      await db.query('UPDATE rotations SET state = $1 WHERE path = $2', [
        JSON.stringify(interrupted),
        path,
      ]);
      await new Promise((resolve) => setTimeout(resolve, TICK_MS * 5));
      const held = await db.query('SELECT state FROM rotations WHERE path = $1', [path]);
      assert.equal(JSON.parse(held.rows[0].state).step, 'set');

      await lock.release();
      await until(async () => {
        const { rows } = await db.query('SELECT state FROM rotations WHERE path = $1', [path]);
        return JSON.parse(rows[0].state).step === 'idle';
      }, 'the leader recovers the rotation');
      const rotated = await call(second, root, 'POST', `/v1/tessera/rotate/${path}`, {});
      assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
      assert.equal(rotated.body.data.outcome, 'succeeded');
    } finally {
      await lock.release();
      await other.close();
      await db.end();
    }
  });

  it('stops a rotation whose lock is lost, and lets another server finish it', async () => {
    const path = 'shared/lost';
    const slow = 'grep -q \'"step":"set"\' && sleep 2; exit 0';
    await setUpRotation(second, root, path, {
      command: ['sh', '-c', slow],
      timeout_seconds: 10,
    });
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      const rotating = call(second, root, 'POST', `/v1/tessera/rotate/${path}`, {});
      const step = async () => {
        const { rows } = await db.query('SELECT state FROM rotations WHERE path = $1', [path]);
        return JSON.parse(rows[0].state).step as string;
      };
      await until(async () => (await step()) === 'set', 'the rotation reaches set');
      // Ends the connection that holds the rotation's advisory lock (second key: hashtext).
      const cut = await db.query(
        `SELECT pg_terminate_backend(l.pid) FROM pg_locks l
         WHERE l.locktype = 'advisory' AND l.classid = 32341
           AND l.objid = ((hashtext($1)::bigint + 4294967296) % 4294967296)::oid`,
        [`rotation:${path}`],
      );
      assert.equal(cut.rows.length, 1, 'no connection held the lock');

      const first = await rotating;
      assert.equal(first.body.data.outcome, 'interrupted', JSON.stringify(first.body));
      await until(async () => (await step()) === 'idle', 'another server finishes it', 10_000);
      const history = await call(second, root, 'GET', `/v1/tessera/history/${path}`);
      const events = history.body.data.rotation.events as { outcome: string }[];
      assert.deepEqual(
        events.map((event) => event.outcome),
        ['succeeded'],
      );
      assert.equal(history.body.data.versions.length, 2, 'the rotation ran twice');
    } finally {
      await db.end();
    }
  });

  it('resets watch streams after the connection that listens is cut', async () => {
    const stream = openStream(second, root, 'shared/b');
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      await until(() => stream.events.length >= 1, 'the stream is ready');
      const ended = await db.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN tessera_cluster%'",
      );
      assert.ok(ended.rows.length >= 2, 'no listening connection found');
      await until(
        () => stream.events.some((event) => event.event === 'reset'),
        'a reset arrives',
        5000,
      );

      await call(first, root, 'POST', '/v1/tessera/data/shared/b', putBody('after-the-cut'));
      await until(
        () => stream.events.some((event) => event.event === 'change'),
        'the change arrives',
      );
    } finally {
      await stream.close();
      await db.end();
    }
  });

  it('creates one keyring when two replicas start at once on an empty database', async () => {
    const raceUrl = url.replace(/\/tessera$/, '/tessera_race');
    const started = await Promise.allSettled([
      startReplica(join(home, 'race-a'), raceUrl),
      startReplica(join(home, 'race-b'), raceUrl),
    ]);
    const replicas = started.flatMap((result) =>
      result.status === 'fulfilled' ? [result.value] : [],
    );
    const errors = started.flatMap((result) =>
      result.status === 'rejected' ? [result.reason] : [],
    );
    try {
      assert.equal(replicas.length, 1, 'both replicas started');
      assert.ok(replicas[0]?.rootToken, 'the replica that started has no root token');
      assert.equal(errors.length, 1);
      assert.ok(isTesseraError(errors[0]));
      assert.equal(errors[0].code, 'CONFIG_INVALID');
      assert.match(errors[0].message, /copy keyring\.json/);
      assert.equal(errors[0].message.includes(PASSWORD), false, 'the password is in the message');
    } finally {
      await Promise.all(replicas.map((replica) => replica.close()));
    }
  });

  it('reports the store in health, 503 while the database refuses it', async () => {
    const health = async () => {
      const response = await fetch(`${second.address}/v1/sys/health`);
      return {
        status: response.status,
        body: (await response.json()) as { store: { ok: boolean } },
      };
    };
    assert.deepEqual((await health()).body.store, { ok: true });
    await psqlAdmin(cluster, 'ALTER ROLE tessera NOLOGIN');
    try {
      await psqlAdmin(
        cluster,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'tessera'",
      );
      await until(async () => (await health()).status === 503, 'health reports 503');
      assert.equal((await health()).body.store.ok, false);
    } finally {
      await psqlAdmin(cluster, 'ALTER ROLE tessera LOGIN');
    }
    await until(async () => (await health()).status === 200, 'health recovers', 10_000);
  });

  // Last, because it leaves the root token revoked.
  it('keeps one administrator token when two replicas revoke at once', async () => {
    const admin = async () => {
      const created = await call(first, root, 'POST', '/v1/auth/token/create', {
        policies: ['root'],
        no_parent: true,
      });
      return created.body.auth as { client_token: string; accessor: string };
    };
    const one = await admin();
    const two = await admin();
    const rootAccessor = (await call(first, root, 'GET', '/v1/auth/token/lookup-self')).body.data
      .accessor as string;
    const revokeRoot = { accessor: rootAccessor };
    const revokedRoot = await call(
      first,
      one.client_token,
      'POST',
      '/v1/auth/token/revoke-accessor',
      revokeRoot,
    );
    assert.equal(revokedRoot.status, 204, JSON.stringify(revokedRoot.body));

    // Each replica revokes the token that the other one uses, at the same moment.
    const [a, b] = await Promise.all([
      call(first, two.client_token, 'POST', '/v1/auth/token/revoke-accessor', {
        accessor: one.accessor,
      }),
      call(second, one.client_token, 'POST', '/v1/auth/token/revoke-accessor', {
        accessor: two.accessor,
      }),
    ]);
    const statuses = [a.status, b.status].sort();
    assert.deepEqual(statuses, [204, 409], JSON.stringify([a.body, b.body]));
  });

  it('shares a data directory but not an audit file', async () => {
    // The two replicas of this suite already share one data directory.
    const auditFile = join(home, 'audit.log');
    const audited = await startReplica(join(home, 'data'), url, auditFile);
    try {
      await assert.rejects(startReplica(join(home, 'data'), url, auditFile), (error) => {
        assert.ok(isTesseraError(error, 'CONFIG_INVALID'), String(error));
        assert.match(error.message, /the audit file .*audit\.log is in use/);
        assert.match(error.message, /another --audit-file/);
        return true;
      });
      const other = await startReplica(join(home, 'data'), url, join(home, 'audit-2.log'));
      await other.close();
    } finally {
      await audited.close();
    }
  });

  it('keeps values and the database password out of every log', () => {
    for (const replica of [first, second]) {
      assert.equal(replica.log().includes(CANARY), false, 'value in a server log');
      assert.equal(replica.log().includes(PASSWORD), false, 'password in a server log');
    }
  });
});
