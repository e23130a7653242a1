import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runTessera, type ServerProcess, startServerProcess } from '../helpers/cli.ts';

const SAMPLE = join(
  import.meta.dirname,
  '..',
  'fixtures',
  'mesos',
  'launch-group-with-secrets.json',
);

// Planted values: each must reach the task, and none may show up anywhere else.
const PASSWORD = Buffer.from('CANARY-db-password-7f3a\n');
const STRIPE = Buffer.concat([Buffer.from('CANARY-stripe-'), Buffer.from([0xc3, 0xa9])]);

describe('README walk-through, run as a user would', () => {
  let home: string;
  let server: ServerProcess;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'tessera-walkthrough-'));
    const base = { PATH: process.env.PATH, HOME: home };
    server = await startServerProcess(['--dev'], base);
    env = { ...base, TESSERA_ADDR: server.address };
  });
  after(async () => {
    await server.stop();
    await rm(home, { recursive: true, force: true });
  });

  test('the development server prints the address, a token and export lines', () => {
    assert.match(server.output(), /export TESSERA_ADDR='http:\/\/127\.0\.0\.1:\d+'/);
    assert.match(server.output(), /export TESSERA_TOKEN='tsr_/);
    assert.ok(server.rootToken?.startsWith('tsr_'));
  });

  test('the CLI finds the token in the file the dev server wrote', async () => {
    const token = await readFile(join(home, '.tessera-token'), 'utf8');
    assert.equal(token.trim(), server.rootToken);
  });

  test('import, then exec the launch-group sample with its secrets', async () => {
    const secretsFile = join(home, 'secrets.json');
    await writeFile(
      secretsFile,
      JSON.stringify([
        {
          reference: { name: '/billing/db', key: 'password' },
          value: { data: PASSWORD.toString('base64') },
        },
        {
          reference: { name: '/billing/stripe-api-key' },
          value: { data: STRIPE.toString('base64') },
        },
      ]),
    );
    const imported = await runTessera(['import', secretsFile], { env });
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(imported.stdout.toString(), /billing\/db {2}version 1/);

    const sandbox = await mkdtemp(join(home, 'sandbox-'));
    const script =
      'printf "%s|" "$DB_USER" "$DB_PASSWORD" "$STRIPE_API_KEY"; cat secrets/db-password; readlink secrets/db-password';
    // --no-mask, so that the values themselves can be compared byte for byte.
    const ran = await runTessera(
      ['exec', '--no-mask', '--task', SAMPLE, '--', 'sh', '-c', script],
      {
        env: { ...env, MESOS_SANDBOX: sandbox },
        cwd: sandbox,
      },
    );
    assert.equal(ran.code, 0, ran.stderr);

    const expected = Buffer.concat([
      Buffer.from('billing|'),
      PASSWORD,
      Buffer.from('|'),
      STRIPE,
      Buffer.from('|'),
      PASSWORD,
    ]);
    assert.deepEqual(ran.stdout.subarray(0, expected.length), expected);
    const link = ran.stdout.subarray(expected.length).toString().trim();
    assert.match(link, /^\/dev\/shm\/tessera-/);

    assert.equal(existsSync(link), false, 'the tmpfs file is removed after the command');
    assert.deepEqual(await readdir(sandbox), [], 'the link and its folder are removed');

    const masked = await runTessera(['exec', '--task', SAMPLE, '--', 'sh', '-c', script], {
      env: { ...env, MESOS_SANDBOX: sandbox },
      cwd: sandbox,
    });
    assert.equal(masked.code, 0, masked.stderr);
    assert.equal(masked.stdout.includes(PASSWORD.subarray(0, -1)), false, 'masked by default');
    assert.match(masked.stdout.toString(), /^billing\|\*\*\*\*/);
  });

  test('exec writes a file secret with non-UTF-8 bytes byte-exact', async () => {
    const keytab = Buffer.from([0x05, 0x02, 0x00, 0xff, 0xfe, 0x80, 0x0a, 0x0a]);
    const put = await runTessera(['put', 'kerberos/keytab', 'value=-'], { env, input: keytab });
    assert.equal(put.code, 0, put.stderr);
    const task = {
      name: 'kt',
      task_id: { value: 'kt-1' },
      command: { value: 'cat keytab' },
      container: {
        type: 'MESOS',
        volumes: [
          {
            mode: 'RO',
            container_path: 'keytab',
            source: {
              type: 'SECRET',
              secret: { type: 'REFERENCE', reference: { name: '/kerberos/keytab' } },
            },
          },
        ],
      },
    };
    const dir = await mkdtemp(join(home, 'keytab-'));
    const ran = await runTessera(['exec', '--no-mask', '--task', '-'], {
      env,
      cwd: dir,
      input: JSON.stringify(task),
    });
    assert.equal(ran.code, 0, ran.stderr);
    assert.deepEqual(ran.stdout, keytab);
    assert.deepEqual(await readdir(dir), []);
  });

  test('exec fails before starting the command when a secret is missing', async () => {
    const task = {
      name: 't',
      task_id: { value: 't-1' },
      command: {
        value: 'touch started',
        environment: {
          variables: [
            {
              name: 'MISSING',
              type: 'SECRET',
              secret: { type: 'REFERENCE', reference: { name: '/no/such' } },
            },
          ],
        },
      },
    };
    const dir = await mkdtemp(join(home, 'missing-'));
    const ran = await runTessera(['exec', '--task', '-'], {
      env,
      cwd: dir,
      input: JSON.stringify(task),
    });
    assert.equal(ran.code, 2);
    assert.match(ran.stderr, /no\/such/);
    assert.equal(ran.stderr.trim().split('\n').length, 1, 'one line of error');
    assert.equal(existsSync(join(dir, 'started')), false);
  });

  test('exec passes on the exit status of the command', async () => {
    const ran = await runTessera(['exec', '--task', SAMPLE, '--', 'sh', '-c', 'exit 7'], {
      env,
      cwd: home,
    });
    assert.equal(ran.code, 7);
  });

  test('no planted value shows in the server output or the CLI diagnostics', async () => {
    const listed = await runTessera(['list', 'billing/'], { env });
    const metadata = await runTessera(['metadata', 'billing/db'], { env });
    const everything = [
      server.output(),
      listed.stdout.toString(),
      listed.stderr,
      metadata.stdout.toString(),
      metadata.stderr,
    ].join('\n');
    for (const canary of [PASSWORD, STRIPE]) {
      assert.equal(everything.includes(canary.toString('latin1').trim()), false);
      assert.equal(everything.includes('CANARY'), false);
      assert.equal(everything.includes(canary.toString('base64')), false);
    }
  });
});
