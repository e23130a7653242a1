import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isTesseraError } from '../../src/errors.ts';
import {
  type AgentReport,
  type DoctorOptions,
  type DoctorReport,
  runDoctor,
} from '../../src/mesos/doctor.ts';
import {
  type FakeAgentSpec,
  type FakeCluster,
  type FakeClusterSpec,
  startFakeCluster,
} from '../helpers/fake-mesos.ts';

const CANARY = 'Q0FOQVJZLWlubGluZS12YWx1ZS0xMjM0';

const FULL_FLAGS = {
  containerizers: 'mesos',
  isolation: 'filesystem/linux,volume/secret,cgroups/cpu,cgroups/mem',
  launcher: 'linux',
  modules: '/etc/mesos/modules.json',
  secret_resolver: 'com_example_TesseraSecretResolver',
  runtime_dir: '/var/run/mesos',
};

const AGENTS: FakeAgentSpec[] = [
  { id: 'S0-old', version: '1.3.0', flags: { containerizers: 'mesos', launcher: 'linux' } },
  { id: 'S1-docker', version: '1.11.0', flags: { ...FULL_FLAGS, containerizers: 'docker' } },
  { id: 'S2-full', version: '1.11.0', flags: FULL_FLAGS },
  {
    id: 'S3-defaults',
    version: '1.9.0',
    flags: { containerizers: 'mesos', isolation: 'posix/cpu,posix/mem', launcher: 'posix' },
  },
  { id: 'S4-forbidden', version: '1.11.0', flags: FULL_FLAGS, flagsStatus: 403 },
  { id: 'S5-unauthorized', version: '1.11.0', flags: FULL_FLAGS, flagsStatus: 401 },
  { id: 'S6-unavailable', version: '1.11.0', flags: FULL_FLAGS, flagsStatus: 503 },
  { id: 'S7-down', version: '1.11.0', flags: FULL_FLAGS, down: true },
  { id: 'S9-redirecting', version: '1.11.0', flags: FULL_FLAGS, flagsStatus: 307 },
  { id: 'S10-no-flags-key', version: '1.11.0', flags: {}, flagsBody: { isolation: 'posix/cpu' } },
  { id: 'S11-flags-array', version: '1.11.0', flags: {}, flagsBody: [] },
  { id: 'S12-flag-number', version: '1.11.0', flags: {}, flagsBody: { flags: { launcher: 5 } } },
  { id: 'S13-no-version', version: undefined, flags: FULL_FLAGS },
  { id: 'S14-bad-version', version: '1.x', flags: FULL_FLAGS },
  { id: 'S15-number-version', version: 1.11, flags: FULL_FLAGS },
  {
    id: 'S8-mixed',
    version: '1.7.0',
    flags: { ...FULL_FLAGS, containerizers: 'mesos,docker', isolation: 'filesystem/linux' },
  },
];

const inlineVolume = {
  mode: 'RO',
  container_path: 'secrets/inline',
  source: { type: 'SECRET', secret: { type: 'VALUE', value: { data: CANARY } } },
};
const referenceVolume = {
  mode: 'RO',
  container_path: 'secrets/ref',
  source: { type: 'SECRET', secret: { type: 'REFERENCE', reference: { name: '/team/db' } } },
};

const FRAMEWORKS = [
  {
    id: 'fw-1',
    name: 'billing',
    tasks: [
      {
        id: 'inline-task',
        framework_id: 'fw-1',
        state: 'TASK_RUNNING',
        container: { type: 'MESOS', volumes: [inlineVolume] },
      },
      {
        id: 'docker-task',
        framework_id: 'fw-1',
        state: 'TASK_RUNNING',
        container: { type: 'DOCKER', volumes: [referenceVolume] },
      },
      {
        id: 'clean-task',
        framework_id: 'fw-1',
        state: 'TASK_RUNNING',
        container: { type: 'MESOS', volumes: [referenceVolume] },
      },
    ],
    executors: [
      {
        id: 'custom-executor',
        command: {
          value: './executor',
          environment: {
            variables: [
              {
                name: 'EXEC_TOKEN',
                type: 'SECRET',
                secret: { type: 'VALUE', value: { data: CANARY } },
              },
            ],
          },
        },
      },
    ],
  },
];

