import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { withoutOptionValue } from '../../src/cli/usage-errors.ts';
import { runTessera } from '../helpers/cli.ts';

const CANARY = 'canary-option-value-7f3a';

describe('withoutOptionValue', () => {
  it('drops the value of a long option', () => {
    const text = withoutOptionValue(`error: unknown option '--password=${CANARY}'\n`);
    assert.equal(text, "error: unknown option '--password' (its value is not shown)\n");
  });

  it('drops a value that contains quotes', () => {
    const text = withoutOptionValue(`error: unknown option '--pass'=${CANARY}'\nx'\n`);
    assert.equal(text, "error: unknown option '--pass'' (its value is not shown)\n");
  });

  it('drops the value of a short option', () => {
    const text = withoutOptionValue(`error: unknown option '-p${CANARY}'\n`);
    assert.equal(text, "error: unknown option '-p' (its value is not shown)\n");
  });

  it('keeps options without a value and other errors', () => {
    for (const text of [
      "error: unknown option '--bogus'\n",
      "error: unknown option '--pth'\n(Did you mean --path?)\n",
      "error: unknown option '-z'\n",
      "error: too many arguments for 'get'. Expected 1 argument but got 2.\n",
    ]) {
      assert.equal(withoutOptionValue(text), text);
    }
  });
});

describe('tessera with an unknown option', () => {
  for (const args of [
    ['put', `--password=${CANARY}`, 'app/db', 'value=x'],
    ['get', 'app/db', `-p${CANARY}`],
    ['token', 'create', `--secret=${CANARY}`],
  ]) {
    it(`names the option of ${args[0]} without its value`, async () => {
      const result = await runTessera(args, { env: { PATH: process.env.PATH } });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /unknown option '-{1,2}[a-z]+' \(its value is not shown\)/);
      assert.ok(!result.stderr.includes(CANARY), result.stderr);
      assert.ok(!result.stdout.includes(CANARY));
    });
  }
});

describe('tessera server with a limit out of range', () => {
  const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
    [['--auth-failure-limit', '0'], {}, /'--auth-failure-limit <count>' .* of 1 or more/],
    [['--max-secret-bytes', '0'], {}, /'--max-secret-bytes <bytes>' .* from 1 to 268435456/],
    [['--request-timeout', '0'], {}, /'--request-timeout <seconds>' .* from 1 to 2147483/],
    [['--request-timeout', '2147484'], {}, /'--request-timeout <seconds>' .* from 1 to 2147483/],
    [[], { TESSERA_AUTH_FAILURE_LIMIT: '0' }, /'--auth-failure-limit <count>' .* of 1 or more/],
  ];
  for (const [args, env, pattern] of cases) {
    const setting = args.join(' ') || Object.keys(env).join(' ');
    it(`rejects ${setting} as a usage error`, async () => {
      const result = await runTessera(['server', '--dev', '--port', '0', ...args], {
        env: { PATH: process.env.PATH, HOME: '/nonexistent', ...env },
        timeoutMs: 15_000,
      });
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, pattern);
      assert.doesNotMatch(result.stdout.toString(), /listening/);
    });
  }
});

describe('server address errors', () => {
  const cases: [string, string[], NodeJS.ProcessEnv, RegExp][] = [
    [
      'another scheme',
      ['--address', 'ftp://127.0.0.1'],
      {},
      /must start with http:\/\/ or https:\/\/, not ftp:/,
    ],
    [
      'no URL',
      [],
      { TESSERA_ADDR: 'not a url' },
      /is not a URL; give it as in http:\/\/127\.0\.0\.1:8210/,
    ],
    [
      'a password',
      ['--address', `http://user:${CANARY}@127.0.0.1`],
      {},
      /must not contain a user name/,
    ],
    ['a query', ['--address', 'http://127.0.0.1:8210/?x=1#f'], {}, /must not contain a query/],
  ];
  for (const [label, args, env, pattern] of cases) {
    it(`names flag and variable for ${label}`, async () => {
      const result = await runTessera(['list', ...args], {
        env: { PATH: process.env.PATH, HOME: '/nonexistent', ...env },
      });
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /the server address \(--address or TESSERA_ADDR\)/);
      assert.match(result.stderr, pattern);
      assert.doesNotMatch(result.stderr, new RegExp(CANARY));
    });
  }
});
