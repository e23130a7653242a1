import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planDelivery, resolvePlan } from '../../src/delivery/plan.ts';
import { isTesseraError } from '../../src/errors.ts';
import type { Secret, TaskInfo } from '../../src/mesos/types.ts';

function taskWith(envSecrets: Secret[], fileSecrets: Secret[]): TaskInfo {
  return {
    name: 'plan',
    task_id: { value: 'plan.1' },
    command: {
      value: 'true',
      environment: {
        variables: envSecrets.map((secret, i) => ({ name: `V${i}`, type: 'SECRET', secret })),
      },
    },
    container: {
      type: 'MESOS',
      volumes: fileSecrets.map((secret, i) => ({
        mode: 'RO',
        container_path: `f${i}`,
        source: { type: 'SECRET', secret },
      })),
    },
  };
}

const ref = (name: string, key?: string): Secret => ({
  type: 'REFERENCE',
  reference: key === undefined ? { name } : { name, key },
});
const inline = (data: string): Secret => ({ type: 'VALUE', value: { data } });

describe('planDelivery', () => {
  it('counts a reference used twice once', () => {
    const plan = planDelivery(
      taskWith([ref('/my/secret', 'username')], [ref('/my/secret', 'username')]),
    );
    assert.equal(plan.secrets.length, 1);
    assert.deepEqual(
      plan.uses.map((use) => use.index),
      [0, 0],
    );
  });

  it('treats a leading slash and default key alike', () => {
    const plan = planDelivery(taskWith([ref('/db/pw'), ref('db/pw', 'value')], []));
    assert.equal(plan.secrets.length, 1);
  });

  it('keeps different keys apart', () => {
    const plan = planDelivery(taskWith([ref('/db', 'user'), ref('/db', 'password')], []));
    assert.equal(plan.secrets.length, 2);
  });

  it('counts equal inline values once', () => {
    const plan = planDelivery(taskWith([inline('YWJj')], [inline('YWJj'), inline('eHl6')]));
    assert.equal(plan.secrets.length, 2);
    assert.deepEqual(
      plan.uses.map((use) => use.index),
      [0, 0, 1],
    );
  });

  it('keeps a reference and an inline value apart', () => {
    const plan = planDelivery(taskWith([ref('YWJj')], [inline('YWJj')]));
    assert.equal(plan.secrets.length, 2);
  });

  it('keeps use order and kinds', () => {
    const plan = planDelivery(taskWith([ref('/a')], [ref('/b')]));
    assert.deepEqual(
      plan.uses.map((use) => use.kind),
      ['env', 'file'],
    );
  });
});

describe('resolvePlan', () => {
  it('skips the resolver without secrets', async () => {
    let calls = 0;
    const values = await resolvePlan(planDelivery(taskWith([], [])), async () => {
      calls += 1;
      return [];
    });
    assert.deepEqual(values, []);
    assert.equal(calls, 0);
  });

  it('calls the resolver once with distinct secrets', async () => {
    const batches: Secret[][] = [];
    const plan = planDelivery(taskWith([ref('/a'), ref('/b')], [ref('/a')]));
    const values = await resolvePlan(plan, async (secrets) => {
      batches.push(secrets);
      return secrets.map((secret) => Buffer.from(secret.reference?.name ?? ''));
    });
    assert.equal(batches.length, 1);
    assert.deepEqual(batches[0], [ref('/a'), ref('/b')]);
    assert.deepEqual(values.map(String), ['/a', '/b']);
  });

  it('rejects too few resolved values', async () => {
    const plan = planDelivery(taskWith([ref('/a'), ref('/b')], []));
    await assert.rejects(
      resolvePlan(plan, async () => [Buffer.from('x')]),
      (error) => isTesseraError(error, 'DELIVERY_FAILED'),
    );
  });

  it('rejects a value that is not bytes', async () => {
    const plan = planDelivery(taskWith([ref('/a')], []));
    const resolve = async () => ['text'] as unknown as Buffer[];
    await assert.rejects(resolvePlan(plan, resolve), (error) =>
      isTesseraError(error, 'DELIVERY_FAILED'),
    );
  });

  it('passes a resolver error through', async () => {
    const plan = planDelivery(taskWith([ref('/a')], []));
    const failure = new Error('backend down');
    await assert.rejects(
      resolvePlan(plan, async () => {
        throw failure;
      }),
      (error) => error === failure,
    );
  });
});
