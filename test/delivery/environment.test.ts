import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  buildChildEnvironment,
  decodeEnvironmentSecret,
  MAX_ENV_STRING_BYTES,
} from '../../src/delivery/environment.ts';
import { isTesseraError, type TesseraError } from '../../src/errors.ts';
import type { TaskInfo } from '../../src/mesos/types.ts';

const task: TaskInfo = {
  name: 'env',
  task_id: { value: 'env.1' },
  command: {
    value: 'true',
    environment: {
      variables: [
        { name: 'UNTYPED', value: 'u' },
        { name: 'TYPED', type: 'VALUE', value: 't' },
        { name: 'FROM_SECRET', type: 'SECRET', secret: { reference: { name: '/x' } } },
      ],
    },
  },
};

function rejection(name: string, bytes: Buffer): TesseraError {
  try {
    decodeEnvironmentSecret({ name, bytes });
  } catch (error) {
    assert.ok(isTesseraError(error, 'DELIVERY_FAILED'));
    return error;
  }
  assert.fail(`${name} was accepted`);
}

describe('buildChildEnvironment', () => {
  it('drops every TESSERA_ variable', () => {
    const base = { TESSERA_TOKEN: 't', TESSERA_TOKEN_FILE: 'f', TESSERA_ADDR: 'a', HOME: '/h' };
    const env = buildChildEnvironment(base, task, []);
    assert.deepEqual(
      Object.keys(env).filter((name) => name.startsWith('TESSERA')),
      [],
    );
    assert.equal(env.HOME, '/h');
  });

  it('overlays VALUE variables of any spelling', () => {
    const env = buildChildEnvironment({ UNTYPED: 'base' }, task, []);
    assert.equal(env.UNTYPED, 'u');
    assert.equal(env.TYPED, 't');
    assert.equal(env.FROM_SECRET, undefined);
  });

  it('sets secrets last', () => {
    const secrets = [{ name: 'TYPED', bytes: Buffer.from('secret') }];
    const env = buildChildEnvironment({}, task, secrets);
    assert.equal(env.TYPED, 'secret');
  });

  it('skips undefined base entries', () => {
    const env = buildChildEnvironment({ GONE: undefined }, task, []);
    assert.equal('GONE' in env, false);
  });
});

describe('decodeEnvironmentSecret', () => {
  it('accepts an empty secret', () => {
    assert.equal(decodeEnvironmentSecret({ name: 'E', bytes: Buffer.alloc(0) }), '');
  });

  it('accepts multi-byte UTF-8', () => {
    const value = 'pässwörd-🔑';
    assert.equal(decodeEnvironmentSecret({ name: 'U', bytes: Buffer.from(value) }), value);
  });

  it('accepts NAME=value at the limit', () => {
    const bytes = Buffer.alloc(MAX_ENV_STRING_BYTES - 'AT_LIMIT='.length - 1, 'a');
    assert.equal(decodeEnvironmentSecret({ name: 'AT_LIMIT', bytes }).length, bytes.length);
  });

  it('counts the name in the limit', () => {
    const bytes = Buffer.alloc(MAX_ENV_STRING_BYTES - 'AT_LIMIT='.length - 1, 'a');
    const error = rejection('AT_LIMIT_', bytes);
    assert.match(error.message, /AT_LIMIT_/);
    assert.match(error.message, /file volume/);
    assert.equal(error.details?.limit, MAX_ENV_STRING_BYTES);
  });

  it('rejects NUL without quoting the value', () => {
    const error = rejection('WITH_NUL', Buffer.from('hunter2\0rest'));
    assert.match(error.message, /WITH_NUL/);
    assert.equal(error.message.includes('hunter2'), false);
    assert.equal(JSON.stringify(error.details).includes('hunter2'), false);
  });

  it('rejects invalid UTF-8', () => {
    const error = rejection('BINARY', Buffer.from([0x68, 0x69, 0xc3]));
    assert.match(error.message, /BINARY/);
    assert.match(error.message, /UTF-8/);
  });
});
