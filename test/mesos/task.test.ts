import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isTesseraError, type TesseraError } from '../../src/errors.ts';
import { executorSecretNames } from '../../src/mesos/secrets.ts';
import { readTask, readTaskAndExecutor, readTaskText } from '../../src/mesos/task.ts';

const samplePath = join(
  import.meta.dirname,
  '..',
  'fixtures',
  'mesos',
  'launch-group-with-secrets.json',
);

function task(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, task_id: { value: `${name}.1` }, agent_id: { value: 'agent-S0' }, ...extra };
}

function launch(...tasks: unknown[]): Record<string, unknown> {
  return { type: 'LAUNCH', launch: { task_infos: tasks } };
}

function launchGroup(...tasks: unknown[]): Record<string, unknown> {
  return {
    type: 'LAUNCH_GROUP',
    launch_group: {
      executor: { type: 'DEFAULT', executor_id: { value: 'e' } },
      task_group: { tasks },
    },
  };
}

function accept(...operations: unknown[]): Record<string, unknown> {
  return { type: 'ACCEPT', framework_id: { value: 'f' }, accept: { operations } };
}

function taskError(read: () => unknown): TesseraError {
  try {
    read();
  } catch (error) {
    assert.ok(isTesseraError(error, 'INVALID_TASK'), `unexpected error: ${error}`);
    return error;
  }
  assert.fail('the input was accepted');
}

test('readTask returns a TaskInfo as given', () => {
  const input = task('web', { labels: { labels: [{ key: 'a', value: 'b' }] }, zz_unknown: [1] });
  assert.equal(readTask(input), input);
});

test('readTask takes the task of each carrying form', () => {
  const inner = task('inner');
  const forms = {
    'task group': { tasks: [inner] },
    LAUNCH: launch(inner),
    LAUNCH_GROUP: launchGroup(inner),
    'ACCEPT with LAUNCH': accept(launch(inner)),
    'ACCEPT with LAUNCH_GROUP': accept(launchGroup(inner)),
    'ACCEPT with RESERVE then LAUNCH': accept({ type: 'RESERVE', reserve: {} }, launch(inner)),
  };
  for (const [form, input] of Object.entries(forms)) {
    assert.equal(readTask(input), inner, form);
  }
});

test('readTask reads the launch group sample exactly', () => {
  const text = readFileSync(samplePath, 'utf8');
  const original = JSON.parse(text);
  const found = readTask(JSON.parse(text));

  assert.equal(found.name, 'billing-api');
  assert.equal(found.task_id.value, 'billing-api.instance-1.server');
  assert.equal(
    JSON.stringify(found),
    JSON.stringify(original.accept.operations[0].launch_group.task_group.tasks[0]),
  );
});

test('readTaskText accepts the launch group sample', () => {
  const found = readTaskText(readFileSync(samplePath, 'utf8'), 'launch-group-with-secrets.json');
  assert.equal(found.command?.environment?.variables?.length, 3);
  assert.equal(found.container?.volumes?.[0]?.container_path, 'secrets/db-password');
});

test('readTask rejects zero or several tasks in every form', () => {
  const one = task('one');
  const two = task('two');
  const inputs = [
    { tasks: [] },
    { tasks: [one, two] },
    launch(),
    launch(one, two),
    launchGroup(),
    launchGroup(one, two),
    accept(),
    accept({ type: 'RESERVE' }),
    accept(launch()),
    accept(launch(one), launch(two)),
    accept(launchGroup(one, two)),
  ];
  for (const input of inputs) {
    const error = taskError(() => readTask(input));
    assert.match(error.message, /Expected a TaskInfo, a TaskGroupInfo with one task/);
  }
});

test('readTask rejects inputs that carry no task', () => {
  for (const input of [null, 'text', 42, [task('a')], {}, { type: 'DECLINE' }]) {
    const error = taskError(() => readTask(input));
    assert.match(error.message, /Expected .*a TaskInfo/, JSON.stringify(input));
  }
});

test('readTask rejects an operation that launches nothing', () => {
  const error = taskError(() => readTask({ type: 'RESERVE', launch: { task_infos: [] } }));
  assert.match(error.message, /type RESERVE, which launches no task/);
});

