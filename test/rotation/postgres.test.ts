import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  envSecret,
  execEnv,
  shellTask,
  startExecCli,
  writeTaskDir,
} from '../delivery/exec-cli-harness.ts';
import { runTessera } from '../helpers/cli.ts';
import { canLogin, type PostgresCluster, psqlAdmin, startPostgres } from '../helpers/postgres.ts';
import { request, startTestServer, type TestServer } from '../helpers/server.ts';

const HOOK = join(import.meta.dirname, '..', 'fixtures', 'rotation', 'postgres-hook.sh');
const OLD_PASSWORD = 'first-password-of-app';
const PRINT_ENV = 'echo "start $(printf %s "$PW" | sha256sum)"; while :; do sleep 0.1; done';

function sha(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

describe('rotation of a PostgreSQL role password', { timeout: 60_000 }, () => {
  let cluster: PostgresCluster | undefined;
  let server: TestServer | undefined;
  before(async () => {
    cluster = await startPostgres();
    await psqlAdmin(cluster, `CREATE ROLE app LOGIN PASSWORD '${OLD_PASSWORD}'`);
    server = await startTestServer();
  });
  after(async () => {
    await server?.close();
    await cluster?.stop();
  });

  it('rotates the role and restarts the task', async () => {
    const pg = cluster as PostgresCluster;
    const tessera = server as TestServer;
    const value = Buffer.from(OLD_PASSWORD).toString('base64');
    const put = await request(tessera, 'POST', '/v1/tessera/data/db/app', { fields: { value } });
    assert.equal(put.status, 200);
    assert.equal(await canLogin(pg, 'app', OLD_PASSWORD), true);

    const policy = {
      schedule: { interval: '1h' },
      generator: { type: 'password', length: 24, classes: ['lower', 'upper', 'digits'] },
      hook: {
        command: [
          'sh',
          HOOK,
          process.execPath,
          join(pg.binDir, 'psql'),
          pg.socketDir,
          String(pg.port),
          'app',
        ],
        timeout_seconds: 20,
      },
    };
    const set = await request(tessera, 'PUT', '/v1/tessera/rotation/db/app', policy);
    assert.equal(set.status, 200);

    const dir = await writeTaskDir(shellTask(PRINT_ENV, [envSecret('PW', '/db/app')]));
    const env = execEnv(tessera.address, tessera.rootToken);
    const exec = startExecCli(['--task', dir.taskFile, '--grace', '2'], env, dir.dir);
    try {
      await exec.waitFor(`start ${sha(OLD_PASSWORD)}`);
      await exec.waitFor(/change stream|secrets placed/, 5000, 'stderr');
      // The watch subscribes right after the command starts; a short wait lets it connect.
      await new Promise((resolve) => setTimeout(resolve, 500));

      const rotated = await runTessera(['rotate', 'db/app'], { env, timeoutMs: 40_000 });
      assert.equal(rotated.code, 0, rotated.stderr);

      const read = await request(tessera, 'GET', '/v1/tessera/data/db/app');
      const newPassword = Buffer.from(read.body.data.fields.value, 'base64').toString();
      assert.notEqual(newPassword, OLD_PASSWORD);
      assert.equal(read.body.data.metadata.version, 2);
      assert.equal(await canLogin(pg, 'app', newPassword), true);
      assert.equal(await canLogin(pg, 'app', OLD_PASSWORD), false);

      await exec.waitFor(`start ${sha(newPassword)}`, 15_000);
      assert.match(exec.stderr(), /environment variable PW changed; applying restart/);
      assert.ok(!tessera.log().includes(newPassword), 'the server log holds the new password');
      assert.ok(!rotated.stdout.toString().includes(newPassword));
    } finally {
      exec.kill();
      await exec.ended();
      await dir.cleanup();
    }
  });
});
