import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { commandToRun, outputEnded, type RelayedOutput } from '../../src/delivery/command.ts';
import { FORWARDED_SIGNALS, SignalRelay } from '../../src/delivery/signals.ts';
import { isTesseraError } from '../../src/errors.ts';
import type { CommandInfo, TaskInfo } from '../../src/mesos/types.ts';

function task(command?: CommandInfo): TaskInfo {
  const info: TaskInfo = { name: 'cmd', task_id: { value: 'cmd.1' } };
  if (command) info.command = command;
  return info;
}

describe('commandToRun', () => {
  it('runs value under /bin/sh by default', () => {
    assert.deepEqual(commandToRun(task({ value: 'echo "$HOME"' })), {
      file: '/bin/sh',
      args: ['-c', 'echo "$HOME"'],
    });
  });

  it('ignores arguments in shell mode', () => {
    const spec = commandToRun(task({ shell: true, value: 'ls', arguments: ['x', 'y'] }));
    assert.deepEqual(spec.args, ['-c', 'ls']);
  });

  it('takes argv0 from arguments without shell', () => {
    const spec = commandToRun(
      task({ shell: false, value: '/bin/ls', arguments: ['ls', '-l', '/'] }),
    );
    assert.deepEqual(spec, { file: '/bin/ls', args: ['-l', '/'], argv0: 'ls' });
  });

  it('runs value alone without arguments', () => {
    assert.deepEqual(commandToRun(task({ shell: false, value: '/bin/true' })), {
      file: '/bin/true',
      args: [],
    });
  });

  it('prefers the given command', () => {
    const spec = commandToRun(task({ value: 'exit 1' }), ['node', 'server.js']);
    assert.deepEqual(spec, { file: 'node', args: ['server.js'] });
  });

  it('falls back when the given command is empty', () => {
    assert.equal(commandToRun(task({ value: 'true' }), []).file, '/bin/sh');
  });

  for (const command of [undefined, {}, { value: '' }]) {
    it(`rejects ${JSON.stringify(command)}`, () => {
      assert.throws(
        () => commandToRun(task(command)),
        (error) => isTesseraError(error, 'INVALID_ARGUMENT') && error.message.includes('cmd.1'),
      );
    });
  }
});

describe('outputEnded', () => {
  // An output whose end comes when `end` is called, and that always waits for its
  // destination, having read `read()` bytes.
  function waitingOutput(read: () => number): RelayedOutput & { end: () => void } {
    const { promise: ended, resolve: end } = Promise.withResolvers<void>();
    return { ended, isWaiting: () => true, bytesRead: read, end: () => end() };
  }

  it('waits on while behind its destination', { timeout: 10_000 }, async () => {
    const output = waitingOutput(() => 0);
    const result = outputEnded([output]);
    assert.equal(await Promise.race([result, sleep(3000, 'pending')]), 'pending');
    output.end();
    assert.equal(await result, true);
  });

  it('gives up past what the pipe held', { timeout: 10_000 }, async () => {
    // 64 KiB more at each check: a background process that keeps writing.
    let read = 0;
    const output = waitingOutput(() => {
      read += 64 * 1024;
      return read;
    });
    const started = performance.now();
    assert.equal(await outputEnded([output]), false);
    const waited = performance.now() - started;
    assert.ok(waited >= 2000, `gave up after ${waited} ms`);
    assert.ok(waited < 4000, `gave up after ${waited} ms`);
  });

  it('gives up behind its destination once hurried', { timeout: 10_000 }, async () => {
    // As after a SIGTERM: the time behind a reader that takes nothing counts from then on.
    const output = waitingOutput(() => 0);
    let hurried = false;
    const result = outputEnded([output], () => hurried);
    assert.equal(await Promise.race([result, sleep(1000, 'pending')]), 'pending');
    hurried = true;
    const started = performance.now();
    assert.equal(await result, false);
    const waited = performance.now() - started;
    assert.ok(waited >= 1900, `gave up after ${waited} ms`);
    assert.ok(waited < 3000, `gave up after ${waited} ms`);
  });

  it('gives up after 2 s when not behind', { timeout: 10_000 }, async () => {
    const output = { ...waitingOutput(() => 0), isWaiting: () => false };
    const started = performance.now();
    assert.equal(await outputEnded([output]), false);
    assert.ok(performance.now() - started < 3000);
  });
});

describe('SignalRelay', () => {
  it('installs and removes its handlers', () => {
    const before = FORWARDED_SIGNALS.map((signal) => process.listenerCount(signal));
    const relay = new SignalRelay();
    relay.start();
    const during = FORWARDED_SIGNALS.map((signal) => process.listenerCount(signal));
    relay.stop();
    const afterStop = FORWARDED_SIGNALS.map((signal) => process.listenerCount(signal));
    assert.deepEqual(
      during,
      before.map((count) => count + 1),
    );
    assert.deepEqual(afterStop, before);
  });

  it('keeps a signal that comes before the child', { timeout: 10_000 }, async () => {
    const relay = new SignalRelay();
    relay.start();
    try {
      const delivered = new Promise((resolve) => process.once('SIGHUP', resolve));
      process.kill(process.pid, 'SIGHUP');
      await delivered;
      assert.equal(relay.pending, 'SIGHUP');
    } finally {
      relay.stop();
    }
  });
});
