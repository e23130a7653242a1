import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type RunResult, runTessera } from '../helpers/cli.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const WEB = JSON.stringify({ rules: [{ path: 'apps/web/*', capabilities: ['read', 'list'] }] });

describe('tessera token and tessera policy', () => {
  let server: TestServer;
  let home: string;
  let env: NodeJS.ProcessEnv;
  const tokens: string[] = [];
  const stderrs: string[] = [];

  // Runs the CLI with the root token unless `token` is given, and keeps stderr for the
  // canary check.
  async function tessera(args: string[], options: { token?: string; input?: string } = {}) {
    const token = options.token ?? server.rootToken;
    const result = await runTessera(args, {
      env: { ...env, TESSERA_TOKEN: token },
      input: options.input,
    });
    stderrs.push(result.stderr);
    return result;
  }

  function out(result: RunResult): string {
    return result.stdout.toString();
  }

  async function createToken(args: string[]): Promise<{ token: string; accessor: string }> {
    const result = await tessera(['token', 'create', ...args, '--format', 'json']);
    assert.equal(result.code, 0, result.stderr);
    const created = JSON.parse(out(result));
    tokens.push(created.token);
    return created;
  }

  before(async () => {
    server = await startTestServer({ failureLimit: { maxFailures: 1000, windowMs: 60_000 } });
    tokens.push(server.rootToken);
    home = await mkdtemp(join(tmpdir(), 'tessera-token-cli-'));
    env = { PATH: process.env.PATH, HOME: home, TESSERA_ADDR: server.address };
    await writeFile(join(home, 'web.json'), WEB);
    const written = await tessera(['policy', 'write', 'web', join(home, 'web.json')]);
    assert.equal(written.code, 0, written.stderr);
    assert.equal(out(written), 'wrote policy web\n');
  });
  after(async () => {
    await server.close();
    await rm(home, { recursive: true, force: true });
  });

  test('policy write reads standard input', async () => {
    const written = await tessera(['policy', 'write', 'from-stdin', '-'], { input: WEB });
    assert.equal(written.code, 0, written.stderr);
    const read = await tessera(['policy', 'read', 'from-stdin']);
    assert.equal(out(read), `${WEB}\n`);
  });

  test('policy write rejects an invalid policy', async () => {
    const bad = '{"rules": [{"path": "apps/web/*", "capabilities": ["raed"]}]}';
    const written = await tessera(['policy', 'write', 'bad', '-'], { input: bad });
    assert.equal(written.code, 2);
    assert.match(written.stderr, /rules\[0\]\.capabilities\[0\] must be one of read/);
  });

  test('policy write names a missing file', async () => {
    const written = await tessera(['policy', 'write', 'web', join(home, 'missing.json')]);
    assert.equal(written.code, 2);
    assert.match(written.stderr, /could not read the policy file .*missing\.json \(ENOENT\)/);
  });

  test('policy list prints one name a line', async () => {
    const listed = await tessera(['policy', 'list']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.ok(out(listed).split('\n').includes('web'));
    assert.ok(out(listed).split('\n').includes('root'));
  });

  test('policy delete removes a policy', async () => {
    await tessera(['policy', 'write', 'doomed', '-'], { input: WEB });
    const deleted = await tessera(['policy', 'delete', 'doomed']);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal(out(deleted), 'deleted policy doomed\n');
    const read = await tessera(['policy', 'read', 'doomed']);
    assert.equal(read.code, 2);
    assert.match(read.stderr, /no policy is named 'doomed'/);
  });

  test('token create prints the token in a table', async () => {
    const created = await tessera(['token', 'create', '--policy', 'web', '--ttl', '1h']);
    assert.equal(created.code, 0, created.stderr);
    const token = /^token\s+(tsr_\S+)$/m.exec(out(created))?.[1];
    assert.ok(token, out(created));
    tokens.push(token);
    assert.match(out(created), /^token_policies\s+web$/m);
    assert.match(out(created), /^token_renewable\s+true$/m);
  });

  test('token create prints JSON with the expiry', async () => {
    const result = await tessera([
      'token',
      'create',
      '--policy',
      'web',
      '--ttl',
      '15m',
      '--uses',
      '3',
      '--format',
      'json',
    ]);
    assert.equal(result.code, 0, result.stderr);
    const created = JSON.parse(out(result));
    tokens.push(created.token);
    assert.match(created.token, /^tsr_/);
    assert.deepEqual(created.policies, ['web']);
    assert.equal(created.num_uses, 3);
    const lifetime = Date.parse(created.expire_time) - Date.now();
    assert.ok(lifetime > 14 * 60_000, String(lifetime));
    assert.ok(lifetime <= 15 * 60_000, String(lifetime));
  });

  test('token create rejects a bad duration as a usage error', async () => {
    const result = await tessera(['token', 'create', '--policy', 'web', '--ttl', '1week']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /--ttl '1week' is not a duration/);
  });

  test('token lookup shows the token in use and others', async () => {
    const { token, accessor } = await createToken(['--policy', 'web', '--meta', 'team=web']);
    const own = await tessera(['token', 'lookup'], { token });
    assert.equal(own.code, 0, own.stderr);
    assert.match(out(own), new RegExp(`^accessor\\s+${accessor}$`, 'm'));
    assert.match(out(own), /^meta\.team\s+web$/m);
    const other = await tessera(['token', 'lookup', '--accessor', accessor, '--format', 'json']);
    assert.equal(other.code, 0, other.stderr);
    assert.equal(JSON.parse(out(other)).accessor, accessor);
  });

  test('token renew warns when capped at the max TTL', async () => {
    const { token } = await createToken(['--policy', 'web', '--ttl', '1m', '--max-ttl', '2m']);
    const renewed = await tessera(['token', 'renew', '--increment', '1h'], { token });
    assert.equal(renewed.code, 0, renewed.stderr);
    assert.match(renewed.stderr, /^warning: TTL of "1h" exceeded the effective max_ttl of "/m);
    assert.match(out(renewed), /^renewed token [0-9a-f]+; it expires \d{4}-/);
  });

  test('policy check exits 0 when allowed and 2 when denied', async () => {
    const { accessor } = await createToken(['--policy', 'web']);
    const check = (path: string) =>
      tessera([
        'policy',
        'check',
        '--token-accessor',
        accessor,
        '--path',
        path,
        '--capability',
        'read',
      ]);
    const allowed = await check('apps/web/db');
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.equal(out(allowed), 'allowed by policy web, rule apps/web/*\n');
    const denied = await check('apps/api/db');
    assert.equal(denied.code, 2);
    assert.equal(out(denied), 'denied: no rule grants read on apps/api/db\n');
  });

  test('token revoke ends a token and its children', async () => {
    const parent = await createToken(['--policy', 'web']);
    const child = await tessera(['token', 'create', '--format', 'json'], { token: parent.token });
    assert.equal(child.code, 0, child.stderr);
    const childToken = JSON.parse(out(child)).token;
    tokens.push(childToken);

    const revoked = await tessera(['token', 'revoke', '--accessor', parent.accessor]);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.equal(out(revoked), `revoked token ${parent.accessor} and its descendants\n`);
    const lookup = await tessera(['token', 'lookup'], { token: childToken });
    assert.equal(lookup.code, 2);
    assert.match(lookup.stderr, /the token is invalid or expired/);
  });

  test('token revoke without an accessor ends the token in use', async () => {
    const { token } = await createToken(['--policy', 'web']);
    const revoked = await tessera(['token', 'revoke'], { token });
    assert.equal(revoked.code, 0, revoked.stderr);
    const lookup = await tessera(['token', 'lookup'], { token });
    assert.equal(lookup.code, 2);
  });

  test('no token appears in the server log or on stderr', () => {
    assert.ok(tokens.length > 5, `only ${tokens.length} tokens issued`);
    const log = server.log();
    const stderr = stderrs.join('\n');
    for (const token of tokens) {
      assert.equal(log.includes(token.slice(4)), false, 'a token is in the server log');
      assert.equal(stderr.includes(token.slice(4)), false, 'a token is on stderr');
    }
  });
});
