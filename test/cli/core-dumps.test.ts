import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';

import { type TaskDir, writeTaskDir } from '../delivery/exec-cli-harness.ts';
import { startServerProcess, TESSERA_BIN } from '../helpers/cli.ts';

const run = promisify(execFile);

// Each run starts from a shell whose soft limit is raised to the hard one, so that a 0 in
// the command is the launcher's doing. With a hard limit of 0 there is nothing to see.
const hardLimit = execFileSync('sh', ['-c', 'ulimit -H -c'], { encoding: 'utf8' }).trim();
const skip = hardLimit === '0' ? 'core dumps are off on this machine already' : false;

async function tesseraFromRaisedShell(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const script = 'ulimit -S -c "$(ulimit -H -c)" && exec "$@"';
  const { stdout } = await run('sh', ['-c', script, 'sh', TESSERA_BIN, ...args], {
    env,
    timeout: 30_000,
  });
  return stdout;
}

describe('core dumps under the tessera launcher', { skip }, () => {
  const env = { PATH: process.env.PATH };
  const probe = ['sh', '-c', 'echo "soft=$(ulimit -S -c) hard=$(ulimit -H -c)"'];
  let task: TaskDir;

  before(async () => {
    task = await writeTaskDir({ name: 'core', task_id: { value: 'core.1' }, command: {} });
  });
  after(() => task.cleanup());

  it('are off for the command of tessera exec', async () => {
    const out = await tesseraFromRaisedShell(
      ['exec', '--task', task.taskFile, '--', ...probe],
      env,
    );
    assert.match(out, /^soft=0 hard=0$/m);
  });

  it('stay as inherited with TESSERA_ALLOW_CORE_DUMPS=1', async () => {
    const allowed = { ...env, TESSERA_ALLOW_CORE_DUMPS: '1' };
    const args = ['exec', '--task', task.taskFile, '--', ...probe];
    const out = await tesseraFromRaisedShell(args, allowed);
    assert.match(out, new RegExp(`^soft=${hardLimit} hard=${hardLimit}$`, 'm'));
  });

  it('are off for the server', async () => {
    const server = await startServerProcess(['--dev'], env);
    try {
      const limits = await readFile(`/proc/${server.child.pid}/limits`, 'utf8');
      assert.match(limits, /^Max core file size\s+0\s+0\s+bytes/m);
    } finally {
      await server.stop();
    }
  });
});
