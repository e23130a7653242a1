import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runTessera, type ServerProcess, startServerProcess } from '../helpers/cli.ts';
import { FakeVault } from '../helpers/fake-vault.ts';
import { readCase } from './helpers.ts';

const VAULT_TOKEN = 'hvs.PLACEHOLDER-exec-token';
const FILE_SECRET = 'CANARY-file-db-password-5e1';
const VAULT_SECRET = 'CANARY-vault-api-key-93b';

// Splits each NAME=VALUE line at its first '=' only, as the kernel hands them to a process.
async function envFixture(): Promise<Record<string, string>> {
  const path = join(
    import.meta.dirname,
    '..',
    'fixtures',
    'cases',
    '17-env-backend-dollar-signs.env',
  );
  const variables: Record<string, string> = {};
  for (const line of (await readFile(path, 'utf8')).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    variables[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
  }
  return variables;
}

function secretsFile(entries: [string, string | undefined, Buffer][]) {
  return JSON.stringify(
    entries.map(([name, key, data]) => ({
      reference: key === undefined ? { name } : { name, key },
      value: { data: data.toString('base64') },
    })),
  );
}

function envTask(
  variables: Record<string, { name: string; key?: string }>,
  volumes: unknown[] = [],
) {
  return JSON.stringify({
    name: 't',
    task_id: { value: 't-1' },
    command: {
      value: 'true',
      environment: {
        variables: Object.entries(variables).map(([name, reference]) => ({
          name,
          type: 'SECRET',
          secret: { type: 'REFERENCE', reference },
        })),
      },
    },
    ...(volumes.length > 0 ? { container: { type: 'MESOS', volumes } } : {}),
  });
}

describe('tessera exec with file, env and Vault backends', () => {
  let home: string;
  let file: string;
  let audit: string;
  let vault: FakeVault;
  let server: ServerProcess;
  let env: NodeJS.ProcessEnv;
  let variables: Record<string, string>;

  const api = async (method: string, path: string, body?: unknown, token = server.rootToken) => {
    const response = await fetch(server.address + path, {
      method,
      headers: {
        'x-vault-token': token ?? '',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const parsed: any = await response.json().catch(() => undefined);
    return { status: response.status, body: parsed };
  };
  const tokenFor = async (name: string, rules: unknown[]) => {
    const put = await api('PUT', `/v1/sys/policies/acl/${name}`, {
      policy: JSON.stringify({ rules }),
    });
    assert.equal(put.status, 204);
    const created = await api('POST', '/v1/auth/token/create', { policies: [name] });
    return created.body.auth.client_token as string;
  };
  const resolveOne = async (name: string, key?: string) => {
    const reference = key === undefined ? { name } : { name, key };
    return api('POST', '/v1/tessera/resolve', { secrets: [{ type: 'REFERENCE', reference }] });
  };

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'tessera-backends-'));
    file = join(home, 'secrets.json');
    audit = join(home, 'audit.log');
    await writeFile(file, secretsFile([['/db', 'password', Buffer.from(FILE_SECRET)]]));

    const keytab = readCase('19-dcos-base64-binary-keytab.json');
    await writeFile(join(home, 'dcos.json'), JSON.stringify(keytab.fileBackend));

    const tokenFile = join(home, 'vault-token');
    await writeFile(tokenFile, VAULT_TOKEN);
    vault = new FakeVault();
    vault.addToken(VAULT_TOKEN, 3600);
    vault.mounts.set('kv2/', { type: 'kv', version: '2' });
    vault.mounts.set('secret/', { type: 'kv', version: '1' });
    vault.v2.set('kv2/apps/web', [{ data: { api_key: VAULT_SECRET } }]);
    const plugin = readCase('10-marathon-vault-plugin-field-selector.json');
    vault.v1.set(
      'secret/shared/abc/xyz',
      plugin.vaultKvV1Responses['GET /v1/secret/shared/abc/xyz'].body.data,
    );
    const address = await vault.start();

    variables = await envFixture();
    const base = { PATH: process.env.PATH, HOME: home };
    const vaultSpec = (path: string) => `vault:${address},path=${path},token_file=${tokenFile}`;
    server = await startServerProcess(
      [
        '--dev',
        '--audit-file',
        audit,
        '--mount',
        `ext/=file:${file}`,
        '--mount',
        'envs/=env:MSEC_',
        '--mount',
        `vault/=${vaultSpec('kv2/')}`,
        '--mount',
        `shared/=${vaultSpec('secret/shared/')}`,
        '--mount',
        `private/=${vaultSpec('secret/private/')}`,
        '--mount',
        `dcos/=file:${join(home, 'dcos.json')}`,
        '--mount',
        `dcos64/=file:${join(home, 'dcos.json')},dcos_base64`,
      ],
      { ...base, ...variables },
    );
    env = { ...base, TESSERA_ADDR: server.address };
  });
  after(async () => {
    await server?.stop();
    await vault?.close();
    await rm(home, { recursive: true, force: true });
  });

  test('exec gets secrets from each backend kind', async () => {
    const token = await tokenFor('backends', [
      { path: 'ext/*', capabilities: ['read'] },
      { path: 'envs/*', capabilities: ['read'] },
      { path: 'vault/*', capabilities: ['read'] },
    ]);
    const task = envTask({
      FROM_FILE: { name: '/ext/db', key: 'password' },
      FROM_ENV: { name: '/envs/DB_PASSWORD' },
      FROM_VAULT: { name: '/vault/apps/web', key: 'api_key' },
    });
    // exec masks secret values in the command's output, so the command writes them to a file.
    const script = 'printf "%s|%s|%s" "$FROM_FILE" "$FROM_ENV" "$FROM_VAULT" > seen';
    const ran = await runTessera(['exec', '--task', '-', '--', 'sh', '-c', script], {
      env: { ...env, TESSERA_TOKEN: token },
      cwd: home,
      input: task,
    });
    assert.equal(ran.code, 0, ran.stderr);
    const seen = await readFile(join(home, 'seen'), 'utf8');
    assert.equal(seen, `${FILE_SECRET}|${variables.MSEC_DB_PASSWORD}|${VAULT_SECRET}`);

    const lines = (await readFile(audit, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    for (const path of ['ext/db', 'envs/DB_PASSWORD', 'vault/apps/web']) {
      const entry = lines.find((line) => line.path === path && line.operation === 'secret.resolve');
      assert.equal(entry?.outcome, 'allowed', `audit entry for ${path}`);
    }
    const log = `${await readFile(audit, 'utf8')}${server.output()}`;
    for (const value of [FILE_SECRET, VAULT_SECRET, VAULT_TOKEN]) assert.ok(!log.includes(value));
  });

  test('policy denies a backend path like a stored one', async () => {
    const token = await tokenFor('file-only', [{ path: 'ext/*', capabilities: ['read'] }]);
    const ran = await runTessera(['exec', '--task', '-'], {
      env: { ...env, TESSERA_TOKEN: token },
      cwd: home,
      input: envTask({ FROM_VAULT: { name: '/vault/apps/web', key: 'api_key' } }),
    });
    assert.equal(ran.code, 2);
    assert.match(ran.stderr, /permission denied on 'vault\/apps\/web'/);
    const lines = (await readFile(audit, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    assert.ok(lines.some((line) => line.path === 'vault/apps/web' && line.outcome === 'denied'));
  });

  test('writes under a mount are READ_ONLY_MOUNT', async () => {
    const written = await api('POST', '/v1/secret/data/ext/db', { data: { password: 'x' } });
    assert.equal(written.status, 405);
    assert.equal(written.body.code, 'READ_ONLY_MOUNT');
    assert.ok(written.body.message.includes(file), written.body.message);
    const deleted = await api('DELETE', '/v1/secret/metadata/vault/apps/web');
    assert.equal(deleted.body.code, 'READ_ONLY_MOUNT');
    const own = await api('POST', '/v1/tessera/data/envs/X', { fields: { value: 'eA==' } });
    assert.equal(own.body.code, 'READ_ONLY_MOUNT');
  });

  test('KV read and list under a mount', async () => {
    const read = await api('GET', '/v1/secret/data/vault/apps/web');
    assert.equal(read.status, 200);
    assert.equal(read.body.data.data.api_key, VAULT_SECRET);
    assert.equal(read.body.data.metadata.version, 1);
    const listed = await api('GET', '/v1/secret/metadata/ext/?list=true');
    assert.deepEqual(listed.body.data.keys, ['db']);
    const root = await api('GET', '/v1/secret/metadata/?list=true');
    assert.ok(root.body.data.keys.includes('ext/'));
  });

  test('case 17: env values are verbatim', async () => {
    for (const [name, value] of Object.entries(variables)) {
      if (!name.startsWith('MSEC_')) continue;
      const resolved = await resolveOne(`/envs/${name.slice('MSEC_'.length)}`);
      assert.equal(resolved.status, 200, name);
      assert.equal(
        Buffer.from(resolved.body.data.secrets[0].data, 'base64').toString(),
        value,
        name,
      );
    }
    assert.equal(variables.MSEC_EMPTY, '');
    assert.equal(variables.MSEC_EQUALS_IN_VALUE, 'a=b=c');
    const lower = await resolveOne('/envs/lowercase_prefix');
    assert.equal(lower.body.code, 'RESOLVE_FAILED');
    assert.equal(lower.body.details.errors[0].code, 'NOT_FOUND');
    const other = await resolveOne('/envs/DB_PASSWORD__X');
    assert.equal(other.body.details.errors[0].code, 'NOT_FOUND');
  });

  test('case 10: plugin-style references through Vault', async () => {
    const found = await resolveOne('/shared/abc/xyz', 'password');
    assert.equal(
      Buffer.from(found.body.data.secrets[0].data, 'base64').toString(),
      'PLACEHOLDER-shared-pass',
    );

    const marker = join(home, 'started');
    const ran = await runTessera(['exec', '--task', '-', '--', 'touch', marker], {
      env: { ...env, TESSERA_TOKEN: server.rootToken },
      cwd: home,
      input: envTask({
        ENV_NAME: { name: '/shared/abc/xyz', key: 'password' },
        REL_PW: { name: '/private/test/myTestApp/database', key: 'password' },
      }),
    });
    assert.equal(ran.code, 2);
    assert.match(ran.stderr, /private\/test\/myTestApp\/database/);
    assert.equal(existsSync(marker), false, 'the task did not start');

    const noField = await resolveOne('/shared/abc/xyz');
    assert.equal(noField.body.details.errors[0].code, 'NOT_FOUND');
    assert.match(noField.body.details.errors[0].message, /no field 'value'/);
  });

  test('case 19: dcos_base64 decodes once more only when asked', async () => {
    const scenario = readCase('19-dcos-base64-binary-keytab.json');
    const raw = Buffer.from(scenario.fileBackend[1].value.data, 'base64');
    const volume = (name: string) => ({
      mode: 'RO',
      container_path: 'hdfs.keytab',
      source: { type: 'SECRET', secret: { type: 'REFERENCE', reference: { name } } },
    });
    const sandbox = await mkdtemp(join(home, 'sandbox-'));
    const ran = await runTessera(
      [
        'exec',
        '--task',
        '-',
        '--',
        'sh',
        '-c',
        'cat hdfs.keytab > ../seen-19; printf "|%s" "$KEYTAB_B64_ENV" >> ../seen-19',
      ],
      {
        env: { ...env, TESSERA_TOKEN: server.rootToken },
        cwd: sandbox,
        input: envTask({ KEYTAB_B64_ENV: { name: '/dcos/hdfs/__dcos_base64__keytab' } }, [
          volume('/dcos64/hdfs/__dcos_base64__keytab'),
        ]),
      },
    );
    assert.equal(ran.code, 0, ran.stderr);
    const seen = await readFile(join(home, 'seen-19'));
    assert.deepEqual(seen.subarray(0, raw.length), raw);
    assert.equal(seen.subarray(raw.length).toString(), `|${raw.toString('base64')}`);

    const rawEnv = await runTessera(['exec', '--task', '-'], {
      env: { ...env, TESSERA_TOKEN: server.rootToken },
      cwd: sandbox,
      input: envTask({ KEYTAB_RAW_ENV: { name: '/dcos/hdfs/keytab-raw' } }),
    });
    assert.equal(rawEnv.code, 2);
    assert.match(rawEnv.stderr, /KEYTAB_RAW_ENV/);
    assert.match(rawEnv.stderr, /NUL byte/);
  });

  test('file edit is served within a second', async () => {
    const replacement = join(home, 'secrets.json.new');
    await writeFile(replacement, secretsFile([['/db', 'password', Buffer.from('rotated-1')]]));
    await rename(replacement, file);
    const started = Date.now();
    let value = '';
    while (Date.now() - started < 1_000) {
      const read = await api('GET', '/v1/secret/data/ext/db');
      value = read.body.data.data.password;
      if (value === 'rotated-1') break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    assert.equal(value, 'rotated-1');
  });

  test('broken file keeps the last good version', async () => {
    await writeFile(file, secretsFile([['/db', 'password', Buffer.from('rotated-2')]]));
    await waitUntil(
      async () =>
        (await api('GET', '/v1/secret/data/ext/db')).body.data.data.password === 'rotated-2',
    );
    await writeFile(file, '[{"reference": {"name": "/db"}, "value": {"data": "CANARY-broken-9d"');
    await waitUntil(() => server.output().includes('kept its last good version'));

    const read = await api('GET', '/v1/secret/data/ext/db');
    assert.equal(read.body.data.data.password, 'rotated-2');
    const health = await api('GET', '/v1/sys/health');
    const backend = health.body.backends.find(
      (entry: { prefix: string }) => entry.prefix === 'ext/',
    );
    assert.equal(backend.ok, false);
    assert.match(backend.reason, /not valid JSON: .* at line 1, column \d+/);
    assert.ok(!JSON.stringify(health.body).includes('CANARY-broken'));
    assert.ok(!server.output().includes('CANARY-broken'));
    assert.match(server.output(), /line 1, column/);
  });
});

async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs = 3_000) {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
