import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isTesseraError, type TesseraError } from '../../src/errors.ts';
import { readTask } from '../../src/mesos/task.ts';
import type { Problem, Secret, TaskInfo, Volume } from '../../src/mesos/types.ts';
import { validateTask } from '../../src/mesos/validate.ts';

const casesDir = join(import.meta.dirname, '..', 'fixtures', 'cases');

function loadCase(file: string): unknown {
  return JSON.parse(readFileSync(join(casesDir, file), 'utf8'));
}

function validationError(task: TaskInfo): TesseraError {
  try {
    validateTask(task);
  } catch (error) {
    assert.ok(isTesseraError(error, 'INVALID_TASK'), `unexpected error: ${error}`);
    return error;
  }
  assert.fail(`task ${task.task_id.value} was accepted`);
}

function problemsOf(error: TesseraError): Problem[] {
  return error.details?.problems as Problem[];
}

function envTask(variables: unknown[], container?: unknown): TaskInfo {
  return readTask({
    name: 'env',
    task_id: { value: 'env.1' },
    command: { value: 'true', environment: { variables } },
    ...(container === undefined ? {} : { container }),
  });
}

function volumeTask(volumes: Partial<Volume>[], type = 'MESOS'): TaskInfo {
  return readTask({ name: 'vol', task_id: { value: 'vol.1' }, container: { type, volumes } });
}

function secretVolume(containerPath: string, secret: Secret = valueSecret('cGFzc3dvcmQ=')) {
  return {
    mode: 'RO' as const,
    container_path: containerPath,
    source: { type: 'SECRET' as const, secret },
  };
}

function valueSecret(data: string): Secret {
  return { type: 'VALUE', value: { data } };
}

const reference: Secret = { type: 'REFERENCE', reference: { name: '/team/db', key: 'password' } };

interface MatrixCase {
  name: string;
  taskInfo: unknown;
  expectError: string | null;
}

const matrix = (loadCase('07-secret-validation-matrix.json') as { cases: MatrixCase[] }).cases;
const lastCase = matrix.at(-1)?.name;

for (const matrixCase of matrix) {
  test(`validateTask matrix: ${matrixCase.name}`, () => {
    const task = readTask(matrixCase.taskInfo);
    if (matrixCase.expectError === null) {
      assert.doesNotThrow(() => validateTask(task));
      return;
    }

    const error = validationError(task);
    // Mesos accepts the last case; Tessera rejects the untyped secret, naming the variable.
    const expected =
      matrixCase.name === lastCase ? "Environment variable 'K'" : matrixCase.expectError;
    assert.ok(error.message.includes(expected), error.message);
    assert.ok(!error.message.includes('PLACEHOLDER'), error.message);
  });
}

test('validateTask rejects values that are no TaskInfo', () => {
  const cases: [unknown, RegExp][] = [
    [null, /\(root\) must be an object/],
    [{}, /name is missing\n {2}task_id is missing/],
    [{ name: 't', task_id: { value: 't' }, command: { shell: 'yes' } }, /command\.shell must be/],
  ];
  for (const [input, expected] of cases) {
    const error = validationError(input as TaskInfo);
    assert.match(error.message, /does not match its v1 JSON form/);
    assert.match(error.message, expected);
  }
});

