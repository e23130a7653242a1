import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { runTessera, startServerProcess } from '../helpers/cli.ts';
import { type PostgresCluster, psqlAdmin, startPostgres } from '../helpers/postgres.ts';

const CANARY = 'CANARY-postgres-7d21';
const PASSWORD = 'planted-server-Pw/5';

function assertAbsent(bytes: Buffer, column: string): void {
  assert.equal(bytes.includes(CANARY), false, `${column} contains the value`);
  assert.equal(bytes.includes(Buffer.from(CANARY).toString('base64')), false, `${column}: base64`);
}

describe('tessera server --database-url', () => {
  let cluster: PostgresCluster;
  let home: string;
  let url: string;
  let base: NodeJS.ProcessEnv;

  before(async () => {
    cluster = await startPostgres();
    await psqlAdmin(cluster, `CREATE ROLE tessera LOGIN PASSWORD '${PASSWORD}'`);
    await psqlAdmin(cluster, 'CREATE DATABASE tessera OWNER tessera');
    const encoded = encodeURIComponent(PASSWORD);
    url = `postgres://tessera:${encoded}@127.0.0.1:${cluster.port}/tessera`;
    home = await mkdtemp(join(tmpdir(), 'tessera-server-pg-'));
    base = { PATH: process.env.PATH, HOME: home };
  });
  after(async () => {
    await cluster?.stop();
    await rm(home, { recursive: true, force: true });
  });

  test('two replicas share secrets, stored encrypted', async () => {
    const dataDir = join(home, 'data');
    const args = ['--data-dir', dataDir, '--database-url', url];
    const first = await startServerProcess(args, base);
    const second = await startServerProcess(args, base).catch(async (error) => {
      await first.stop();
      throw error;
    });
    try {
      assert.ok(first.rootToken?.startsWith('tsr_'));
      assert.equal(second.rootToken, undefined);
      const token = first.rootToken;
      const put = await runTessera(['put', 'ops/canary', 'value=-'], {
        env: { ...base, TESSERA_ADDR: first.address, TESSERA_TOKEN: token },
        input: CANARY,
      });
      assert.equal(put.code, 0, put.stderr);
      const got = await runTessera(['get', 'ops/canary', '--field', 'value'], {
        env: { ...base, TESSERA_ADDR: second.address, TESSERA_TOKEN: token },
      });
      assert.equal(got.code, 0, got.stderr);
      assert.equal(got.stdout.toString(), CANARY);
    } finally {
      await first.stop();
      await second.stop();
    }

    for (const output of [first.output(), second.output()]) {
      assert.equal(output.includes(PASSWORD), false, 'password in server output');
      assert.equal(output.includes(encodeURIComponent(PASSWORD)), false, 'encoded password');
      assert.equal(output.includes(CANARY), false, 'value in server output');
    }

    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      const { rows } = await db.query('SELECT ciphertext, wrapped_key FROM versions');
      assert.equal(rows.length, 1);
      assertAbsent(rows[0].ciphertext, 'ciphertext');
      assertAbsent(rows[0].wrapped_key, 'wrapped_key');
    } finally {
      await db.end();
    }
  });

  test('a replica without the keyring is refused', async () => {
    const ran = await runTessera(
      ['server', '--port', '0', '--data-dir', join(home, 'empty'), '--database-url', url],
      { env: base },
    );
    assert.equal(ran.code, 2);
    assert.match(ran.stderr, /already holds secrets or tokens/);
    assert.match(ran.stderr, /copy keyring\.json/);
    assert.equal(ran.stderr.includes(PASSWORD), false, 'password in the message');
    assert.equal(ran.stderr.includes(encodeURIComponent(PASSWORD)), false, 'encoded password');
  });

  test('a replica with another keyring is refused', async () => {
    // A SQLite server's first start makes a keyring of its own, which opens nothing here.
    const other = join(home, 'other');
    const sqlite = await startServerProcess(['--data-dir', other], base);
    await sqlite.stop();
    const ran = await runTessera(
      ['server', '--port', '0', '--data-dir', other, '--database-url', url],
      { env: base },
    );
    assert.equal(ran.code, 2);
    assert.match(ran.stderr, /does not open the secrets in this store/);
    assert.equal(ran.stderr.includes(PASSWORD), false, 'password in the message');
    assert.equal(ran.stderr.includes(CANARY), false, 'value in the message');
  });

  test('--database-url needs --data-dir', async () => {
    const ran = await runTessera(['server', '--port', '0', '--database-url', url], {
      env: base,
    });
    assert.equal(ran.code, 2);
    assert.match(ran.stderr, /--database-url needs --data-dir/);
    assert.equal(ran.stderr.includes(PASSWORD), false, 'password in the message');
  });
});
