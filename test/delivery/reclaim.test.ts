import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';

import { outputReclaimer } from '../../src/delivery/reclaim.ts';

const MIB = 1024 * 1024;
const holder = globalThis as { gc?: unknown };

describe('outputReclaimer', () => {
  const original = holder.gc;
  afterEach(() => {
    holder.gc = original;
  });

  it('collects after every 8 MiB', () => {
    const calls: unknown[] = [];
    holder.gc = (options: unknown) => calls.push(options);
    const reclaim = outputReclaimer();
    for (let i = 0; i < 127; i++) reclaim(64 * 1024);
    assert.equal(calls.length, 0);
    reclaim(64 * 1024);
    assert.deepEqual(calls, [{ type: 'minor' }]);
    for (let i = 0; i < 3; i++) reclaim(10 * MIB);
    assert.equal(calls.length, 4);
  });

  it('does nothing where gc is not exposed', () => {
    holder.gc = undefined;
    const reclaim = outputReclaimer();
    assert.doesNotThrow(() => reclaim(100 * MIB));
  });
});