function agent(report: DoctorReport, id: string): AgentReport {
  const found = report.agents.find((entry) => entry.id === id);
  assert.ok(found, `no report for agent ${id}`);
  return found;
}

function messages(entry: AgentReport): string {
  return entry.findings
    .map((finding) => `${finding.severity}: ${finding.message} / ${finding.fix}`)
    .join('\n');
}

describe('doctor against fake agents', () => {
  let cluster: FakeCluster;
  let report: DoctorReport;

  before(async () => {
    cluster = await startFakeCluster({
      masterVersion: '1.11.0',
      agents: AGENTS,
      frameworks: FRAMEWORKS,
    });
    report = await runDoctor({
      master: new URL(cluster.masterUrl),
      timeoutMs: 2000,
      concurrency: 3,
    });
  });
  after(() => cluster.close());

  test('reads master version and every agent', () => {
    assert.equal(report.master.version, '1.11.0');
    assert.deepEqual(
      report.agents.map((entry) => entry.id),
      AGENTS.map((entry) => entry.id),
    );
  });

  test('old 1.3 agent supports nothing', () => {
    const old = agent(report, 'S0-old');
    assert.equal(old.envSecrets, 'no');
    assert.equal(old.fileSecrets, 'no');
    assert.match(messages(old), /Mesos 1\.3\.0 has no secret resolver .*1\.4\.0/);
    assert.match(messages(old), /upgrade the agent to Mesos 1\.4 or later/);
  });

  test('docker-only agent supports nothing', () => {
    const docker = agent(report, 'S1-docker');
    assert.equal(docker.envSecrets, 'no');
    assert.equal(docker.fileSecrets, 'no');
    assert.match(messages(docker), /only the Docker containerizer/);
    assert.match(messages(docker), /add mesos to --containerizers/);
  });

  test('fully enabled agent supports both, with leaks', () => {
    const full = agent(report, 'S2-full');
    assert.equal(full.envSecrets, 'yes');
    assert.equal(full.fileSecrets, 'yes');
    assert.deepEqual(
      full.findings.map((finding) => finding.severity),
      ['leak', 'leak'],
    );
    assert.match(messages(full), /mesos-executor as --task_environment/);
    assert.match(messages(full), /LAUNCH_GROUP/);
    assert.match(messages(full), /inline VALUE secrets .* \/state/);
  });

  test('agent with default flags lacks resolver and isolators', () => {
    const plain = agent(report, 'S3-defaults');
    assert.equal(plain.envSecrets, 'no');
    assert.equal(plain.fileSecrets, 'no');
    const text = messages(plain);
    assert.match(text, /no --secret_resolver is set/);
    assert.match(text, /--isolation lacks filesystem\/linux and volume\/secret/);
    assert.match(text, /--launcher is posix/);
    assert.match(text, /set --launcher=linux/);
  });

  test('mixed containerizers: docker note and missing volume/secret', () => {
    const mixed = agent(report, 'S8-mixed');
    assert.equal(mixed.envSecrets, 'yes');
    assert.equal(mixed.fileSecrets, 'no');
    assert.match(messages(mixed), /container type DOCKER get no secrets/);
    assert.match(messages(mixed), /--isolation lacks volume\/secret/);
  });

  test('each access failure gets one clear line', () => {
    const cases: [string, RegExp][] = [
      ['S4-forbidden', /403 Forbidden.*VIEW_FLAGS/],
      ['S5-unauthorized', /401 Unauthorized.*TESSERA_MESOS_PRINCIPAL/],
      ['S6-unavailable', /503 Service Unavailable.*retry later/],
      ['S7-down', /is unreachable \(ECONNREFUSED\)/],
      ['S9-redirecting', /redirected the request \(307 .*\), which a Mesos agent does not do/],
    ];
    for (const [id, pattern] of cases) {
      const entry = agent(report, id);
      assert.equal(entry.envSecrets, 'unknown', id);
      assert.equal(entry.findings.length, 1, id);
      assert.match(entry.findings[0]?.message ?? '', pattern, id);
      assert.doesNotMatch(entry.findings[0]?.message ?? '', /\n|at .*\.ts:\d+/, id);
      assert.doesNotMatch(entry.findings[0]?.message ?? '', /leading master/, id);
    }
  });

  test('unknown data gives unknown support', () => {
    const cases: [string, RegExp][] = [
      [
        'S10-no-flags-key',
        /\/flags did not return a Mesos agent's \/flags: field flags is missing/,
      ],
      [
        'S11-flags-array',
        /\/flags did not return a Mesos agent's \/flags: the body must be an object/,
      ],
      ['S12-flag-number', /\/flags: field flags\.launcher must be a string/],
      [
        'S13-no-version',
        /no Mesos version is given in the master's \/state \(field slaves\[\d+\]\.version\)/,
      ],
      [
        'S14-bad-version',
        /the Mesos version '1\.x' in the master's \/state \(field slaves\[\d+\]\.version\) is not a version number/,
      ],
      [
        'S15-number-version',
        /the Mesos version in the master's \/state \(field slaves\[\d+\]\.version\) is not a string/,
      ],
    ];
    for (const [id, pattern] of cases) {
      const entry = agent(report, id);
      assert.equal(entry.envSecrets, 'unknown', id);
      assert.equal(entry.fileSecrets, 'unknown', id);
      assert.equal(entry.findings.length, 1, `${id}: ${messages(entry)}`);
      assert.match(entry.findings[0]?.message ?? '', pattern, id);
      assert.doesNotMatch(
        messages(entry),
        /secret_resolver|--isolation|has no secret resolver/,
        id,
      );
    }
  });

  test('version finding names the agent entry', () => {
    for (const id of ['S13-no-version', 'S14-bad-version', 'S15-number-version']) {
      const index = AGENTS.findIndex((entry) => entry.id === id);
      const message = agent(report, id).findings[0]?.message ?? '';
      assert.ok(message.includes(`(field slaves[${index}].version)`), `${id}: ${message}`);
    }
  });

  test('version unknown is shown as such', () => {
    assert.equal(agent(report, 'S13-no-version').version, 'unknown');
    assert.equal(agent(report, 'S14-bad-version').version, '1.x');
    assert.equal(agent(report, 'S15-number-version').version, 'unknown');
  });

  test('lists exposed tasks by id and location only', () => {
    const found = report.tasks.map(
      (task) => `${task.kind} ${task.id} ${task.location} ${task.problem}`,
    );
    assert.deepEqual(found, [
      'task inline-task container.volumes[0] inline-value',
      'task docker-task container.volumes[0] docker-secret-volume',
      'executor custom-executor command.environment.variables[0] inline-value',
    ]);
    assert.ok(!JSON.stringify(report).includes(CANARY));
  });

  test('sends only reads to the agents', () => {
    assert.deepEqual(cluster.requests.get('S2-full'), ['/flags']);
    assert.deepEqual(cluster.requests.get('master'), ['/version', '/state']);
  });
});

