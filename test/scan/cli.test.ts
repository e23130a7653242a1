import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type RunResult, runTessera } from '../helpers/cli.ts';
import { type FakeMaster, startFakeMaster } from './fake-master.ts';

const CASES = join(import.meta.dirname, '..', 'fixtures', 'cases');
const CASE_FILES = [
  '01-marathon-plaintext-env-credentials.json',
  '07-secret-validation-matrix.json',
  '20-marathon-docker-config-in-uris.json',
  '22-zk-credentials-in-info-and-flags.json',
  '23-cmdline-credentials.txt',
  '27-cmd-echoes-secret-env.json',
];
// The user names and base64 `auth` prefixes of the Docker config in
// 20-marathon-docker-config-in-uris.json, whose fields decode to `user:PLACEHOLDER-...`.
const DOCKER_AUTH_TEXT = ['example-user', 'personal-user', 'ZXhhbXBsZS11c2Vy', 'cGVyc29uYWwtdXNl'];

const env = { PATH: process.env.PATH, HOME: '/nonexistent' };

function scan(args: string[], input?: string): Promise<RunResult> {
  return runTessera(['scan', ...args], { env, input });
}

function assertNothingSecret(ran: RunResult): void {
  const output = ran.stdout.toString() + ran.stderr;
  assert.doesNotMatch(output, /PLACEHOLDER/);
  for (const text of DOCKER_AUTH_TEXT) assert.ok(!output.includes(text), text);
}

describe('tessera scan on files', () => {
  for (const file of CASE_FILES) {
    test(`${file} prints no value, as text or JSON`, async () => {
      const text = await scan([join(CASES, file)]);
      const json = await scan(['--format', 'json', join(CASES, file)]);
      assert.equal(text.code, 2, text.stderr);
      assert.equal(json.code, 2, json.stderr);
      assertNothingSecret(text);
      assertNothingSecret(json);
      assert.ok(JSON.parse(json.stdout.toString()).length > 0);
    });
  }

  test('text lines read SOURCE LOCATION SEVERITY KIND: message', async () => {
    const file = join(CASES, '01-marathon-plaintext-env-credentials.json');
    const ran = await scan([file]);
    const lines = ran.stdout.toString().trimEnd().split('\n');
    assert.equal(lines.length, 7);
    assert.ok(
      lines.includes(
        `${file} $.env.DATABASE_PASSWORD high secret-value: environment variable DATABASE_PASSWORD has a plaintext value (****); store it in Tessera and reference it as a secret (see docs/scan.md)`,
      ),
    );
    assert.equal(ran.stderr, 'tessera scan: 7 findings in 1 input: 7 high, 0 medium, 0 low\n');
  });

  test('JSON findings carry every field', async () => {
    const ran = await scan([
      '--format',
      'json',
      join(CASES, '22-zk-credentials-in-info-and-flags.json'),
    ]);
    const findings = JSON.parse(ran.stdout.toString());
    const zk = findings.find(
      (f: { location: string }) => f.location === '$.mesosMasterFlags.flags.zk',
    );
    assert.deepEqual(Object.keys(zk).sort(), [
      'kind',
      'location',
      'message',
      'redacted',
      'severity',
      'source',
    ]);
    assert.equal(zk.redacted, 'zk://***@192.0.2.10:2181,192.0.2.11:2181,192.0.2.12:2181/mesos');
  });

  test('standard input is read for -', async () => {
    const ran = await scan(['--format', 'json', '-'], 'app --password=PLACEHOLDER-stdin\n');
    assert.equal(ran.code, 2);
    const [finding] = JSON.parse(ran.stdout.toString());
    assert.equal(finding.source, '-');
    assert.equal(finding.location, 'line 1');
    assertNothingSecret(ran);
  });
});

// Inputs that plant CANARY in a value each rule reports, read from standard input.
const CANARY_INPUTS: [string, string][] = [
  [
    'an inline TESSERA_SECRETS entry',
    JSON.stringify({
      env: {
        TESSERA_SECRETS: JSON.stringify({
          version: 1,
          env: [{ name: 'API_TOKEN', secret: { type: 'VALUE', value: { data: 'CANARY-c1' } } }],
          files: [],
        }),
      },
    }),
  ],
  [
    'a token as the user name of a URL',
    'git clone https://CANARY0c2abcdefghij0123456789@git.example.invalid/r.git\n',
  ],
  [
    'a private key under a name that does not look secret',
    JSON.stringify({
      env: { TLS_KEY: '-----BEGIN EC PRIVATE KEY-----\nCANARY-c3\n-----END EC PRIVATE KEY-----' },
    }),
  ],
  [
    'a Tessera token in a label',
    JSON.stringify({ labels: { note: `tsr_${'CANARY-c4'.padEnd(43, 'q')}` } }),
  ],
  ['a GitHub token on a command line', `./sync ${'ghp_CANARYc5'.padEnd(44, 'r')}\n`],
  ['a GitHub token under a secret name', `GITHUB_TOKEN=${'ghp_CANARYc6'.padEnd(44, 's')} ./sync\n`],
];

