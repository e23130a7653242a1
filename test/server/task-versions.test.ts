import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { TaskVersions } from '../../src/server/task-versions.ts';

describe('TaskVersions', () => {
  it('drops a report once it lapses', () => {
    let now = Date.parse('2030-01-01T00:00:00Z');
    const records = new TaskVersions(10, () => now);
    records.report('task-a', [{ path: 'db', version: 2 }], 60);
    assert.equal(records.forPath('db')[0]?.expiresTime, '2030-01-01T00:01:00.000Z');

    now += 59_000;
    assert.equal(records.forPath('db').length, 1);
    now += 1_000;
    assert.deepEqual(records.forPath('db'), []);
    assert.deepEqual(records.pathsOf('task-a'), []);
  });

  it('keeps a refreshed report', () => {
    let now = 0;
    const records = new TaskVersions(10, () => now);
    records.report('task-a', [{ path: 'db', version: 1 }], 60);
    now = 50_000;
    records.report('task-a', [{ path: 'db', version: 1 }], 60);
    now = 100_000;
    assert.equal(records.forPath('db').length, 1);
  });

  it('keeps a report without a lifetime', () => {
    let now = 0;
    const records = new TaskVersions(10, () => now);
    records.report('task-a', [{ path: 'db', version: 1 }]);
    now = 10 ** 12;
    assert.equal(records.forPath('db')[0]?.expiresTime, undefined);
    assert.equal(records.forPath('db').length, 1);
  });

  it('forgets an ended task', () => {
    const records = new TaskVersions();
    records.report('task-a', [{ path: 'db', version: 1 }], 60);
    records.forget('task-a');
    assert.deepEqual(records.forPath('db'), []);
  });
});