describe('doctor on every task list of /state', () => {
  const inlineTask = (id: string) => ({
    id,
    container: { type: 'MESOS', volumes: [inlineVolume] },
  });
  const inlineExecutor = (id: string) => ({
    executor_id: { value: id },
    container: { type: 'MESOS', volumes: [inlineVolume] },
  });
  let cluster: FakeCluster;
  let report: DoctorReport;

  before(async () => {
    const stateBody = {
      version: '1.11.0',
      slaves: [],
      frameworks: [
        {
          id: 'fw-1',
          tasks: [inlineTask('running')],
          unreachable_tasks: [inlineTask('unreachable')],
          completed_tasks: [
            { id: 'clean', container: { type: 'MESOS', volumes: [referenceVolume] } },
            inlineTask('completed'),
          ],
          executors: [inlineExecutor('executor')],
          completed_executors: [inlineExecutor('completed-executor')],
        },
      ],
      completed_frameworks: [
        {
          id: 'fw-old',
          tasks: [],
          completed_tasks: [inlineTask('old-completed')],
          executors: [inlineExecutor('old-executor')],
        },
      ],
      orphan_tasks: [{ ...inlineTask('orphan'), framework_id: 'fw-gone' }],
    };
    cluster = await startFakeCluster({ masterVersion: '1.11.0', agents: [], stateBody });
    report = await runDoctor({ master: cluster.masterUrl, timeoutMs: 2000, concurrency: 1 });
  });
  after(() => cluster.close());

  test('finds inline secrets in each list', () => {
    const found = report.tasks.map(
      (task) => `${task.frameworkId} ${task.kind} ${task.id} ${task.statePath}`,
    );
    assert.deepEqual(found, [
      'fw-1 task running frameworks[0].tasks[0]',
      'fw-1 task unreachable frameworks[0].unreachable_tasks[0]',
      'fw-1 task completed frameworks[0].completed_tasks[1]',
      'fw-1 executor executor frameworks[0].executors[0]',
      'fw-1 executor completed-executor frameworks[0].completed_executors[0]',
      'fw-old task old-completed completed_frameworks[0].completed_tasks[0]',
      'fw-old executor old-executor completed_frameworks[0].executors[0]',
      'fw-gone task orphan orphan_tasks[0]',
    ]);
  });

  test('messages name the /state path, not the data', () => {
    const message = report.tasks.find((task) => task.id === 'old-completed')?.message ?? '';
    assert.match(
      message,
      /^task 'old-completed' of framework fw-old \(completed_frameworks\[0\]\.completed_tasks\[0\] in \/state\)/,
    );
    assert.match(message, /inline VALUE secret at container\.volumes\[0\]/);
    assert.ok(!JSON.stringify(report).includes(CANARY));
  });
});

