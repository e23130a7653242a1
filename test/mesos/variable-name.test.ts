import assert from 'node:assert/strict';
import { test } from 'node:test';

import { isTesseraError, type TesseraError } from '../../src/errors.ts';
import { isValidVariableName, variableDisplayName } from '../../src/mesos/secret-rules.ts';
import { readTask } from '../../src/mesos/task.ts';
import type { Problem, TaskInfo } from '../../src/mesos/types.ts';
import { validateTask } from '../../src/mesos/validate.ts';

const RULE = "has an invalid name: a name must be non-empty and contain neither '=' nor NUL";
const SECRET = { type: 'REFERENCE', reference: { name: '/team/db' } };

function envTask(variables: unknown[]): TaskInfo {
  return readTask({
    name: 'names',
    task_id: { value: 'names.1' },
    command: { value: 'true', environment: { variables } },
  });
}

function problemsOf(task: TaskInfo): Problem[] {
  let error: TesseraError | undefined;
  try {
    validateTask(task);
  } catch (caught) {
    assert.ok(isTesseraError(caught, 'INVALID_TASK'), `unexpected error: ${caught}`);
    error = caught;
  }
  assert.ok(error, `task ${task.task_id.value} was accepted`);
  return error.details?.problems as Problem[];
}

test('isValidVariableName', () => {
  assert.equal(isValidVariableName('PATH'), true);
  assert.equal(isValidVariableName('lower.and-dash'), true);
  assert.equal(isValidVariableName(''), false);
  assert.equal(isValidVariableName('A=B'), false);
  assert.equal(isValidVariableName('=A'), false);
  assert.equal(isValidVariableName('A\0B'), false);
});

test('variableDisplayName hides text after =', () => {
  assert.equal(variableDisplayName('PATH'), 'PATH');
  assert.equal(variableDisplayName('DB_PASSWORD=hunter2'), 'DB_PASSWORD=...');
  assert.equal(variableDisplayName('A\0B'), 'A\\u0000B');
});

const invalid: [string, string, string][] = [
  ['an empty name', '', "('')"],
  ['a name with =', 'PATH=/tmp/evil:/usr/bin', "('PATH=...')"],
  ['a name with NUL', 'A\0B', "('A\\u0000B')"],
];

for (const [label, name, shown] of invalid) {
  for (const type of ['VALUE', 'SECRET'] as const) {
    test(`validateTask rejects ${label} on a ${type} variable`, () => {
      const variable =
        type === 'VALUE' ? { name, type, value: 'v' } : { name, type, secret: SECRET };
      const problems = problemsOf(envTask([{ name: 'OK', value: 'ok' }, variable]));

      assert.equal(problems.length, 1);
      assert.equal(problems[0]?.path, 'command.environment.variables[1]');
      assert.equal(problems[0]?.message.startsWith(`Environment variable 1 ${shown} `), true);
      assert.ok(problems[0]?.message.includes(RULE), problems[0]?.message);
    });
  }
}

test('validateTask keeps the value of a name with = out', () => {
  const variable = { name: 'DB_PASSWORD=hunter2', type: 'SECRET', secret: SECRET };
  const task = envTask([variable]);
  let message = '';
  try {
    validateTask(task);
  } catch (error) {
    message = (error as Error).message;
  }

  assert.match(message, /DB_PASSWORD=\.\.\./);
  assert.equal(message.includes('hunter2'), false);
});

test('validateTask reports a name with = once', () => {
  const variables = [
    { name: 'PATH', value: '/usr/bin' },
    { name: 'PATH=/tmp/evil:/usr/bin', value: '' },
    { name: 'PATH=/tmp/evil:/usr/bin', value: '' },
  ];
  const problems = problemsOf(envTask(variables));

  assert.deepEqual(
    problems.map((problem) => problem.path),
    ['command.environment.variables[1]', 'command.environment.variables[2]'],
  );
  assert.ok(problems.every((problem) => problem.message.includes(RULE)));
});

test('validateTask adds the name rule to a Mesos error', () => {
  const problems = problemsOf(envTask([{ name: '', type: 'SECRET' }]));
  assert.equal(problems.length, 2);
  assert.match(problems[0]?.message ?? '', /must have a secret set/);
  assert.ok(problems[1]?.message.includes(RULE), problems[1]?.message);
});

test('validateTask accepts ordinary names', () => {
  const task = envTask([
    { name: 'PATH', value: '/usr/bin' },
    { name: 'lower_case.dotted-name', value: 'x' },
    { name: 'DB', type: 'SECRET', secret: SECRET },
  ]);
  assert.doesNotThrow(() => validateTask(task));
});