test('readTask names the JSON path of a shape error', () => {
  const variables = [{ name: 'A', value: 'a' }, { name: 'B', value: 'b' }, { value: 'c' }];
  const input = accept(launch(task('t', { command: { environment: { variables } } })));
  const error = taskError(() => readTask(input));

  const path = 'accept.operations[0].launch.task_infos[0].command.environment.variables[2].name';
  assert.match(error.message, new RegExp(`${path.replaceAll(/[.[\]]/g, '\\$&')} is missing`));
  assert.deepEqual(error.details?.problems, [{ path, message: 'is missing' }]);
});

test('readTask accepts enum names only', () => {
  const variables = [
    { name: 'A', type: 2, secret: { type: 'REFERENCE', reference: { name: 'x' } } },
  ];
  const error = taskError(() => readTask(task('t', { command: { environment: { variables } } })));
  assert.match(
    error.message,
    /command\.environment\.variables\[0\]\.type must be one of UNKNOWN, VALUE, SECRET/,
  );
});

test('readTask reports a missing launch member', () => {
  const error = taskError(() => readTask({ type: 'LAUNCH_GROUP' }));
  assert.match(error.message, /launch_group is missing/);
});

test('readTask shape errors never echo values', () => {
  const planted = 'PLACEHOLDER-shape-value';
  const variables = [
    { name: 'A', type: planted },
    { name: 'B', type: 'SECRET', secret: { type: 'VALUE', value: planted } },
    { name: 'C', type: 'SECRET', secret: { type: 'VALUE', value: { data: [planted] } } },
    { name: 'D', value: { nested: planted } },
  ];
  const volumes = [{ mode: planted, container_path: 'x', source: { type: planted } }];
  const input = task('t', {
    command: { environment: { variables } },
    container: { type: planted, volumes },
  });
  const error = taskError(() => readTask(input));

  const problems = error.details?.problems as unknown[];
  assert.equal(problems.length, 7);
  assert.ok(!error.message.includes('PLACEHOLDER'), error.message);
  assert.ok(!JSON.stringify(error.details).includes('PLACEHOLDER'));
});

test('readTaskText names the source in JSON errors', () => {
  try {
    readTaskText('{"name": ', 'task.json');
    assert.fail('invalid JSON was accepted');
  } catch (error) {
    assert.ok(isTesseraError(error, 'INVALID_ARGUMENT'));
    assert.match(error.message, /^task\.json is not valid JSON: /);
  }
});

test('readTaskText names the source in task errors', () => {
  const variables = [{ name: 'A', type: 'SECRET' }];
  const text = JSON.stringify(task('t', { command: { environment: { variables } } }));
  const error = taskError(() => readTaskText(text, 'task.json'));

  assert.match(error.message, /^task\.json: Task 't\.1' is invalid/);
  assert.equal(error.details?.source, 'task.json');
});

test('readTask reports shape and rule problems at once', () => {
  const input = {
    name: 't',
    task_id: { value: 't.1' },
    command: { value: 5, environment: { variables: [{ name: 'A', type: 'SECRET' }] } },
  };
  const error = taskError(() => readTask(input));
  assert.match(error.message, /command\.value must be a string/);
  assert.match(error.message, /variables\[0\]: .*must have a secret set/);
});

test('readTaskAndExecutor returns the group executor', () => {
  const call = JSON.parse(readFileSync(samplePath, 'utf8'));
  const secret = { type: 'REFERENCE', reference: { name: '/billing/executor-token' } };
  call.accept.operations[0].launch_group.executor.command = {
    environment: { variables: [{ name: 'EXEC_TOKEN', type: 'SECRET', secret }] },
  };
  const { task, groupExecutor } = readTaskAndExecutor(JSON.stringify(call), 'call.json');
  assert.deepEqual(executorSecretNames(task, groupExecutor), ['EXEC_TOKEN']);
});

test('readTaskText accepts a byte order mark', () => {
  const text = `\uFEFF${JSON.stringify(task('t'))}`;
  assert.equal(readTaskText(text, 'task.json').task_id.value, 't.1');
});

test('readTaskText rejects a key given twice', () => {
  const text = '{"name": "t", "task_id": {"value": "a"}, "task_id": {"value": "b"}}';
  assert.throws(
    () => readTaskText(text, 'task.json'),
    (error: Error) =>
      isTesseraError(error, 'INVALID_ARGUMENT') &&
      /^task\.json has the key 'task_id' twice in one object/.test(error.message),
  );
});
