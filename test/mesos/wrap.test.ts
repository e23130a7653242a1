import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isTesseraError } from '../../src/errors.ts';
import { readMarathon } from '../../src/mesos/marathon.ts';
import { parseSecretsVariable } from '../../src/mesos/secrets-variable.ts';
import { readTask } from '../../src/mesos/task.ts';
import { wrapTaskInfo } from '../../src/mesos/wrap.ts';
import { wrapDefinition, wrapDefinitionText } from '../../src/mesos/wrap-definition.ts';

const fixtures = join(import.meta.dirname, '..', 'fixtures');

function load(...parts: string[]): any {
  return JSON.parse(readFileSync(join(fixtures, ...parts), 'utf8'));
}

function wrapError(input: unknown, options = {}): string {
  try {
    wrapDefinition(input, options);
  } catch (error) {
    assert.ok(isTesseraError(error, 'INVALID_TASK'), String(error));
    return error.message;
  }
  assert.fail('the definition was wrapped');
}

// The variables of a TESSERA_SECRETS value, each with the path it references.
function envReferences(value: string): [string, string | undefined][] {
  return parseSecretsVariable(value).env.map((entry) => [entry.name, entry.secret.reference?.name]);
}

// The variable names and file paths of a TESSERA_SECRETS value.
function entryNames(value: string): { env: string[]; files: string[] } {
  const secrets = parseSecretsVariable(value);
  return {
    env: secrets.env.map((entry) => entry.name),
    files: secrets.files.map((file) => file.container_path),
  };
}

test('LAUNCH_GROUP sample: secrets move, rest kept', () => {
  const input = load('mesos', 'launch-group-with-secrets.json');
  const { definition } = wrapDefinition(input) as { definition: any };
  const task = definition.accept.operations[0].launch_group.task_group.tasks[0];
  const variables = task.command.environment.variables;

  assert.deepEqual(
    variables.map((v: any) => v.name),
    ['DB_USER', 'TESSERA_SECRETS', 'TESSERA_TASK_ID'],
  );
  assert.equal(variables[2].value, 'billing-api.instance-1.server');
  assert.deepEqual(task.container.volumes, []);
  assert.equal(task.command.shell, true);
  assert.equal(
    task.command.value,
    `exec tessera exec -- /bin/sh -c 'exec ./billing-api --db-password-file "$MESOS_SANDBOX/secrets/db-password"'`,
  );

  const secrets = parseSecretsVariable(variables[1].value);
  assert.deepEqual(
    secrets.env.map((entry) => entry.name),
    ['DB_PASSWORD', 'STRIPE_API_KEY'],
  );
  assert.deepEqual(
    secrets.files.map((file) => [file.container_path, file.mode]),
    [['secrets/db-password', 'RO']],
  );
  assert.ok(secrets.env.every((entry) => entry.secret.type === 'REFERENCE' && !entry.secret.value));

  // Everything outside the command and the volumes is as it was, keys in the same order.
  const original = input.accept.operations[0].launch_group.task_group.tasks[0];
  assert.deepEqual(Object.keys(task), Object.keys(original));
  assert.equal(JSON.stringify(task.resources), JSON.stringify(original.resources));
  assert.equal(JSON.stringify(task.labels), JSON.stringify(original.labels));
  const rest = (value: any) =>
    JSON.stringify({ ...value, accept: { ...value.accept, operations: [] } });
  assert.equal(rest(definition), rest(input));
  assert.equal(
    JSON.stringify(definition.accept.operations[0].launch_group.executor),
    JSON.stringify(input.accept.operations[0].launch_group.executor),
  );
});

test('shell false command keeps its argv', () => {
  const task = {
    name: 'argv',
    task_id: { value: 'argv.1' },
    command: {
      shell: false,
      value: '/usr/bin/server',
      arguments: ['/usr/bin/server', '--port', '80'],
      environment: {
        variables: [referenceVariable('K', 'a/b')],
      },
    },
  };
  const { definition } = wrapDefinition(task, { tessera: '/opt/tessera' }) as { definition: any };
  assert.equal(definition.command.shell, false);
  assert.equal(definition.command.value, '/opt/tessera');
  assert.deepEqual(definition.command.arguments, [
    '/opt/tessera',
    'exec',
    '--',
    '/usr/bin/server',
    '--port',
    '80',
  ]);
});

test('wrap names a mistyped field as exec does', () => {
  const base = {
    name: 'typed',
    task_id: { value: 'typed.1' },
    command: {
      value: 'true',
      environment: {
        variables: [referenceVariable('K', 'a/b')],
      },
    },
    container: { type: 'MESOS' },
  };
  const mistakes: [(task: any) => void, string][] = [
    [
      (task) => (task.command.environment.variables[0].name = 5),
      'command.environment.variables[0].name must be a string',
    ],
    [(task) => (task.container.type = 'FOO'), 'container.type must be one of DOCKER, MESOS'],
    [(task) => (task.command.shell = 'yes'), 'command.shell must be a boolean'],
  ];
  for (const [mistake, expected] of mistakes) {
    const task = structuredClone(base);
    mistake(task);
    const message = wrapError(task);
    assert.ok(message.includes(expected), message);
    assert.throws(
      () => readTask(task),
      (error: Error) => error.message === message,
    );
  }
});