test('validateTask adds the master prefixes to Mesos errors', () => {
  const byName = new Map(matrix.map((entry) => [entry.name, entry.taskInfo]));
  const envError = validationError(readTask(byName.get('env_secret_without_secret')));
  const volumeError = validationError(readTask(byName.get('secret_volume_without_secret')));

  assert.match(envError.message, /Task's `CommandInfo` is invalid: Environment variable 'A'/);
  assert.match(volumeError.message, /Task's `ContainerInfo` is invalid: Invalid volume: 'source/);
});

test('validateTask rejects a secret variable in a DOCKER container', () => {
  const error = validationError(
    readTask(loadCase('06-taskinfo-docker-containerizer-env-secret.json')),
  );

  assert.match(error.message, /'MY_SECRET_ENV'/);
  assert.match(error.message, /DOCKER/);
  assert.match(error.message, /empty strings/);
  assert.ok(!error.message.includes('MY_NORMAL_ENV'), error.message);
});

test('validateTask rejects a secret volume in a DOCKER container', () => {
  const error = validationError(volumeTask([secretVolume('secrets/db')], 'DOCKER'));
  assert.match(error.message, /Secret volume 'secrets\/db' is in a container of type DOCKER/);
  assert.match(error.message, /skips secret volumes/);
});

test('validateTask rejects NUL bytes in environment secrets', () => {
  const error = validationError(readTask(loadCase('08-env-secret-with-nul-bytes.json')));
  const suffix =
    'specifies a secret containing null bytes, which is not allowed in the environment';

  assert.ok(error.message.includes(`Environment variable 'TLS_CERT_DER' ${suffix}`));
  assert.ok(error.message.includes(`Environment variable 'SPLIT_ATTEMPT' ${suffix}`));
  assert.equal(problemsOf(error).length, 2);
});

test('validateTask accepts the same NUL bytes as a volume', () => {
  const task = readTask(loadCase('08-env-secret-with-nul-bytes.json'));
  delete task.command;
  assert.doesNotThrow(() => validateTask(task));
});

test('validateTask accepts one reference used as variable and volume', () => {
  const task = readTask(loadCase('32-same-secret-env-and-volume.json'));
  assert.doesNotThrow(() => validateTask(task));
});

interface EmptyCase {
  name: string;
  mesosSecret?: Secret;
}

const emptyCases = (loadCase('33-empty-secret-and-empty-source.json') as { cases: EmptyCase[] })
  .cases;

function mesosSecretOf(name: string): Secret {
  const secret = emptyCases.find((entry) => entry.name === name)?.mesosSecret;
  assert.ok(secret, `case 33 has no mesosSecret named ${name}`);
  return secret;
}

test('validateTask rejects an empty reference name', () => {
  const secret = mesosSecretOf('empty_reference_name');
  const envError = validationError(envTask([{ name: 'EMPTY_REF', type: 'SECRET', secret }]));
  const volumeError = validationError(volumeTask([secretVolume('secrets/empty', secret)]));

  assert.match(
    envError.message,
    /Environment variable 'EMPTY_REF': reference\.name must not be empty/,
  );
  assert.match(
    volumeError.message,
    /Secret volume 'secrets\/empty': reference\.name must not be empty/,
  );
});

test('validateTask rejects a reference name of only a slash', () => {
  const secret: Secret = { type: 'REFERENCE', reference: { name: '/' } };
  const error = validationError(envTask([{ name: 'ROOT', type: 'SECRET', secret }]));
  assert.match(
    error.message,
    /'ROOT': reference\.name must not be empty \('\/' alone names no secret\)/,
  );
});

test('validateTask rejects reference names the server rejects', () => {
  const cases: [string, RegExp][] = [
    ['p//s', /reference\.name 'p\/\/s' has an empty segment at position 2/],
    ['p/./s', /reference\.name 'p\/\.\/s' has a '\.' segment at position 2/],
    ['../x', /reference\.name '\.\.\/x' has a '\.\.' segment at position 1/],
    ['//', /reference\.name '\/\/' has an empty segment at position 1/],
    ['/sys/x', /reference\.name '\/sys\/x' is invalid: the top-level folder 'sys' is reserved/],
    ['a/b/', /reference\.name 'a\/b\/' has an empty segment at position 3/],
  ];
  for (const [name, expected] of cases) {
    const secret: Secret = { type: 'REFERENCE', reference: { name } };
    const envError = validationError(envTask([{ name: 'K', type: 'SECRET', secret }]));
    assert.match(envError.message, expected, name);
    const volumeError = validationError(volumeTask([secretVolume('secrets/k', secret)]));
    assert.match(volumeError.message, expected, name);
  }
});

test('validateTask accepts a leading slash in a reference name', () => {
  const secret: Secret = { type: 'REFERENCE', reference: { name: '/team/db' } };
  assert.doesNotThrow(() => validateTask(envTask([{ name: 'K', type: 'SECRET', secret }])));
});

test('validateTask accepts zero-length inline data', () => {
  const secret = mesosSecretOf('empty_value_data');
  assert.doesNotThrow(() => validateTask(envTask([{ name: 'EMPTY', type: 'SECRET', secret }])));
  assert.doesNotThrow(() => validateTask(volumeTask([secretVolume('secrets/empty', secret)])));
});

test('validateTask rejects an untyped secret volume', () => {
  const secret: Secret = { reference: { name: '/team/db' } };
  const error = validationError(volumeTask([secretVolume('secrets/db', secret)]));
  assert.match(error.message, /Secret volume 'secrets\/db' has a secret without a type/);
});

test('validateTask rejects data that is not strict base64', () => {
  const envError = validationError(
    envTask([{ name: 'URLSAFE', type: 'SECRET', secret: valueSecret('a-_b') }]),
  );
  const volumeError = validationError(volumeTask([secretVolume('secrets/x', valueSecret('eA'))]));

  assert.match(
    envError.message,
    /Environment variable 'URLSAFE': secret\.value\.data is not valid base64/,
  );
  assert.match(
    volumeError.message,
    /Secret volume 'secrets\/x': secret\.value\.data is not valid base64/,
  );
});

test('validateTask rejects duplicate variable names', () => {
  const variables = [
    { name: 'DB', value: 'a' },
    { name: 'OTHER', value: 'b' },
    { name: 'DB', type: 'SECRET', secret: reference },
  ];
  const error = validationError(envTask(variables));

  assert.deepEqual(
    problemsOf(error).map((problem) => problem.path),
    ['command.environment.variables[2]'],
  );
  assert.match(
    error.message,
    /'DB' is set more than once \(first at command\.environment\.variables\[0\]\)/,
  );
});

test('validateTask checks non-secret volumes by Mesos rules', () => {
  const volumes = [
    { mode: 'RW' as const, container_path: 'a' },
    { mode: 'RW' as const, container_path: 'b', source: { type: 'HOST_PATH' as const } },
    { mode: 'RW' as const, container_path: 'c', source: {} },
    {
      mode: 'RW' as const,
      container_path: 'd',
      source: { type: 'CSI_VOLUME' as const, csi_volume: {} },
    },
    { mode: 'RW' as const, container_path: 'e', host_path: '/tmp' },
  ];
  const messages = problemsOf(validationError(volumeTask(volumes))).map(
    (problem) => problem.message,
  );
  const prefix = "Task's `ContainerInfo` is invalid: Invalid volume: ";

  assert.deepEqual(messages, [
    `${prefix}Only one of them should be set: 'host_path', 'image' and 'source'`,
    `${prefix}'source.host_path' is not set for HOST_PATH volume`,
    `${prefix}'source.type' is unknown`,
    `${prefix}'source.csi_volume.static_provisioning' is not set for CSI volume`,
  ]);
});

test('validateTask applies the secret isolator rule to volumes', () => {
  const secret: Secret = { type: 'VALUE', value: { data: 'eA==' }, reference: { name: '/x' } };
  const error = validationError(volumeTask([secretVolume('secrets/x', secret)]));
  assert.match(
    error.message,
    /Invalid secret specified in volume: Secret of type VALUE must not have the 'reference' field/,
  );
});

interface PathCase {
  container_path: string;
  rootfs: boolean;
  expect: string;
}

const pathCases = (loadCase('29-secret-volume-container-paths.json') as { cases: PathCase[] })
  .cases;

// Absolute container paths are left out: whether one is valid depends on the container's
// root filesystem and the agent's host, which only delivery sees.
for (const pathCase of pathCases.filter((entry) => !entry.container_path.startsWith('/'))) {
  test(`validateTask container_path ${JSON.stringify(pathCase.container_path)}`, () => {
    const task = volumeTask([secretVolume(pathCase.container_path)]);
    if (pathCase.expect === 'ok') {
      assert.doesNotThrow(() => validateTask(task));
      return;
    }

    const error = validationError(task);
    assert.equal(problemsOf(error)[0]?.path, 'container.volumes[0]');
    const shown = pathCase.container_path.replace('\u0000', '\\u0000');
    if (shown !== '') {
      assert.ok(error.message.includes(`'${shown}'`), error.message);
    }
  });
}

test('validateTask names the container path rule broken', () => {
  const rules: [string, RegExp][] = [
    ['', /container_path is empty/],
    ['secrets/', /ends with '\/', which names a directory/],
    ['a/../b', /has a '\.\.' segment/],
    ['/abs/../x', /has a '\.\.' segment/],
    ['tab\there', /has a control character in container_path/],
    ['del\u007f', /has a control character in container_path/],
    ['.', /names a directory, not a file/],
  ];
  for (const [containerPath, rule] of rules) {
    const error = validationError(volumeTask([secretVolume(containerPath)]));
    assert.match(error.message, rule, JSON.stringify(containerPath));
  }
});

test('validateTask rejects duplicate and nested secret paths', () => {
  const volumes = [
    secretVolume('secrets/db'),
    secretVolume('./secrets//db'),
    secretVolume('secrets/db/extra'),
    secretVolume('secrets/dbx'),
    secretVolume('/etc/app/key'),
    secretVolume('etc/app/key'),
  ];
  const problems = problemsOf(validationError(volumeTask(volumes)));

  assert.deepEqual(
    problems.map((problem) => problem.path),
    ['container.volumes[1]', 'container.volumes[2]'],
  );
  assert.match(
    problems[0]?.message ?? '',
    /'\.\/secrets\/\/db' uses the same container_path as container\.volumes\[0\]/,
  );
  assert.match(
    problems[1]?.message ?? '',
    /'secrets\/db\/extra' is inside 'secrets\/db' \(container\.volumes\[0\]\)/,
  );
});

test('validateTask lists every problem on its own line', () => {
  const variables = [
    { name: 'A', type: 'SECRET' },
    { name: 'B', type: 'UNKNOWN', value: 'x' },
  ];
  const error = validationError(
    envTask(variables, { type: 'MESOS', volumes: [secretVolume('../x')] }),
  );
  const lines = error.message.split('\n');

  assert.equal(lines.length, 4);
  assert.match(lines[0] ?? '', /^Task 'env\.1' is invalid \(3 problems\)/);
  assert.deepEqual(
    problemsOf(error).map((problem) => problem.path),
    [
      'command.environment.variables[0]',
      'command.environment.variables[1]',
      'container.volumes[0]',
    ],
  );
});
