import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { wrapDefinition } from '../../src/mesos/wrap-definition.ts';
import { scanDocument, scanText } from '../../src/scan/scan.ts';
import { triples } from './triples.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');

function load(...parts: string[]): any {
  return JSON.parse(readFileSync(join(FIXTURES, ...parts), 'utf8'));
}

function wrapped(input: unknown, allowInlineValues = false): unknown {
  return wrapDefinition(input, { allowInlineValues }).definition;
}

const REFERENCES = JSON.stringify({
  version: 1,
  env: [{ name: 'DB_PASSWORD', secret: { type: 'REFERENCE', reference: { name: '/db' } } }],
  files: [],
});

describe('scan of wrapped definitions', () => {
  test('a wrapped LAUNCH_GROUP call has no finding', () => {
    const call = wrapped(load('mesos', 'launch-group-with-secrets.json'));
    assert.deepEqual(triples(scanDocument(call, 'launch.json')), []);
  });

  test('a wrapped Marathon pod has no finding', () => {
    const pod = wrapped(load('cases', '02-marathon-env-secret-reference-valid.json').marathonPod);
    assert.deepEqual(triples(scanDocument(pod, 'pod.json')), []);
  });

  test('a wrapped Marathon app has no finding', () => {
    const app = wrapped(load('cases', '02-marathon-env-secret-reference-valid.json').marathonApp);
    assert.deepEqual(triples(scanDocument(app, 'app.json')), []);
  });

  test('a password option in a wrapped cmd is still reported', () => {
    const app = {
      id: '/a',
      cmd: './run --password PLACEHOLDER-w4',
      env: { API_TOKEN: { secret: 'api' } },
      secrets: { api: { source: '/api' } },
    };
    const findings = scanDocument(wrapped(app), 'app.json');
    assert.deepEqual(triples(findings), ['$.cmd secret-value high']);
    assert.ok(!JSON.stringify(findings).includes('PLACEHOLDER'));
  });

  test('references on a command line are not reported', () => {
    const line = `TESSERA_SECRETS='${REFERENCES}' tessera exec -- ./server\n`;
    assert.deepEqual(scanText(line, 'ps'), []);
  });
});

describe('TESSERA_SECRETS with inline values', () => {
  const canary = Buffer.from('CANARY-inline-w1').toString('base64');
  const task = {
    name: 't',
    task_id: { value: 't' },
    command: {
      value: './run',
      environment: {
        variables: [
          {
            name: 'API_TOKEN',
            type: 'SECRET',
            secret: { type: 'VALUE', value: { data: canary } },
          },
        ],
      },
    },
  };
  const findings = scanDocument(wrapped(task, true), 'task.json');

  test('is an inline secret', () => {
    assert.deepEqual(triples(findings), [
      '$.command.environment.variables[0].value inline-secret high',
    ]);
  });

  test('names the variable, not the value', () => {
    assert.match(findings[0]?.message ?? '', /for API_TOKEN/);
    const printed = JSON.stringify(findings);
    assert.ok(!printed.includes(canary), printed);
    assert.ok(!printed.includes('CANARY'), printed);
  });
});

describe('TESSERA_SECRETS out of its format', () => {
  test('is a plaintext value', () => {
    const findings = scanDocument({ env: { TESSERA_SECRETS: 'CANARY-w2' } }, 'app.json');
    assert.deepEqual(triples(findings), ['$.env.TESSERA_SECRETS secret-value high']);
    assert.match(findings[0]?.message ?? '', /does not match the format/);
    assert.ok(!JSON.stringify(findings).includes('CANARY'));
  });

  test('with an unknown member is a plaintext value', () => {
    const value = JSON.stringify({ ...JSON.parse(REFERENCES), token: 'CANARY-w3' });
    const findings = scanDocument({ env: { TESSERA_SECRETS: value } }, 'app.json');
    assert.deepEqual(triples(findings), ['$.env.TESSERA_SECRETS secret-value high']);
    assert.ok(!JSON.stringify(findings).includes('CANARY'));
  });
});

describe('command rules after tessera wrap', () => {
  const apps = load('cases', '27-cmd-echoes-secret-env.json').apps as unknown[];
  const findings = scanDocument({ apps: apps.map((app) => wrapped(app)) }, 'apps.json');

  test('still warn on echo, served file, env and set -x', () => {
    assert.deepEqual(triples(findings), [
      '$.apps[0].cmd secret-written-to-file medium',
      '$.apps[0].env.TESSERA_SECRETS secret-file-served medium',
      '$.apps[1].cmd environment-dump medium',
      '$.apps[2].cmd shell-trace medium',
    ]);
  });

  test('name the variables from TESSERA_SECRETS', () => {
    const byKind = new Map(findings.map((finding) => [finding.kind, finding.message]));
    assert.match(byKind.get('secret-written-to-file') ?? '', /MARATHON_ENV_SECRET/);
    assert.match(byKind.get('secret-file-served') ?? '', /index2\.html/);
    assert.match(byKind.get('environment-dump') ?? '', /My_SeCrEt/);
    assert.match(byKind.get('shell-trace') ?? '', /SVC_PASSWORD/);
  });

  const secretVariable = {
    name: 'DB_PASSWORD',
    type: 'SECRET',
    secret: { type: 'REFERENCE', reference: { name: '/db' } },
  };

  test('read a wrapped Mesos shell command', () => {
    const task = {
      name: 't',
      task_id: { value: 't' },
      command: { value: 'set -x; ./run', environment: { variables: [secretVariable] } },
    };
    assert.deepEqual(triples(scanDocument(wrapped(task), 'task.json')), [
      '$.command.value shell-trace medium',
    ]);
  });

  test('read a wrapped Mesos argv', () => {
    const task = {
      name: 't',
      task_id: { value: 't' },
      command: {
        shell: false,
        value: '/usr/bin/printenv',
        arguments: ['printenv'],
        environment: { variables: [secretVariable] },
      },
    };
    assert.deepEqual(triples(scanDocument(wrapped(task), 'task.json')), [
      '$.command.value environment-dump medium',
    ]);
  });

  test('read a wrapped pod container', () => {
    const pod = {
      id: '/p',
      containers: [
        {
          name: 'c',
          exec: { command: { shell: 'env' } },
          environment: { DB_PASSWORD: { secret: 'db' } },
        },
      ],
      secrets: { db: { source: '/db' } },
    };
    assert.deepEqual(triples(scanDocument(wrapped(pod), 'pod.json')), [
      '$.containers[0].exec.command.shell environment-dump medium',
    ]);
  });

  test('skip tessera exec without a command', () => {
    const environment = { variables: [secretVariable] };
    const task = { command: { value: 'exec tessera exec --task task.json', environment } };
    assert.deepEqual(triples(scanDocument(task, 'task.json')), []);
  });
});