test('wrap hints snake_case for camelCase fields', () => {
  const top = wrapError({ name: 't', taskId: { value: 't' }, command: { value: 'true' } });
  assert.match(top, /write task_id for taskId/);

  const nested = wrapError({
    name: 't',
    task_id: { value: 't' },
    container: { type: 'MESOS', volumes: [{ mode: 'RO', containerPath: 'x' }] },
  });
  assert.match(nested, /container_path is missing \(found containerPath/);
});

test('inline VALUE secrets rejected unless allowed', () => {
  const canary = Buffer.from('CANARY-inline-9d2').toString('base64');
  const task = {
    name: 'inline',
    task_id: { value: 'inline.1' },
    command: {
      value: 'true',
      environment: {
        variables: [
          { name: 'TOKEN', type: 'SECRET', secret: { type: 'VALUE', value: { data: canary } } },
        ],
      },
    },
  };
  const message = wrapError(task);
  assert.match(message, /'TOKEN' has an inline VALUE secret/);
  assert.match(message, /--allow-inline-values/);
  assert.ok(!message.includes(canary));

  const { definition } = wrapDefinition(task, { allowInlineValues: true }) as { definition: any };
  const secrets = parseSecretsVariable(definition.command.environment.variables[0].value);
  assert.equal(secrets.env[0]?.secret.value?.data, canary);
});

test('case 02: Marathon app and pod wrap, PLAIN stays plain', () => {
  const scenario = load('cases', '02-marathon-env-secret-reference-valid.json');
  const app = (wrapDefinition(scenario.marathonApp) as { definition: any }).definition;
  assert.equal(app.env.PLAIN, 'not-a-secret');
  assert.equal(app.env.PASSWORD, undefined);
  assert.equal(app.secrets, undefined);
  const appSecrets = parseSecretsVariable(app.env.TESSERA_SECRETS);
  assert.deepEqual(appSecrets.env, [
    {
      name: 'PASSWORD',
      secret: { type: 'REFERENCE', reference: { name: '/path/in/secret/store/eg/db/password' } },
    },
  ]);
  assert.equal(app.cmd, "exec tessera exec -- /bin/sh -c 'sleep 100'");
  assert.equal('MESOS_TASK_ID' in app.env || 'TESSERA_TASK_ID' in app.env, false);

  const pod = (wrapDefinition(scenario.marathonPod) as { definition: any }).definition;
  const container = pod.containers[0];
  const podSecrets = parseSecretsVariable(container.environment.TESSERA_SECRETS);
  assert.deepEqual(
    podSecrets.env.map((entry) => entry.name),
    ['DATABASE_PW'],
  );
  assert.deepEqual(
    podSecrets.files.map((file) => file.container_path),
    ['path/to/db/password'],
  );
  assert.equal(podSecrets.files[0]?.secret.reference?.name, 'databasepassword');
  assert.deepEqual(pod.volumes, []);
  assert.deepEqual(container.volumeMounts, []);
  assert.equal(container.exec.command.shell, "exec tessera exec -- /bin/sh -c 'sleep 1'");
});

test('case 03: every undefined secret named', () => {
  const message = wrapError(load('cases', '03-marathon-undefined-secret-reference.json'));
  assert.match(message, /\/env\/DB_PW\/secret references an undefined secret 'dbpass'/);
  assert.match(
    message,
    /\/container\/volumes\/0\/secret references an undefined secret 'tls-cert'/,
  );
  assert.doesNotMatch(message, /OK_VAR/);
  assert.match(message, /\(2 problems\)/);
});

test('case 04: round trip lossless, other volumes kept in order', () => {
  const text = readFileSync(
    join(fixtures, 'cases', '04-marathon-secret-volume-roundtrip.json'),
    'utf8',
  );
  const first = readMarathon(JSON.parse(text));
  const again = readMarathon(
    JSON.parse(JSON.stringify(first.kind === 'app' ? first.app : first.pod)),
  );
  assert.deepEqual(again, first);
  assert.equal(
    JSON.stringify(again.kind === 'app' ? again.app : undefined),
    JSON.stringify(JSON.parse(text)),
  );

  const input = JSON.parse(text);
  const app = (wrapDefinition(input) as { definition: any }).definition;
  assert.deepEqual(app.container.volumes, input.container.volumes.slice(1));
  assert.deepEqual(app.container.docker, input.container.docker);
  const secrets = parseSecretsVariable(app.env.TESSERA_SECRETS);
  assert.deepEqual(secrets.files, [
    {
      container_path: 'path/to/db/password',
      mode: 'RO',
      secret: { type: 'REFERENCE', reference: { name: 'developer/databasepassword' } },
    },
  ]);
});

test('case 05: file secret on DOCKER rejected', () => {
  const input = load('cases', '05-marathon-secret-volume-docker-containerizer.json');
  const message = wrapError(input);
  assert.match(message, /'\/run\/secrets\/db'.*need container type MESOS \(UCR\)/);
  assert.doesNotMatch(message, /PLACEHOLDER/);
});

test('case 06: DOCKER TaskInfo rejected naming MY_SECRET_ENV', () => {
  const message = wrapError(load('cases', '06-taskinfo-docker-containerizer-env-secret.json'));
  assert.match(message, /'MY_SECRET_ENV' is of type SECRET, but the container type is DOCKER/);
  assert.doesNotMatch(message, /MY_NORMAL_ENV/);
});

test('case 29: container path rules', () => {
  const scenario = load('cases', '29-secret-volume-container-paths.json');
  const hostPaths = new Set(['/bin/touch']);
  const pathExists = (path: string) => hostPaths.has(path);
  for (const pathCase of scenario.cases) {
    const task = structuredClone(scenario.taskInfoTemplate);
    task.container.volumes[0].container_path = pathCase.container_path;
    if (pathCase.rootfs) {
      task.container.mesos = { image: { type: 'DOCKER', docker: { name: 'library/alpine' } } };
    }
    const label = JSON.stringify(pathCase.container_path);
    if (pathCase.expect.startsWith('reject')) {
      wrapError(task, { allowInlineValues: true, pathExists });
      continue;
    }
    const { warnings } = wrapDefinition(task, { allowInlineValues: true, pathExists });
    if (pathCase.expect.includes('warn')) {
      assert.match(warnings.join('\n'), /'\/bin\/touch' exists on this host/, label);
    } else {
      // The template requests 32 MiB, which brings a warning of its own.
      const pathWarnings = warnings.filter((warning) => !warning.includes('of memory (mem)'));
      assert.deepEqual(pathWarnings, [], label);
    }
  }
});

test('case 29: missing absolute path uses Mesos reason', () => {
  const scenario = load('cases', '29-secret-volume-container-paths.json');
  const task = structuredClone(scenario.taskInfoTemplate);
  task.container.volumes[0].container_path = '/my_secret';
  const message = wrapError(task, { allowInlineValues: true, pathExists: () => false });
  assert.match(message, /Absolute container path '\/my_secret' does not exist/);
});

test('case 10: a path@field source becomes a reference with a key', () => {
  const scenario = load('cases', '10-marathon-vault-plugin-field-selector.json');
  const app = (wrapDefinition(scenario.marathonApp) as { definition: any }).definition;
  const wrapped = parseSecretsVariable(app.env.TESSERA_SECRETS);
  const byName = Object.fromEntries(wrapped.env.map((entry) => [entry.name, entry.secret]));
  assert.deepEqual(byName.ENV_NAME?.reference, { name: '/abc/xyz', key: 'password' });
  assert.deepEqual(byName.REL_PW?.reference, { name: 'database', key: 'password' });
  // Without @field, the Mesos rule applies: the field `value`, by leaving out `key`.
  assert.deepEqual(byName.NO_FIELD?.reference, { name: '/abc/xyz' });
});

function wrapProblems(input: unknown): { path: string; message: string }[] {
  try {
    wrapDefinition(input);
  } catch (error) {
    assert.ok(isTesseraError(error, 'INVALID_TASK'), String(error));
    return error.details?.problems as { path: string; message: string }[];
  }
  assert.fail('the definition was wrapped');
}

function referenceTask(variables: unknown[], volumes: unknown[]): unknown {
  return {
    name: 't',
    task_id: { value: 't.1' },
    command: { value: 'true', environment: { variables } },
    container: { type: 'MESOS', volumes },
  };
}

const storeReference = { type: 'REFERENCE', reference: { name: 'p/s' } };

test('Marathon container paths checked as in a TaskInfo', () => {
  for (const containerPath of ['../x', '', 'x/', 'a\tb', '.', 'a/../../b']) {
    const app = {
      id: '/a',
      cmd: 'echo',
      container: { type: 'MESOS', volumes: [{ containerPath, secret: 's' }] },
      secrets: { s: { source: 'p/s' } },
    };
    const volume = {
      mode: 'RO',
      container_path: containerPath,
      source: { type: 'SECRET', secret: storeReference },
    };
    const [expected] = wrapProblems(referenceTask([], [volume]));
    const [found] = wrapProblems(app);
    const label = JSON.stringify(containerPath);
    assert.equal(found?.path, '/container/volumes/0/containerPath', label);
    assert.equal(found?.message, expected?.message, label);
  }
});

test('Marathon env names checked as in a TaskInfo', () => {
  for (const name of ['PATH=/tmp/evil:/usr/bin', '']) {
    const app = {
      id: '/a',
      cmd: 'echo',
      env: { [name]: { secret: 's' } },
      secrets: { s: { source: 'p/s' } },
    };
    const variable = { name, type: 'SECRET', secret: storeReference };
    const [expected] = wrapProblems(referenceTask([variable], []));
    const [found] = wrapProblems(app);
    const label = JSON.stringify(name);
    assert.equal(found?.path, `/env/${name.replaceAll('/', '~1')}`, label);
    assert.match(found?.message ?? '', /has an invalid name: a name must be non-empty/, label);
    assert.equal(
      found?.message.replace(/^Environment variable /, ''),
      expected?.message.replace(/^Environment variable 0 \((.*?)\) /, '$1 '),
      label,
    );
  }
});

test('Marathon sources checked as reference names', () => {
  for (const source of ['p//s', 'p/./s', '../x', '//', 'p//s@field']) {
    const app = {
      id: '/a',
      cmd: 'echo',
      env: { K: { secret: 's' } },
      secrets: { s: { source } },
    };
    const [found] = wrapProblems(app);
    assert.equal(found?.path, '/secrets/s/source', source);
    assert.match(found?.message ?? '', /^names the secret path '.*', which (has|is)/, source);
  }
});

test('Marathon pod mount paths checked', () => {
  const pod = {
    id: '/p',
    secrets: { a: { source: 'p/a' } },
    volumes: [{ name: 'v', secret: 'a' }],
    containers: [
      {
        name: 'c',
        exec: { command: { shell: 'true' } },
        environment: { 'A=B': 'plain' },
        volumeMounts: [
          { name: 'v', mountPath: 'a/../../b' },
          { name: 'v', mountPath: 'a/../../b/' },
        ],
      },
    ],
  };
  const problems = wrapProblems(pod);
  const paths = problems.map((problem) => problem.path);
  assert.deepEqual(paths, [
    '/containers/0/environment/A=B',
    '/containers/0/volumeMounts/0/mountPath',
    '/containers/0/volumeMounts/1/mountPath',
    '/containers/0/volumeMounts/1/mountPath',
  ]);
  assert.match(problems[1]?.message ?? '', /has a '\.\.' segment, which can escape the sandbox/);
});

test('Marathon secret volumes need a containerPath', () => {
  const app = {
    id: '/a',
    cmd: 'echo',
    container: { type: 'MESOS', volumes: [{ secret: 's' }] },
    secrets: { s: { source: 'p/s' } },
  };
  const [found] = wrapProblems(app);
  assert.equal(found?.path, '/container/volumes/0/containerPath');
  assert.match(found?.message ?? '', /^is missing/);
});

function secretApp(fields: Record<string, unknown>): Record<string, unknown> {
  return {
    id: '/x',
    env: { P: { secret: 's' } },
    secrets: { s: { source: 'p/s' } },
    ...fields,
  };
}

test('Marathon empty secret id rejected', () => {
  const message = wrapError(secretApp({ cmd: 'true', env: { X: { secret: '' } } }));
  assert.match(message, /\/env\/X\/secret must not be empty/);
  assert.doesNotMatch(message, /undefined secret/);
});

test('Marathon missing source named by pointer', () => {
  const message = wrapError(secretApp({ cmd: 'true', secrets: { s: {} } }));
  assert.match(message, /\n {2}\/secrets\/s\/source is missing/);
});

test('Marathon app with cmd and args rejected', () => {
  const message = wrapError(secretApp({ cmd: 'a', args: ['b'] }));
  assert.match(message, /sets both cmd and args, which Marathon rejects/);
});

test('Marathon args with a container rejected', () => {
  const app = secretApp({
    container: { type: 'MESOS', docker: { image: 'postgres:16' } },
    args: ['-c', 'max_connections=200'],
  });
  const message = wrapError(app);
  assert.match(message, /has args and a container/);
  assert.match(message, /container image's entrypoint/);
  assert.match(message, /set cmd/);
});

test('Marathon args without a container wrapped', () => {
  const app = (wrapDefinition(secretApp({ args: ['/bin/server', '-v'] })) as { definition: any })
    .definition;
  assert.deepEqual(app.args, ['tessera', 'exec', '--', '/bin/server', '-v']);
});

test('Marathon secret ids unused before wrap stay', () => {
  const input = secretApp({ cmd: 'true', secrets: { s: { source: 'p/s' }, u: { source: 'q' } } });
  const { definition, warnings } = wrapDefinition(input) as { definition: any; warnings: string[] };
  assert.deepEqual(definition.secrets, { u: { source: 'q' } });
  assert.match(warnings.join('\n'), /secret 'u' is used by no field that tessera wrap knows/);

  const pod = {
    id: '/p',
    secrets: { a: { source: 'p/a' }, u: { source: 'q' } },
    environment: { A: { secret: 'a' } },
    containers: [{ name: 'c', exec: { command: { shell: 'true' } } }],
  };
  const wrapped = wrapDefinition(pod) as { definition: any; warnings: string[] };
  assert.deepEqual(wrapped.definition.secrets, { u: { source: 'q' } });
  assert.match(wrapped.warnings.join('\n'), /pod '\/p': secret 'u' is used by no field/);
});

test('pod container variable beats pod secret', () => {
  const pod = {
    id: '/p',
    secrets: { a: { source: 'p/a' }, b: { source: 'p/b' } },
    environment: { SHARED: { secret: 'a' }, BOTH: { secret: 'a' } },
    containers: [
      {
        name: 'own',
        exec: { command: { shell: 'echo $SHARED' } },
        environment: { SHARED: 'container-plain', BOTH: { secret: 'b' } },
      },
      { name: 'inherits', exec: { command: { shell: 'echo $SHARED' } } },
    ],
  };
  const { definition } = wrapDefinition(pod) as { definition: any };
  const [own, inherits] = definition.containers;
  assert.equal(own.environment.SHARED, 'container-plain');
  assert.deepEqual(envReferences(own.environment.TESSERA_SECRETS), [['BOTH', 'p/b']]);
  assert.deepEqual(envReferences(inherits.environment.TESSERA_SECRETS), [
    ['SHARED', 'p/a'],
    ['BOTH', 'p/a'],
  ]);
});

test('pod argv needs overrideEntrypoint', () => {
  const pod = (exec: unknown) => ({
    id: '/p',
    secrets: { a: { source: 'p/a' } },
    containers: [{ name: 'c', exec, environment: { A: { secret: 'a' } } }],
  });
  const message = wrapError(pod({ command: { argv: ['/bin/server'] } }));
  assert.match(message, /argv without exec\.overrideEntrypoint/);
  assert.match(message, /set exec\.overrideEntrypoint to true/);

  const exec = { overrideEntrypoint: true, command: { argv: ['/bin/server', '-v'] } };
  const { definition } = wrapDefinition(pod(exec)) as { definition: any };
  assert.deepEqual(definition.containers[0].exec.command.argv, [
    'tessera',
    'exec',
    '--',
    '/bin/server',
    '-v',
  ]);
});

const volumeReference = {
  mode: 'RO',
  container_path: 's',
  source: { type: 'SECRET', secret: { type: 'REFERENCE', reference: { name: '/p/s' } } },
};

test('custom executor task rejected unchanged', () => {
  const task: any = {
    name: 't',
    task_id: { value: 't1' },
    agent_id: { value: 'a' },
    resources: [],
    executor: { executor_id: { value: 'e' }, command: { value: './ex' } },
    container: { type: 'MESOS', volumes: [structuredClone(volumeReference)] },
  };
  const before = structuredClone(task);
  assert.throws(
    () => wrapTaskInfo(task),
    (error: Error) =>
      isTesseraError(error, 'INVALID_TASK') &&
      /Task 't1' has no command: its executor \(executor\.command\) starts the task/.test(
        error.message,
      ),
  );
  assert.deepEqual(task, before);
});

test('task without command value rejected unchanged', () => {
  const task: any = {
    name: 't',
    task_id: { value: 't2' },
    command: { shell: false, arguments: ['x'] },
    container: { type: 'MESOS', volumes: [structuredClone(volumeReference)] },
  };
  const before = structuredClone(task);
  assert.throws(() => wrapTaskInfo(task), /Task 't2' has no command\.value/);
  assert.deepEqual(task, before);
});

test('executor inline VALUE rejected unless allowed', () => {
  const canary = Buffer.from('CANARY-executor-inline-5b1').toString('base64');
  const inline = { type: 'VALUE', value: { data: canary } };
  const task = {
    name: 't',
    task_id: { value: 't3' },
    command: {
      value: 'true',
      environment: {
        variables: [referenceVariable('K', 'a/b')],
      },
    },
    executor: {
      executor_id: { value: 'e' },
      command: {
        value: './ex',
        environment: { variables: [{ name: 'E', type: 'SECRET', secret: inline }] },
      },
      container: {
        type: 'MESOS',
        volumes: [{ mode: 'RO', container_path: 'v', source: { type: 'SECRET', secret: inline } }],
      },
    },
  };
  const message = wrapError(task);
  assert.match(
    message,
    /executor\.command\.environment\.variables\[0\]: Executor environment variable 'E' has an inline VALUE secret/,
  );
  assert.match(
    message,
    /executor\.container\.volumes\[0\]: Executor secret volume 'v' has an inline VALUE secret/,
  );
  assert.ok(!message.includes(canary));

  const { definition, warnings } = wrapDefinition(task, { allowInlineValues: true }) as {
    definition: any;
    warnings: string[];
  };
  assert.deepEqual(definition.executor, task.executor);
  assert.match(warnings.join('\n'), /executor secret E is left in the executor/);
});

test('plain TESSERA_TOKEN gets a warning', () => {
  const token = 'tsr_CANARY-token-in-definition';
  const readable =
    /sets TESSERA_TOKEN in plain text; a token in a definition is readable by anyone who can read the definition or the master's \/state/;
  const task = {
    name: 't',
    task_id: { value: 't4' },
    command: {
      value: 'true',
      environment: {
        variables: [{ name: 'TESSERA_TOKEN', value: token }, referenceVariable('K', 'a/b')],
      },
    },
  };
  const forTask = wrapDefinition(task).warnings.join('\n');
  assert.match(forTask, readable);
  assert.match(forTask, /task 't4': command\.environment\.variables\[0\] sets/);
  assert.ok(!forTask.includes(token));

  const app = secretApp({ cmd: 'true', env: { TESSERA_TOKEN: token, P: { secret: 's' } } });
  const forApp = wrapDefinition(app).warnings.join('\n');
  assert.match(forApp, /app '\/x': \/env\/TESSERA_TOKEN sets TESSERA_TOKEN in plain text/);

  const pod = {
    id: '/p',
    environment: { TESSERA_TOKEN: token },
    containers: [
      { name: 'c', exec: { command: { shell: 'true' } }, environment: { TESSERA_TOKEN: token } },
    ],
  };
  const forPod = wrapDefinition(pod).warnings.join('\n');
  assert.match(forPod, /pod '\/p': \/environment\/TESSERA_TOKEN sets/);
  assert.match(forPod, /pod '\/p': \/containers\/0\/environment\/TESSERA_TOKEN sets/);
});

function wrapped(input: unknown, options = {}): any {
  return (wrapDefinition(input, options) as { definition: any }).definition;
}

function referenceVariable(name: string, path: string) {
  return { name, type: 'SECRET', secret: { type: 'REFERENCE', reference: { name: path } } };
}

function referenceVolume(containerPath: string, path: string) {
  return {
    mode: 'RO',
    container_path: containerPath,
    source: { type: 'SECRET', secret: { type: 'REFERENCE', reference: { name: path } } },
  };
}

// A task `t1` that runs ./run with the secret variable A and the secret file s/a.
function runTask() {
  return {
    name: 't',
    task_id: { value: 't1' },
    command: { value: './run', environment: { variables: [referenceVariable('A', 'p/a')] } },
    container: { type: 'MESOS', volumes: [referenceVolume('s/a', 'p/f')] },
  };
}

test('rewrap adds new app secrets to TESSERA_SECRETS', () => {
  const scenario = load('cases', '02-marathon-env-secret-reference-valid.json');
  const first = wrapped(scenario.marathonApp);
  first.env.NEW = { secret: 'n' };
  first.secrets = { n: { source: 'p/s' } };
  const again = wrapped(first);

  assert.equal(again.cmd, "exec tessera exec -- /bin/sh -c 'sleep 100'");
  assert.equal(again.env.NEW, undefined);
  assert.equal(again.secrets, undefined);
  assert.deepEqual(envReferences(again.env.TESSERA_SECRETS), [
    ['PASSWORD', '/path/in/secret/store/eg/db/password'],
    ['NEW', 'p/s'],
  ]);
});

test('rewrap with nothing new changes nothing', () => {
  const scenario = load('cases', '02-marathon-env-secret-reference-valid.json');
  for (const input of [
    scenario.marathonApp,
    scenario.marathonPod,
    load('mesos', 'launch-group-with-secrets.json'),
  ]) {
    const first = wrapped(input);
    const { definition, warnings } = wrapDefinition(first);
    assert.deepEqual(definition, first);
    assert.match(warnings.join('\n'), /has no secrets to (add|move); left unchanged/);
  }
});

test('rewrap adds new task secrets once', () => {
  const first = wrapped(runTask());
  first.task_id.value = 't2';
  first.command.environment.variables.push(referenceVariable('B', 'p/b'));
  first.container.volumes.push(referenceVolume('s/b', 'p/g'));
  const { definition: again, warnings } = wrapDefinition(first) as {
    definition: any;
    warnings: string[];
  };

  assert.equal(again.command.value, 'exec tessera exec -- /bin/sh -c ./run');
  const variables = again.command.environment.variables;
  assert.deepEqual(
    variables.map((variable: any) => variable.name),
    ['TESSERA_SECRETS', 'TESSERA_TASK_ID'],
  );
  assert.equal(variables[1].value, 't2');
  assert.match(warnings.join('\n'), /TESSERA_TASK_ID was 't1' and is now the task id/);
  assert.deepEqual(entryNames(variables[0].value), { env: ['A', 'B'], files: ['s/a', 's/b'] });
  assert.deepEqual(again.container.volumes, []);
});

test('rewrap of an argv task keeps its argv', () => {
  const task = {
    name: 't',
    task_id: { value: 't1' },
    command: {
      shell: false,
      value: '/bin/server',
      arguments: ['/bin/server', '-v'],
      environment: { variables: [referenceVariable('A', 'p/a')] },
    },
  };
  const first = wrapped(task, { tessera: '/opt/tessera' });
  first.command.environment.variables.push(referenceVariable('B', 'p/b'));
  const again = wrapped(first);
  assert.equal(again.command.value, '/opt/tessera');
  assert.deepEqual(again.command.arguments, ['/opt/tessera', 'exec', '--', '/bin/server', '-v']);
});

test('rewrap rejects an entry TESSERA_SECRETS has', () => {
  const first = wrapped(runTask());

  const sameName = structuredClone(first);
  sameName.command.environment.variables.push(referenceVariable('A', 'p/b'));
  const before = structuredClone(sameName);
  assert.throws(
    () => wrapTaskInfo(sameName),
    /variables\[2\]: Environment variable 'A' is already in TESSERA_SECRETS \(env\[0\] at command\.environment\.variables\[0\]\); keep one of the two/,
  );
  assert.deepEqual(sameName, before);

  const samePath = structuredClone(first);
  samePath.container.volumes.push(referenceVolume('./s/a', 'p/g'));
  assert.match(
    wrapError(samePath),
    /Secret volume '\.\/s\/a' uses the same container_path as TESSERA_SECRETS files\[0\]/,
  );

  const inside = structuredClone(first);
  inside.container.volumes.push(referenceVolume('s/a/x', 'p/g'));
  assert.match(
    wrapError(inside),
    /Secret volume 's\/a\/x' is inside 's\/a' \(TESSERA_SECRETS files\[0\]/,
  );

  const app = wrapped(secretApp({ cmd: 'true' }));
  app.env.P = { secret: 't' };
  app.secrets = { t: { source: 'p/t' } };
  assert.match(wrapError(app), /\/env\/P Environment variable 'P' is already in TESSERA_SECRETS/);
});

test('invalid TESSERA_SECRETS named in the error', () => {
  const command = 'exec tessera exec -- /bin/sh -c true';
  const cases: [string, RegExp][] = [
    ['not json', /\/env\/TESSERA_SECRETS TESSERA_SECRETS is not valid JSON/],
    ['{"version":1,"env":[],"files":[],"x":1}', /\n {4}\(root\) has unknown field 'x'/],
    [
      JSON.stringify({
        version: 1,
        env: [{ name: 'A', secret: { type: 'REFERENCE', reference: { name: 'p//a' } } }],
        files: [],
      }),
      /TESSERA_SECRETS env\[0\]: Environment variable 'A': reference\.name 'p\/\/a' has an empty segment/,
    ],
  ];
  for (const [value, expected] of cases) {
    const app = secretApp({ cmd: command, env: { TESSERA_SECRETS: value, P: { secret: 's' } } });
    assert.match(wrapError(app), expected, value);
  }
});

test('TESSERA_SECRETS without tessera exec rejected', () => {
  const value = JSON.stringify({ version: 1, env: [], files: [] });
  const app = secretApp({ cmd: 'true', env: { TESSERA_SECRETS: value, P: { secret: 's' } } });
  assert.match(
    wrapError(app),
    /\/env\/TESSERA_SECRETS sets TESSERA_SECRETS, but the command does not run through tessera exec/,
  );

  const task = {
    name: 't',
    task_id: { value: 't1' },
    command: {
      value: './run',
      environment: {
        variables: [{ name: 'TESSERA_SECRETS', value }, referenceVariable('A', 'p/a')],
      },
    },
  };
  assert.match(
    wrapError(task),
    /variables\[0\]: sets TESSERA_SECRETS, but the command does not run/,
  );

  const pod = {
    id: '/p',
    environment: { TESSERA_SECRETS: value },
    containers: [{ name: 'c', exec: { command: { shell: 'true' } } }],
  };
  assert.match(wrapError(pod), /\/environment\/TESSERA_SECRETS is set for the whole pod/);
});

test('rewrap rejects earlier inline values unless allowed', () => {
  const canary = Buffer.from('CANARY-rewrap-inline-0c4').toString('base64');
  const inline = { type: 'VALUE', value: { data: canary } };
  const value = JSON.stringify({ version: 1, env: [{ name: 'I', secret: inline }], files: [] });
  const app = secretApp({
    cmd: 'exec tessera exec -- /bin/sh -c true',
    env: { TESSERA_SECRETS: value, P: { secret: 's' } },
  });
  const message = wrapError(app);
  assert.match(message, /TESSERA_SECRETS env\[0\] has an inline VALUE secret/);
  assert.ok(!message.includes(canary));
  const again = wrapped(app, { allowInlineValues: true });
  assert.deepEqual(entryNames(again.env.TESSERA_SECRETS).env, ['I', 'P']);
});

test('rewrap adds new pod secrets per container', () => {
  const scenario = load('cases', '02-marathon-env-secret-reference-valid.json');
  const first = wrapped(scenario.marathonPod);
  first.containers[0].environment.NEWP = { secret: 'n' };
  first.secrets = { n: { source: 'p/n' } };
  const again = wrapped(first);
  const container = again.containers[0];
  assert.equal(container.exec.command.shell, "exec tessera exec -- /bin/sh -c 'sleep 1'");
  assert.deepEqual(entryNames(container.environment.TESSERA_SECRETS), {
    env: ['DATABASE_PW', 'NEWP'],
    files: ['path/to/db/password'],
  });
});

test('wrapDefinitionText keeps numbers exactly', () => {
  const text = JSON.stringify(secretApp({ cmd: 'true' })).replace(
    '{',
    '{"instances":9007199254740993,"mem":1.50,',
  );
  const { text: output } = wrapDefinitionText(text, 'app.json');
  assert.match(output, /"instances": 9007199254740993,\n {2}"mem": 1\.50,/);
});

test('wrapDefinitionText accepts a byte order mark', () => {
  const text = `\uFEFF${JSON.stringify(secretApp({ cmd: 'true' }))}`;
  assert.match(wrapDefinitionText(text, 'app.json').text, /TESSERA_SECRETS/);
});

test('wrapDefinitionText rejects a key given twice', () => {
  const text =
    '{"id":"/x","cmd":"a","cmd":"b","env":{"P":{"secret":"s"}},"secrets":{"s":{"source":"p/s"}}}';
  assert.throws(
    () => wrapDefinitionText(text, 'app.json'),
    (error: Error) =>
      isTesseraError(error, 'INVALID_ARGUMENT') &&
      /^app\.json has the key 'cmd' twice in one object, the second at line 1, column 22/.test(
        error.message,
      ),
  );
});

test('wrapDefinition rejects deep nesting clearly', () => {
  let deep: unknown = 1;
  for (let level = 0; level < 100_000; level += 1) deep = [deep];
  const app = secretApp({ cmd: 'true', labels: { deep } });
  assert.throws(
    () => wrapDefinition(app),
    (error: Error) =>
      isTesseraError(error, 'INVALID_ARGUMENT') &&
      /^The definition nests arrays and objects more than 1000 levels deep/.test(error.message),
  );
});

test('pod secret no container sees removed', () => {
  const pod = {
    id: '/p',
    secrets: { a: { source: 'p/a' } },
    environment: { SHARED: { secret: 'a' } },
    volumes: [{ name: 'unmounted', secret: 'a' }],
    containers: [
      {
        name: 'c',
        exec: { command: { shell: 'echo $SHARED' } },
        environment: { SHARED: 'container-plain' },
      },
    ],
  };
  const { definition, warnings } = wrapDefinition(pod) as { definition: any; warnings: string[] };
  assert.deepEqual(definition.environment, {});
  assert.deepEqual(definition.volumes, []);
  assert.equal(definition.secrets, undefined);
  assert.deepEqual(definition.containers[0], pod.containers[0]);
  const text = warnings.join('\n');
  assert.match(text, /\/environment\/SHARED is a secret that every container overrides/);
  assert.match(text, /\/volumes\/0 is a secret volume that no container mounts; removed/);
});

const memoryWarning = /asks for (\S+) MiB of memory \(mem\), and tessera exec takes about 110 MiB/;

test('app with 32 MiB told to raise mem', () => {
  const scenario = load('cases', '28-secret-rotation-relaunch.json');
  const { warnings } = wrapDefinition(scenario.marathonApp);
  assert.deepEqual(
    warnings.filter((warning) => memoryWarning.test(warning)),
    [
      "app '/example-team/rotating' asks for 32 MiB of memory (mem), and tessera exec takes " +
        'about 110 MiB of it beside the command on agents that enforce memory limits ' +
        '(cgroups/mem); raise mem by 128, to 160',
    ],
  );
  // A rewrap does not add tessera exec again, so it does not warn again.
  const again = wrapDefinition(wrapDefinition(scenario.marathonApp).definition);
  assert.equal(again.warnings.filter((warning) => memoryWarning.test(warning)).length, 0);
});

test('memory warnings for tasks and pods', () => {
  const task = load('mesos', 'launch-group-with-secrets.json');
  const warned = wrapDefinition(task).warnings.filter((warning) => memoryWarning.test(warning));
  assert.equal(warned.length, 1);
  assert.match(warned[0] as string, /^task 'billing-api\.instance-1\.server' asks for 256 MiB/);

  const roomy = JSON.stringify(task).replaceAll('{"value":256}', '{"value":1024}');
  assert.notEqual(roomy, JSON.stringify(task));
  const none = wrapDefinitionText(roomy, 'task.json').warnings;
  assert.equal(none.filter((warning) => memoryWarning.test(warning)).length, 0);

  const scenario = load('cases', '02-marathon-env-secret-reference-valid.json');
  const pod = structuredClone(scenario.marathonPod);
  pod.containers[0].resources = { ...pod.containers[0].resources, mem: 64 };
  // Written as 64.0, which the parser keeps as its text so that the output keeps it too.
  const podText = JSON.stringify(pod).replace('"mem":64', '"mem":64.0');
  const podWarnings = wrapDefinitionText(podText, 'pod.json').warnings.filter((warning) =>
    memoryWarning.test(warning),
  );
  assert.equal(podWarnings.length, 1);
  assert.match(podWarnings[0] as string, /^container 'container-1' of pod '.*' asks for 64 MiB/);
});

test('memory warning for an invalid mem', () => {
  const scenario = load('cases', '28-secret-rotation-relaunch.json');
  for (const [mem, printed] of [
    [0, '0'],
    [-64, '-64'],
    ['512', '"512"'],
    [null, 'null'],
  ] as const) {
    const app = { ...structuredClone(scenario.marathonApp), mem };
    const warnings = wrapDefinition(app).warnings.filter((warning) => warning.includes('mem'));
    assert.deepEqual(warnings, [
      `app '/example-team/rotating' has mem ${printed}, which is not a positive, finite ` +
        'number of MiB; set mem to what the command needs plus 128 for tessera exec',
    ]);
  }
});

test('memory warning for an invalid task mem', () => {
  const task = load('mesos', 'launch-group-with-secrets.json');
  const text = JSON.stringify(task);
  for (const [value, printed] of [
    ['0', '0'],
    ['-5', '-5'],
    ['"1024"', '"1024"'],
    // Too large for a double: the parser would make it Infinity.
    ['1e400', '1e400'],
    // A second entry that is not a positive, finite number is named, not summed.
    ['1024},"role":"*"},{"name":"mem","type":"SCALAR","scalar":{"value":-900', '-900'],
  ] as const) {
    const changed = text.replaceAll('{"value":256}', `{"value":${value}}`);
    assert.notEqual(changed, text);
    const warnings = wrapDefinitionText(changed, 'task.json').warnings.filter((warning) =>
      warning.includes('mem'),
    );
    assert.deepEqual(warnings, [
      `task 'billing-api.instance-1.server' has mem ${printed}, which is not a positive, ` +
        'finite number of MiB; set mem to what the command needs plus 128 for tessera exec',
    ]);
  }
});

test('memory warning for an object named rawJSON', () => {
  const scenario = load('cases', '28-secret-rotation-relaunch.json');
  const app = { ...structuredClone(scenario.marathonApp), mem: { rawJSON: '1024' } };
  const warnings = wrapDefinition(app).warnings.filter((warning) => warning.includes('mem'));
  assert.deepEqual(warnings, [
    `app '/example-team/rotating' has mem {"rawJSON":"1024"}, which is not a positive, ` +
      'finite number of MiB; set mem to what the command needs plus 128 for tessera exec',
  ]);
});

test('memory warning without mem', () => {
  const scenario = load('cases', '28-secret-rotation-relaunch.json');
  const app = structuredClone(scenario.marathonApp);
  delete app.mem;
  const warnings = wrapDefinition(app).warnings.filter((warning) => warning.includes('(mem)'));
  assert.deepEqual(warnings, [
    "app '/example-team/rotating' does not say how much memory it needs (mem), and tessera " +
      'exec takes about 110 MiB beside the command on agents that enforce memory limits ' +
      '(cgroups/mem); give mem 128 more than the command needs',
  ]);

  const pod = load('cases', '02-marathon-env-secret-reference-valid.json').marathonPod;
  const podWarnings = wrapDefinition(pod).warnings.filter((warning) => warning.includes('(mem)'));
  assert.equal(podWarnings.length, 1);
  assert.match(podWarnings[0] as string, /^container 'container-1' of pod .* does not say/);
});