describe('tessera scan canaries', () => {
  for (const [name, input] of CANARY_INPUTS) {
    test(`${name} is reported without its value`, async () => {
      const text = await scan(['-'], input);
      const json = await scan(['--format', 'json', '-'], input);
      assert.equal(text.code, 2, text.stderr);
      assert.ok(JSON.parse(json.stdout.toString()).length > 0);
      for (const ran of [text, json]) {
        assert.ok(!(ran.stdout.toString() + ran.stderr).includes('CANARY'), ran.stdout.toString());
      }
    });
  }
});

describe('tessera scan --mesos-credentials', () => {
  let dir: string;
  let file: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-scan-'));
    file = join(dir, 'credentials');
    await writeFile(file, 'marathon CANARY-cred-1\nchronos CANARY-cred-2\n');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('reports each line without its secret', async () => {
    const text = await scan(['--mesos-credentials', file]);
    const json = await scan(['--format', 'json', '--mesos-credentials', file]);
    assert.equal(text.code, 2, text.stderr);
    assert.deepEqual(
      JSON.parse(json.stdout.toString()).map((f: { location: string }) => f.location),
      ['line 1', 'line 2'],
    );
    for (const ran of [text, json]) {
      assert.ok(!(ran.stdout.toString() + ran.stderr).includes('CANARY'), ran.stdout.toString());
    }
    assert.equal(text.stderr, 'tessera scan: 2 findings in 1 input: 2 high, 0 medium, 0 low\n');
  });

  test('comes from TESSERA_SCAN_MESOS_CREDENTIALS', async () => {
    const ran = await runTessera(['scan'], {
      env: { ...env, TESSERA_SCAN_MESOS_CREDENTIALS: file },
    });
    assert.equal(ran.code, 2, ran.stderr);
    assert.equal(ran.stdout.toString().trimEnd().split('\n').length, 2);
  });

  test('the same file as FILE reports nothing', async () => {
    const ran = await scan([file]);
    assert.equal(ran.code, 0, ran.stderr);
    assert.equal(ran.stdout.length, 0);
  });
});

describe('tessera scan exit status', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-scan-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('0 when findings are below --fail-on', async () => {
    const ran = await scan(['--fail-on', 'high', join(CASES, '27-cmd-echoes-secret-env.json')]);
    assert.equal(ran.code, 0, ran.stderr);
    assert.equal(ran.stdout.toString().trimEnd().split('\n').length, 4);
  });

  test('TESSERA_SCAN_FAIL_ON sets --fail-on', async () => {
    const file = join(CASES, '27-cmd-echoes-secret-env.json');
    const ran = await runTessera(['scan', file], { env: { ...env, TESSERA_SCAN_FAIL_ON: 'high' } });
    assert.equal(ran.code, 0, ran.stderr);
  });

  test('2 for a low finding with --fail-on low', async () => {
    const input = 'run -e DB_PASSWORD=$(cat /run/pw)\n';
    assert.equal((await scan(['-'], input)).code, 0);
    assert.equal((await scan(['--fail-on', 'low', '-'], input)).code, 2);
  });

  test('0 and a summary for a clean file', async () => {
    const file = join(dir, 'clean.json');
    await writeFile(file, JSON.stringify({ id: '/clean', env: { LOG_LEVEL: 'info' } }));
    const ran = await scan([file]);
    assert.equal(ran.code, 0);
    assert.equal(ran.stdout.length, 0);
    assert.equal(ran.stderr, 'tessera scan: 0 findings in 1 input: 0 high, 0 medium, 0 low\n');
  });

  test('1 without any input', async () => {
    const ran = await scan([]);
    assert.equal(ran.code, 1);
    assert.match(ran.stderr, /give at least one FILE/);
  });

  test('1 for an unknown --fail-on', async () => {
    assert.equal((await scan(['--fail-on', 'critical', '-'])).code, 1);
  });

  test('2 and one line for an unreadable file', async () => {
    const missing = join(dir, 'missing.json');
    const ran = await scan([missing]);
    assert.equal(ran.code, 2);
    assert.equal(ran.stdout.length, 0);
    assert.equal(ran.stderr.trim().split('\n').length, 1);
    assert.match(ran.stderr, /missing\.json \(ENOENT\)/);
  });

  test('invalid JSON names the file and position, not the content', async () => {
    const file = join(dir, 'broken.json');
    await writeFile(file, '{\n  "env": {"DB_PASSWORD": "PLACEHOLDER-broken" "x": 1}\n}\n');
    const ran = await scan([file, join(CASES, '01-marathon-plaintext-env-credentials.json')]);
    assert.equal(ran.code, 2);
    assert.equal(ran.stdout.length, 0, 'nothing is printed before every input is parsed');
    assert.match(ran.stderr, /broken\.json is not valid JSON: .* at line 2, column 47/);
    assertNothingSecret(ran);
  });
});

