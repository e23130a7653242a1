import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { executorSecretNames, referencePath, secretUses } from '../../src/mesos/secrets.ts';
import { readTask, readTaskText } from '../../src/mesos/task.ts';

const fixturesDir = join(import.meta.dirname, '..', 'fixtures');

test('secretUses lists a reference used as variable and file', () => {
  const file = join(fixturesDir, 'cases', '32-same-secret-env-and-volume.json');
  const task = readTaskText(readFileSync(file, 'utf8'), file);
  const uses = secretUses(task);
  const expected = { type: 'REFERENCE', reference: { name: '/my/secret', key: 'username' } };

  assert.equal(uses.length, 2);
  assert.deepEqual(uses[0], { kind: 'env', name: 'MY_SECRET_ENV', secret: expected });
  assert.deepEqual(uses[1], {
    kind: 'file',
    containerPath: 'path/to/secret/file',
    secret: expected,
    readOnly: false,
  });
});

test('secretUses keeps TaskInfo order and skips plain entries', () => {
  const file = join(fixturesDir, 'mesos', 'launch-group-with-secrets.json');
  const uses = secretUses(readTaskText(readFileSync(file, 'utf8'), file));

  assert.deepEqual(
    uses.map((use) => (use.kind === 'env' ? use.name : use.containerPath)),
    ['DB_PASSWORD', 'STRIPE_API_KEY', 'secrets/db-password'],
  );
  assert.equal(uses[2]?.kind === 'file' && uses[2].readOnly, true);
});

test('secretUses treats a volume without mode as read-only', () => {
  const secret = { type: 'VALUE', value: { data: '' } };
  const task = readTask({
    name: 't',
    task_id: { value: 't.1' },
    container: {
      type: 'MESOS',
      volumes: [
        { container_path: 'a', source: { type: 'SECRET', secret } },
        { container_path: 'b', host_path: '/tmp', mode: 'RW' },
      ],
    },
  });
  const uses = secretUses(task);

  assert.equal(uses.length, 1);
  assert.equal(uses[0]?.kind === 'file' && uses[0].readOnly, true);
});

test('referencePath drops one leading slash', () => {
  assert.deepEqual(referencePath({ name: '/db/password' }), {
    path: 'db/password',
    field: 'value',
  });
  assert.deepEqual(referencePath({ name: 'db/password' }), { path: 'db/password', field: 'value' });
  assert.deepEqual(referencePath({ name: '//db' }), { path: '/db', field: 'value' });
});

test('referencePath takes the field from key', () => {
  assert.deepEqual(referencePath({ name: '/my/secret', key: 'username' }), {
    path: 'my/secret',
    field: 'username',
  });
});

test('executorSecretNames lists executor secret variables', () => {
  const task = readTask({
    name: 'with-executor',
    task_id: { value: 'with-executor.1' },
    executor: {
      executor_id: { value: 'e' },
      command: {
        value: 'run-executor',
        environment: {
          variables: [
            { name: 'PLAIN', value: 'x' },
            { name: 'EXEC_TOKEN', type: 'SECRET', secret: { value: { data: 'eA==' } } },
            { name: 'BAD=hunter2', type: 'SECRET', secret: { value: { data: 'eA==' } } },
          ],
        },
      },
    },
  });

  assert.deepEqual(executorSecretNames(task), ['EXEC_TOKEN', 'BAD=...']);
});

test('executorSecretNames is empty without an executor', () => {
  const task = readTask({ name: 'plain', task_id: { value: 'plain.1' } });
  assert.deepEqual(executorSecretNames(task), []);
});
