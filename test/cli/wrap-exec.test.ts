import assert from 'node:assert/strict';
import { type StdioOptions, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { wrapDefinitionText } from '../../src/mesos/wrap-definition.ts';
import { collect, runTessera, TESSERA_BIN } from '../helpers/cli.ts';
import { request, startTestServer, type TestServer } from '../helpers/server.ts';

const SAMPLE = join(
  import.meta.dirname,
  '..',
  'fixtures',
  'mesos',
  'launch-group-with-secrets.json',
);
const PASSWORD = 'CANARY-wrap-db-password-41c7';
const STRIPE = 'CANARY-wrap-stripe-88e0';

// Stands in for the sample's `./billing-api`: writes what the task received to $OUT, a
// file, because tessera exec masks secret values in the command's stdout.
const BILLING_API = `#!/bin/sh
printf 'user=%s password=%s stripe=%s task=%s\\n' "$DB_USER" "$DB_PASSWORD" "$STRIPE_API_KEY" "\${TESSERA_SECRETS:-none}" > "$OUT"
printf 'file=%s\\n' "$(cat "$2")" >> "$OUT"
`;

describe('wrapped LAUNCH_GROUP run through tessera exec', () => {
  let server: TestServer;
  let sandbox: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    server = await startTestServer();
    const db = await request(server, 'POST', '/v1/secret/data/billing/db', {
      data: { password: PASSWORD },
    });
    assert.equal(db.status, 200);
    const stripe = await request(server, 'POST', '/v1/secret/data/billing/stripe-api-key', {
      data: { value: STRIPE },
    });
    assert.equal(stripe.status, 200);

    sandbox = await mkdtemp(join(tmpdir(), 'tessera-wrap-'));
    await writeFile(join(sandbox, 'billing-api'), BILLING_API);
    await chmod(join(sandbox, 'billing-api'), 0o755);
    env = {
      PATH: process.env.PATH,
      HOME: sandbox,
      MESOS_SANDBOX: sandbox,
      TESSERA_ADDR: server.address,
      TESSERA_TOKEN: server.rootToken,
    };
  });
  after(async () => {
    await server.close();
    await rm(sandbox, { recursive: true, force: true });
  });

  // Runs a wrapped task's command as the Mesos launcher would: `/bin/sh -c value`, with
  // the task's VALUE variables added to the environment, and OUT set to `out`.
  async function runTaskCommand(task: any, out: string) {
    const taskEnv: NodeJS.ProcessEnv = { ...env, OUT: out };
    for (const variable of task.command.environment.variables)
      taskEnv[variable.name] = variable.value;
    const child = spawn('/bin/sh', ['-c', task.command.value], {
      env: taskEnv,
      cwd: sandbox,
      timeout: 30_000,
    });
    child.stdin.end();
    return collect(child);
  }

  test('delivers the same values as --task', async () => {
    const directOut = join(sandbox, 'direct.out');
    const direct = await runTessera(['exec', '--task', SAMPLE], {
      env: { ...env, OUT: directOut },
      cwd: sandbox,
    });
    assert.equal(direct.code, 0, direct.stderr);

    const wrapped = wrapDefinitionText(await readFile(SAMPLE, 'utf8'), SAMPLE, {
      tessera: TESSERA_BIN,
    });
    const task = JSON.parse(wrapped.text).accept.operations[0].launch_group.task_group.tasks[0];
    assert.ok(!wrapped.text.includes(PASSWORD));

    const wrappedOut = join(sandbox, 'wrapped.out');
    const viaWrap = await runTaskCommand(task, wrappedOut);
    assert.equal(viaWrap.code, 0, viaWrap.stderr);

    const expected = `user=billing password=${PASSWORD} stripe=${STRIPE} task=none\nfile=${PASSWORD}\n`;
    assert.equal(await readFile(directOut, 'utf8'), expected);
    assert.equal(await readFile(wrappedOut, 'utf8'), expected);
  });

  test('delivers earlier and new secrets after a rewrap', async () => {
    const sample = JSON.parse(await readFile(SAMPLE, 'utf8'));
    const task = sample.accept.operations[0].launch_group.task_group.tasks[0];
    task.command.value = 'printf "%s %s\\n" "$DB_PASSWORD" "$NEW_KEY" > "$OUT"';
    const first = JSON.parse(
      wrapDefinitionText(JSON.stringify(sample), 'sample', { tessera: TESSERA_BIN }).text,
    );
    const firstTask = first.accept.operations[0].launch_group.task_group.tasks[0];
    firstTask.command.environment.variables.push({
      name: 'NEW_KEY',
      type: 'SECRET',
      secret: { type: 'REFERENCE', reference: { name: '/billing/stripe-api-key' } },
    });
    const again = JSON.parse(
      wrapDefinitionText(JSON.stringify(first), 'first', { tessera: TESSERA_BIN }).text,
    );
    const rewrapped = again.accept.operations[0].launch_group.task_group.tasks[0];
    assert.equal(rewrapped.command.value, firstTask.command.value);

    const out = join(sandbox, 'rewrapped.out');
    const ran = await runTaskCommand(rewrapped, out);
    assert.equal(ran.code, 0, ran.stderr);
    assert.equal(await readFile(out, 'utf8'), `${PASSWORD} ${STRIPE}\n`);
  });

  test('exec without --task or TESSERA_SECRETS fails clearly', async () => {
    const ran = await runTessera(['exec', '--', 'true'], { env, cwd: sandbox });
    // A usage error, as a missing argument is.
    assert.equal(ran.code, 1);
    assert.match(ran.stderr, /pass --task FILE, or set TESSERA_SECRETS/);
  });

  const reference = (name: string, key?: string) => ({
    type: 'REFERENCE',
    reference: key === undefined ? { name } : { name, key },
  });
  const variable = (name: string, secret: object) => ({ name, type: 'SECRET', secret });

  // Runs exec on a task with these secret variables and volumes.
  function execSecrets(variables: object[], volumes: object[] = []) {
    const task = {
      name: 't',
      task_id: { value: 't-secrets' },
      command: { value: 'touch started', environment: { variables } },
      ...(volumes.length > 0 ? { container: { type: 'MESOS', volumes } } : {}),
    };
    return runTessera(['exec', '--task', '-'], {
      env,
      cwd: sandbox,
      input: JSON.stringify(task),
    });
  }

  test('resolve errors name variables and files', async () => {
    const inline = {
      type: 'VALUE',
      value: { data: Buffer.from('inline-value').toString('base64') },
    };
    const ran = await execSecrets(
      [
        variable('FIRST', reference('/no/such-a')),
        variable('DB', reference('/billing/db', 'password')),
        variable('INLINE', inline),
        variable('LAST', reference('/no/such-b')),
      ],
      [
        {
          mode: 'RO',
          container_path: 'secrets/b',
          source: { type: 'SECRET', secret: reference('/no/such-b') },
        },
      ],
    );
    assert.equal(ran.code, 2);
    assert.match(
      ran.stderr,
      /2 of 4 secrets failed to resolve: environment variable FIRST: secret no\/such-a not found.*; environment variable LAST and file secrets\/b: secret no\/such-b not found/,
    );
    assert.doesNotMatch(ran.stderr, /secrets\[\d\]/);
    // The advice that both failures share comes once, at the end.
    assert.equal(ran.stderr.match(/check the path/g)?.length, 1);
    assert.match(ran.stderr, /check the path[^;]*\n$/);
    assert.doesNotMatch(ran.stderr, new RegExp(PASSWORD));
  });

  test('missing key lists the fields', async () => {
    const ran = await execSecrets([variable('DB', reference('/billing/db', 'pasword'))]);
    assert.equal(ran.code, 2);
    assert.match(
      ran.stderr,
      /environment variable DB: secret 'billing\/db' has no field 'pasword'; its fields are: password\n/,
    );
    assert.doesNotMatch(ran.stderr, /tessera get/);
    assert.doesNotMatch(ran.stderr, new RegExp(PASSWORD));
  });

  test('unstartable command exits 127 or 126', async () => {
    const notExecutable = join(sandbox, 'not-executable');
    await writeFile(notExecutable, 'echo never\n');
    const cases: [string, number, RegExp][] = [
      [join(sandbox, 'no-such-program'), 127, /no-such-program: ENOENT/],
      [notExecutable, 126, /not-executable: EACCES/],
    ];
    for (const [program, status, message] of cases) {
      const ran = await runTessera(['exec', '--task', SAMPLE, '--', program], {
        env,
        cwd: sandbox,
      });
      assert.equal(ran.code, status, ran.stderr);
      assert.match(ran.stderr, message);
      assert.equal(existsSync(join(sandbox, 'secrets', 'db-password')), false);
      assert.doesNotMatch(ran.stderr, new RegExp(PASSWORD));
    }
  });

  test('removed working directory exits 127', async () => {
    const removedDir = await mkdtemp(join(sandbox, 'gone-'));
    // The shell stays in the directory it removes, as a user's shell can.
    const script = `cd "$1" && rmdir "$1" && exec "$2" exec --task "$3" -- true`;
    const child = spawn('sh', ['-c', script, 'sh', removedDir, TESSERA_BIN, SAMPLE], {
      env,
      timeout: 20_000,
    });
    const ran = await collect(child);
    assert.equal(ran.code, 127, ran.stderr);
    assert.match(ran.stderr, /the working directory is gone \(ENOENT\); run tessera exec from/);
    assert.doesNotMatch(ran.stderr, /internal error/);
  });

  test('unwritable output still cleans up', async (t) => {
    if (!existsSync('/dev/full')) return t.skip('no /dev/full here');
    const script = `echo "$DB_PASSWORD"; echo err >&2; sleep 0.2; echo "$DB_PASSWORD"; exit 3`;
    for (const stream of [1, 2]) {
      const full = openSync('/dev/full', 'w');
      try {
        const stdio: StdioOptions =
          stream === 1 ? ['ignore', full, 'pipe'] : ['ignore', 'pipe', full];
        const child = spawn(TESSERA_BIN, ['exec', '--task', SAMPLE, '--', 'sh', '-c', script], {
          env,
          cwd: sandbox,
          stdio,
          timeout: 20_000,
        });
        const ran = await collect(child);
        const diagnostics = `${ran.stderr}${ran.stdout.toString()}`;
        // The command's status (or SIGPIPE's 141), not a crash of exec.
        assert.ok([3, 141].includes(ran.code as number), `status ${ran.code}: ${diagnostics}`);
        assert.doesNotMatch(diagnostics, /ENOSPC.*\n\s+at /);
        assert.equal(existsSync(join(sandbox, 'secrets', 'db-password')), false);
        assert.doesNotMatch(diagnostics, new RegExp(PASSWORD));
      } finally {
        closeSync(full);
      }
    }
  });

  test('TESSERA_SECRETS without a command fails clearly', async () => {
    const secrets = JSON.stringify({ version: 1, env: [], files: [] });
    const ran = await runTessera(['exec'], {
      env: { ...env, TESSERA_SECRETS: secrets },
      cwd: sandbox,
    });
    assert.equal(ran.code, 1);
    assert.match(ran.stderr, /give the command to run after --/);
  });
});
