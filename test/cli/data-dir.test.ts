import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runTessera, startServerProcess } from '../helpers/cli.ts';

const CANARY = 'CANARY-persistent-4be1';

describe('tessera server --data-dir', () => {
  let home: string;
  let dataDir: string;
  let base: NodeJS.ProcessEnv;

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'tessera-data-dir-'));
    dataDir = join(home, 'data');
    base = { PATH: process.env.PATH, HOME: home };
  });
  after(() => rm(home, { recursive: true, force: true }));

  test('keeps secrets encrypted across restarts', async () => {
    const first = await startServerProcess(['--data-dir', dataDir], base);
    const env = { ...base, TESSERA_ADDR: first.address, TESSERA_TOKEN: first.rootToken };
    try {
      assert.ok(first.rootToken?.startsWith('tsr_'));
      const mode = (await stat(join(dataDir, 'keyring.json'))).mode & 0o777;
      assert.equal(mode, 0o600);

      const put = await runTessera(['put', 'ops/canary', 'value=-'], { env, input: CANARY });
      assert.equal(put.code, 0, put.stderr);
      assert.doesNotMatch(first.output(), new RegExp(CANARY));
    } finally {
      await first.stop();
    }

    const second = await startServerProcess(['--data-dir', dataDir], base);
    try {
      assert.equal(second.rootToken, undefined);
      assert.doesNotMatch(second.output(), /tsr_/);
      const env = { ...base, TESSERA_ADDR: second.address, TESSERA_TOKEN: first.rootToken };
      const got = await runTessera(['get', 'ops/canary', '--field', 'value'], { env });
      assert.equal(got.stdout.toString(), CANARY);
    } finally {
      await second.stop();
    }

    // Nothing but ciphertext reaches the database, its WAL or shared memory file.
    const files = (await readdir(dataDir)).filter((name) => name.startsWith('tessera.db'));
    assert.ok(files.length > 0);
    for (const name of files) {
      const bytes = await readFile(join(dataDir, name));
      assert.equal(bytes.includes(CANARY), false, name);
      assert.equal(bytes.includes(Buffer.from(CANARY).toString('base64')), false, name);
    }
  });

  test('a keyring that does not open the secrets is refused', async () => {
    const swapped = join(home, 'swapped');
    const server = await startServerProcess(['--data-dir', swapped], base);
    const env = { ...base, TESSERA_ADDR: server.address, TESSERA_TOKEN: server.rootToken };
    try {
      const put = await runTessera(['put', 'app/one', 'value=-'], { env, input: CANARY });
      assert.equal(put.code, 0, put.stderr);
    } finally {
      await server.stop();
    }
    // The keyring of another data directory replaces this one's.
    const stranger = join(home, 'stranger');
    await (await startServerProcess(['--data-dir', stranger], base)).stop();
    await copyFile(join(stranger, 'keyring.json'), join(swapped, 'keyring.json'));

    const ran = await runTessera(['server', '--data-dir', swapped, '--port', '0'], { env: base });
    assert.equal(ran.code, 2);
    assert.match(ran.stderr, /does not open the secrets in this store/);
    assert.equal(ran.stderr.includes(CANARY), false, 'value in the message');
  });

  test('a database without its keyring is refused with the fix', async () => {
    const orphanDir = join(home, 'orphan');
    const server = await startServerProcess(['--data-dir', orphanDir], base);
    await server.stop();
    await rm(join(orphanDir, 'keyring.json'));
    const ran = await runTessera(['server', '--data-dir', orphanDir, '--port', '0'], { env: base });
    assert.equal(ran.code, 2);
    assert.match(ran.stderr, /keyring .* is missing/);
  });

  test('a second server on the data directory is refused', async () => {
    const shared = join(home, 'shared');
    const first = await startServerProcess(['--data-dir', shared], base);
    try {
      const ran = await runTessera(['server', '--data-dir', shared, '--port', '0'], { env: base });
      assert.equal(ran.code, 2);
      assert.match(ran.stderr, /the data directory .*shared is in use by the Tessera server/);
      assert.match(ran.stderr, new RegExp(`process id ${first.child.pid}\\b`));
      assert.match(ran.stderr, /another --data-dir/);
    } finally {
      first.child.kill('SIGKILL');
      await new Promise((resolve) => first.child.once('exit', resolve));
    }

    // The kernel frees the lock of a process that died, so a restart is not blocked.
    const again = await startServerProcess(['--data-dir', shared], base);
    await again.stop();
  });

  test('a second server on the audit file is refused', async () => {
    const auditFile = join(home, 'audit.log');
    const first = await startServerProcess(
      ['--data-dir', join(home, 'audited-1'), '--audit-file', auditFile],
      base,
    );
    try {
      const ran = await runTessera(
        ['server', '--data-dir', join(home, 'audited-2'), '--audit-file', auditFile, '--port', '0'],
        { env: base },
      );
      assert.equal(ran.code, 2);
      assert.match(ran.stderr, /the audit file .*audit\.log is in use by the Tessera server/);
      assert.match(ran.stderr, new RegExp(`process id ${first.child.pid}\\b`));
      assert.match(ran.stderr, /another --audit-file/);
    } finally {
      await first.stop();
    }
  });
});
