import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { COMMAND_GROUPS, commandsFor } from '../../src/cli/command-groups.ts';
import { collect, runTessera } from '../helpers/cli.ts';

const ROOT = join(import.meta.dirname, '..', '..');

function namesAddedBy(groups: ((program: Command) => void)[]): string[] {
  const program = new Command('tessera').enablePositionalOptions();
  for (const register of groups) register(program);
  return program.commands.map((command) => command.name());
}

describe('command groups', () => {
  it('name exactly the commands that each group adds', async () => {
    for (const group of COMMAND_GROUPS) {
      assert.deepEqual(namesAddedBy([await group.load()]), group.names);
    }
  });

  it('load the named group or every group', async () => {
    assert.deepEqual(namesAddedBy(await commandsFor(['metadata', 'a/b'])), [
      'get',
      'list',
      'metadata',
    ]);
    const every = COMMAND_GROUPS.flatMap((group) => group.names);
    assert.equal(new Set(every).size, every.length);
    for (const args of [[], ['--help'], ['help', 'exec'], ['nosuch']]) {
      assert.deepEqual(namesAddedBy(await commandsFor(args)), every);
    }
  });

  it('leave the server modules out of tessera exec', async () => {
    // A fresh process, because this one has loaded every group above.
    const script = `
      import { createRequire } from 'node:module';
      import { commandsFor } from './src/cli/command-groups.ts';
      await commandsFor(['exec']);
      const loaded = Object.keys(createRequire(import.meta.url).cache);
      const servers = ['fastify', 'pg', 'prom-client', 'pino'];
      const found = servers.filter((name) => loaded.some((file) => file.includes('/node_modules/' + name + '/')));
      console.log(JSON.stringify(found));
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      cwd: ROOT,
      timeout: 20_000,
    });
    const result = await collect(child);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout.toString()), []);
  });

  it('list every command in help', async () => {
    const result = await runTessera(['--help'], { env: process.env });
    assert.equal(result.code, 0, result.stderr);
    const help = result.stdout.toString();
    for (const name of COMMAND_GROUPS.flatMap((group) => group.names)) {
      assert.match(help, new RegExp(`^ {2}${name} `, 'm'), name);
    }
  });

  it('suggest a misspelt command', async () => {
    const result = await runTessera(['exce'], { env: process.env });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /unknown command 'exce'\n\(Did you mean exec\?\)/);
  });
});
