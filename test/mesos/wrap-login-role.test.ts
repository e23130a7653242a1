import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isTesseraError } from '../../src/errors.ts';
import { wrapDefinition } from '../../src/mesos/wrap-definition.ts';

const scenario = JSON.parse(
  readFileSync(
    join(
      import.meta.dirname,
      '..',
      'fixtures',
      'cases',
      '02-marathon-env-secret-reference-valid.json',
    ),
    'utf8',
  ),
);

function wrapped(input: unknown, loginRole = 'billing') {
  const result = wrapDefinition(input, { loginRole }) as {
    definition: any;
    warnings: string[];
  };
  return { definition: result.definition, warnings: result.warnings };
}

function task(variables: unknown[]) {
  return {
    name: 'api',
    task_id: { value: 'api.1' },
    command: { value: './api', environment: { variables } },
  };
}

const reference = {
  name: 'DB',
  type: 'SECRET',
  secret: { type: 'REFERENCE', reference: { name: '/billing/db' } },
};

// The VALUE variables of a TaskInfo, by name.
function values(definition: any): Record<string, string> {
  const variables: { name: string; value: string }[] = definition.command.environment.variables;
  return Object.fromEntries(variables.map((variable) => [variable.name, variable.value]));
}

test('wrapped TaskInfo gets the role', () => {
  const { definition } = wrapped(task([reference]));
  assert.equal(values(definition).TESSERA_LOGIN_ROLE, 'billing');
  assert.match(definition.command.value, /tessera exec/);
});

test('Marathon app and pod get the role', () => {
  const app = wrapped(scenario.marathonApp).definition;
  assert.equal(app.env.TESSERA_LOGIN_ROLE, 'billing');
  const pod = wrapped(scenario.marathonPod).definition;
  assert.equal(pod.containers[0].environment.TESSERA_LOGIN_ROLE, 'billing');
  assert.equal(pod.environment?.TESSERA_LOGIN_ROLE, undefined);
});

test('no role without --login-role', () => {
  const result = wrapDefinition(scenario.marathonApp) as { definition: any };
  assert.equal('TESSERA_LOGIN_ROLE' in result.definition.env, false);
});

test('second wrap adds only the role', () => {
  const once = (wrapDefinition(task([reference])) as { definition: any }).definition;
  assert.equal(values(once).TESSERA_LOGIN_ROLE, undefined);
  const twice = wrapped(once);
  assert.equal(values(twice.definition).TESSERA_LOGIN_ROLE, 'billing');
  assert.match(twice.warnings.join('\n'), /has no secrets to add; only TESSERA_LOGIN_ROLE is set/);

  const app = (wrapDefinition(scenario.marathonApp) as { definition: any }).definition;
  assert.equal(wrapped(app).definition.env.TESSERA_LOGIN_ROLE, 'billing');
  const pod = (wrapDefinition(scenario.marathonPod) as { definition: any }).definition;
  assert.equal(wrapped(pod).definition.containers[0].environment.TESSERA_LOGIN_ROLE, 'billing');
});

test('plain token warning names the role', () => {
  const token = 'tsr_CANARY-token-beside-login-role';
  const { warnings } = wrapped(task([{ name: 'TESSERA_TOKEN', value: token }, reference]));
  const text = warnings.join('\n');
  assert.match(text, /does not log in under the login role billing/);
  assert.ok(!text.includes(token));
});

test('invalid role rejected before changes', () => {
  const input = task([reference]);
  const before = structuredClone(input);
  assert.throws(
    () => wrapDefinition(input, { loginRole: 'Billing Team' }),
    (error: unknown) =>
      isTesseraError(error, 'INVALID_ARGUMENT') &&
      /^--login-role is invalid; use 1 to 128 lowercase letters/.test(error.message),
  );
  assert.deepEqual(input, before);
});