describe('tessera scan --master', () => {
  let master: FakeMaster;
  const zk = 'zk://mesos:PLACEHOLDER-zk-master@192.0.2.10:2181,192.0.2.11:2181/mesos';
  const task = {
    id: 'billing.1',
    framework_id: 'fw-1',
    state: 'TASK_RUNNING',
    command: {
      value: './billing',
      environment: { variables: [{ name: 'DB_PASSWORD', value: 'PLACEHOLDER-task-pw' }] },
    },
  };

  before(async () => {
    master = await startFakeMaster({
      '/state': { version: '1.11.0', flags: { zk }, frameworks: [{ id: 'fw-1', tasks: [task] }] },
      '/flags': {
        flags: { zk, credentials: '/etc/mesos/credentials', authenticate_frameworks: 'true' },
      },
    });
  });
  after(() => master.close());

  test('scans /state and /flags once each', async () => {
    const ran = await scan(['--format', 'json', '--master', master.url]);
    assert.equal(ran.code, 2, ran.stderr);
    const found = JSON.parse(ran.stdout.toString()).map(
      (f: { source: string; location: string; kind: string }) =>
        `${f.source} ${f.location} ${f.kind}`,
    );
    assert.deepEqual(found, [
      `${master.url}/state $.frameworks[0].tasks[0].command.environment.variables[0].value secret-value`,
      `${master.url}/flags $.flags.zk url-credentials`,
    ]);
    assert.deepEqual([...master.requests].sort(), ['/flags', '/state']);
    assertNothingSecret(ran);
  });

  test('keeps the path of a master URL', async () => {
    const prefixed = await startFakeMaster({
      '/mesos/state': { version: '1.11.0', frameworks: [{ id: 'fw-1', tasks: [task] }] },
      '/mesos/flags': { flags: { zk } },
    });
    try {
      const ran = await scan(['--format', 'json', '--master', `${prefixed.url}/mesos/`]);
      assert.equal(ran.code, 2, ran.stderr);
      const sources = JSON.parse(ran.stdout.toString()).map((f: { source: string }) => f.source);
      assert.deepEqual(sources, [`${prefixed.url}/mesos/state`, `${prefixed.url}/mesos/flags`]);
      assert.deepEqual([...prefixed.requests].sort(), ['/mesos/flags', '/mesos/state']);
    } finally {
      await prefixed.close();
    }
  });

  test('the master comes from TESSERA_SCAN_MASTER', async () => {
    const ran = await runTessera(['scan'], { env: { ...env, TESSERA_SCAN_MASTER: master.url } });
    assert.equal(ran.code, 2, ran.stderr);
    assert.match(ran.stderr, /2 findings in 2 inputs/);
  });

  test('an unreachable master is one line', async () => {
    const ran = await scan(['--master', 'http://127.0.0.1:1']);
    assert.equal(ran.code, 2);
    assert.equal(ran.stderr.trim().split('\n').length, 1);
    assert.match(ran.stderr, /127\.0\.0\.1:1/);
  });

  test('a master that requires authentication names the fix', async () => {
    const locked = await startFakeMaster({}, 401);
    try {
      const ran = await scan(['--master', locked.url]);
      assert.equal(ran.code, 2);
      assert.match(ran.stderr, /401 Unauthorized.*TESSERA_MESOS_PRINCIPAL/);
    } finally {
      await locked.close();
    }
  });

  test('a URL that is not http is a usage error', async () => {
    const ran = await scan(['--master', 'zk://u:PLACEHOLDER-typo@192.0.2.10:2181/mesos']);
    assert.equal(ran.code, 1);
    assert.match(ran.stderr, /http or https URL/);
    assertNothingSecret(ran);
  });

  test('a master that answers null is one line, not an internal error', async () => {
    const odd = await startFakeMaster({ '/state': null, '/flags': { flags: {} } });
    try {
      const ran = await scan(['--master', odd.url]);
      assert.equal(ran.code, 2);
      assert.match(ran.stderr, /\/state is not a JSON object/);
      assert.doesNotMatch(ran.stderr, /internal error/);
    } finally {
      await odd.close();
    }
  });

  test('--timeout-ms over 2^31 - 1 is a usage error', async () => {
    const sent = master.requests.length;
    const ran = await scan(['--master', master.url, '--timeout-ms', '2147483648']);
    assert.equal(ran.code, 1);
    assert.match(ran.stderr, /--timeout-ms must be a whole number from 1 to 2147483647/);
    assert.equal(master.requests.length, sent, 'no request was sent');
  });

  test('--secret-file without --principal is a usage error', async () => {
    const ran = await scan(['--master', master.url, '--secret-file', '/nonexistent/secret']);
    assert.equal(ran.code, 1);
    assert.match(ran.stderr, /--secret-file needs --principal/);
  });

  test('rejects a master URL with a password', async () => {
    const ran = await scan(['--master', 'http://ops:PLACEHOLDER-mu@127.0.0.1:1']);
    assert.equal(ran.code, 1);
    assert.match(ran.stderr, /must not hold a user or password/);
    assert.equal(ran.stderr.includes('PLACEHOLDER'), false);
  });
});