describe('doctor against a master under a path', () => {
  let cluster: FakeCluster;
  before(async () => {
    cluster = await startFakeCluster({
      masterVersion: '1.11.0',
      agents: [AGENTS[2] as FakeAgentSpec],
      pathPrefix: '/mesos',
    });
  });
  after(() => cluster.close());

  test('reads every master endpoint under the path', async () => {
    const report = await runDoctor({
      master: new URL(cluster.masterUrl),
      timeoutMs: 2000,
      concurrency: 2,
    });
    assert.deepEqual(cluster.requests.get('master'), ['/mesos/version', '/mesos/state']);
    assert.equal(report.master.url, cluster.masterUrl.replace(/\/$/, ''));
    assert.equal(report.agents.length, 1);
    assert.equal(report.agents[0]?.fileSecrets, 'yes');
  });

  test('reads the path without a trailing slash too', async () => {
    cluster.requests.delete('master');
    await runDoctor({
      master: new URL(cluster.masterUrl.replace(/\/$/, '')),
      timeoutMs: 2000,
      concurrency: 2,
    });
    assert.deepEqual(cluster.requests.get('master'), ['/mesos/version', '/mesos/state']);
  });
});

describe('runDoctor options', () => {
  let cluster: FakeCluster;
  before(async () => {
    cluster = await startFakeCluster({ masterVersion: '1.11.0', agents: [AGENTS[2]!] });
  });
  after(() => cluster.close());

  test('master may be a string', async () => {
    const report = await runDoctor({ master: cluster.masterUrl, timeoutMs: 2000, concurrency: 1 });
    assert.equal(report.agents.length, 1);
    assert.equal(report.agents[0]?.envSecrets, 'yes');
  });

  const invalid: [string, Record<string, unknown>, RegExp][] = [
    ['master without scheme', { master: 'master.example:5050' }, /^master must be an http/],
    ['master of another scheme', { master: 'zk://192.0.2.10:2181/mesos' }, /^master must be/],
    ['master not a URL', { master: 5050 }, /^master must be an http or https URL/],
    ['master with password', { master: 'http://ops:PLACEHOLDER@127.0.0.1:1' }, /^master must not/],
    ['timeoutMs over 2^31 - 1', { timeoutMs: 2 ** 31 }, /^timeoutMs must be .* to 2147483647/],
    ['timeoutMs zero', { timeoutMs: 0 }, /^timeoutMs must be/],
    ['timeoutMs fractional', { timeoutMs: 1.5 }, /^timeoutMs must be/],
    ['concurrency zero', { concurrency: 0 }, /^concurrency must be a positive whole number/],
    [
      'authorization with a line break',
      { authorization: 'Basic PLACEHOLDER\r\nX: 1' },
      /^authorization must/,
    ],
  ];
  for (const [name, change, pattern] of invalid) {
    test(`rejects ${name}`, async () => {
      const options = { master: cluster.masterUrl, timeoutMs: 2000, concurrency: 1, ...change };
      const sent = cluster.requests.get('master')?.length ?? 0;
      await assert.rejects(runDoctor(options as DoctorOptions), (error) => {
        assert.ok(isTesseraError(error, 'INVALID_ARGUMENT'), String(error));
        assert.match(error.message, pattern);
        assert.doesNotMatch(error.message, /PLACEHOLDER/);
        return true;
      });
      assert.equal(cluster.requests.get('master')?.length ?? 0, sent, 'no request was sent');
    });
  }
});

describe('doctor against an unhealthy master', () => {
  const clusters: FakeCluster[] = [];
  after(() => Promise.all(clusters.map((cluster) => cluster.close())));

  // Starts a leading master with one agent and a standby master whose answers `standby`
  // sets, given the leader's URL.
  async function startLeaderAndStandby(
    standby: (leaderUrl: string) => Partial<FakeClusterSpec>,
    leaderSpec: Partial<FakeClusterSpec> = {},
  ) {
    const leader = await startFakeCluster({
      masterVersion: '1.10.0',
      agents: [AGENTS[2]!],
      ...leaderSpec,
    });
    clusters.push(leader);
    const follower = await startFakeCluster({
      masterVersion: '1.10.0',
      agents: [],
      ...standby(leader.masterUrl),
    });
    clusters.push(follower);
    return { leader, follower };
  }

  test('307 is followed once to the leader', async () => {
    const { leader, follower } = await startLeaderAndStandby((url) => ({
      masterAnswer: { status: 307, location: `${url.replace('http:', '')}/master/redirect` },
    }));

    const report = await runDoctor({
      master: new URL(follower.masterUrl),
      timeoutMs: 2000,
      concurrency: 2,
    });
    assert.equal(report.master.url, leader.masterUrl);
    assert.equal(report.agents.length, 1);
    assert.match(report.notes[0] ?? '', /not the leading master \(307 Temporary Redirect/);
  });

  test('307 of /state alone is followed', async () => {
    const { leader, follower } = await startLeaderAndStandby((url) => ({
      stateAnswer: { status: 307, location: `${url.replace('http:', '')}/state` },
    }));

    const report = await runDoctor({ master: follower.masterUrl, timeoutMs: 2000, concurrency: 2 });
    assert.equal(report.master.url, leader.masterUrl);
    assert.equal(report.agents.length, 1);
    assert.match(report.notes[0] ?? '', /\/state is not the leading master .*; using the leader$/);
    assert.deepEqual(follower.requests.get('master'), ['/version', '/state']);
    assert.deepEqual(leader.requests.get('master'), ['/version', '/state']);
  });

  test('307 is followed only once', async () => {
    const follower = await startFakeCluster({
      masterVersion: '1.10.0',
      agents: [],
      stateAnswer: { status: 307, location: '/state' },
    });
    clusters.push(follower);
    await assert.rejects(
      runDoctor({ master: follower.masterUrl, timeoutMs: 2000, concurrency: 2 }),
      (error) => {
        assert.ok(isTesseraError(error, 'UNREACHABLE'), String(error));
        assert.match(error.message, /not the leading master .*point --master at the leader$/);
        return true;
      },
    );
    assert.deepEqual(follower.requests.get('master'), ['/version', '/state', '/version', '/state']);
  });

  test('307 to a leader under a path keeps the path', async () => {
    const { leader, follower } = await startLeaderAndStandby(
      (url) => ({ masterAnswer: { status: 307, location: `${url}version` } }),
      { pathPrefix: '/mesos' },
    );

    const report = await runDoctor({
      master: new URL(follower.masterUrl),
      timeoutMs: 2000,
      concurrency: 2,
    });
    assert.equal(report.master.url, leader.masterUrl.replace(/\/$/, ''));
    assert.deepEqual(leader.requests.get('master'), ['/mesos/version', '/mesos/state']);
  });

  const unusable: [string, string | undefined, RegExp][] = [
    [
      'to a javascript: URL',
      'javascript:alert(1)',
      /to a Location that is not an http or https URL/,
    ],
    ['to a URL with a password', 'http://ops:PLACEHOLDER@127.0.0.1:1/', /with a user or password/],
    ['to an invalid URL', 'http://[', /without a valid Location/],
    ['without a Location', undefined, /without a valid Location/],
  ];
  for (const [name, location, pattern] of unusable) {
    test(`307 ${name} is not followed`, async () => {
      const cluster = await startFakeCluster({
        masterVersion: '1.11.0',
        agents: [],
        masterAnswer: { status: 307, location },
      });
      clusters.push(cluster);
      await assert.rejects(
        runDoctor({ master: cluster.masterUrl, timeoutMs: 2000, concurrency: 2 }),
        (error) => {
          assert.ok(isTesseraError(error, 'UNREACHABLE'), String(error));
          assert.match(error.message, /is not the leading master \(307 Temporary Redirect /);
          assert.match(error.message, pattern);
          assert.match(error.message, /point --master at the leader$/);
          assert.doesNotMatch(error.message, /PLACEHOLDER|unreachable/);
          return true;
        },
      );
      assert.deepEqual(cluster.requests.get('master'), ['/version']);
    });
  }

  const notMasters: [string, unknown, RegExp][] = [
    ['without slaves', { version: '1.11.0', frameworks: [] }, /field slaves is missing/],
    ['with slaves a string', { slaves: 'S0,S1' }, /field slaves must be an array/],
    ['with slaves a number', { slaves: 3 }, /field slaves must be an array/],
    ['that is an array', [], /the body must be an object/],
    ['that is null', null, /the body must be an object/],
    ['with an agent not an object', { slaves: ['S0'] }, /field slaves\[0\] must be an object/],
    [
      'with an agent id a number',
      { slaves: [{ id: 7 }] },
      /field slaves\[0\]\.id must be a string/,
    ],
    [
      'with tasks not a list',
      { slaves: [], frameworks: [{ id: 'fw', tasks: 5 }] },
      /field frameworks\[0\]\.tasks must be an array/,
    ],
    [
      'with volumes not a list',
      { slaves: [], frameworks: [{ tasks: [{ container: { volumes: 'x' } }] }] },
      /field frameworks\[0\]\.tasks\[0\]\.container\.volumes must be an array/,
    ],
  ];
  for (const versionBody of [null, [], { version: 1.11 }]) {
    test(`/version of ${JSON.stringify(versionBody)} gives version unknown`, async () => {
      const cluster = await startFakeCluster({ masterVersion: '1.11.0', agents: [], versionBody });
      clusters.push(cluster);
      const report = await runDoctor({
        master: cluster.masterUrl,
        timeoutMs: 2000,
        concurrency: 2,
      });
      assert.equal(report.master.version, 'unknown');
    });
  }

  for (const [name, stateBody, pattern] of notMasters) {
    test(`/state ${name} is not a master's`, async () => {
      const cluster = await startFakeCluster({ masterVersion: '1.11.0', agents: [], stateBody });
      clusters.push(cluster);
      await assert.rejects(
        runDoctor({ master: cluster.masterUrl, timeoutMs: 2000, concurrency: 2 }),
        (error) => {
          assert.ok(isTesseraError(error, 'UNREACHABLE'), String(error));
          assert.match(error.message, /\/state did not return a Mesos master's \/state: /);
          assert.match(error.message, pattern);
          assert.match(error.message, /point --master at a Mesos master/);
          return true;
        },
      );
    });
  }

  for (const status of [401, 403, 503] as const) {
    test(`master ${status} is one UNREACHABLE error`, async () => {
      const cluster = await startFakeCluster({
        masterVersion: '1.11.0',
        agents: [],
        masterAnswer: { status },
      });
      clusters.push(cluster);
      await assert.rejects(
        runDoctor({ master: new URL(cluster.masterUrl), timeoutMs: 2000, concurrency: 2 }),
        (error) => {
          assert.ok(isTesseraError(error, 'UNREACHABLE'));
          assert.match(error.message, new RegExp(`\\(${status} `));
          return true;
        },
      );
    });
  }

  test('many agents are read with bounded concurrency', async () => {
    const many = Array.from({ length: 25 }, (_, index) => ({
      id: `A${index}`,
      version: '1.11.0',
      flags: FULL_FLAGS,
    }));
    const cluster = await startFakeCluster({ masterVersion: '1.11.0', agents: many });
    clusters.push(cluster);
    const progress: string[] = [];
    const report = await runDoctor({
      master: new URL(cluster.masterUrl),
      timeoutMs: 2000,
      concurrency: 4,
      onProgress: (done, total) => progress.push(`${done}/${total}`),
    });
    assert.equal(report.agents.length, 25);
    assert.ok(report.agents.every((entry) => entry.fileSecrets === 'yes'));
    assert.equal(progress.length, 25);
    assert.equal(progress.at(-1), '25/25');
  });
});
