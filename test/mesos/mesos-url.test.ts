import assert from 'node:assert/strict';
import { test } from 'node:test';
import { redirectTarget } from '../../src/mesos/mesos-url.ts';

const from = new URL('https://master-1.example:5050/api/v1');

test('redirect keeps the scheme of a relative location', () => {
  const found = redirectTarget('//master-2.example:5050/api/v1', from);
  assert.ok('target' in found);
  assert.equal(found.target.href, 'https://master-2.example:5050/api/v1');
});

test('redirect from https to http not followed', () => {
  const found = redirectTarget('http://master-2.example:5050/api/v1', from);
  assert.deepEqual(found, {
    problem: 'from https to http, which would send credentials unencrypted',
  });
});

test('redirect from http to https followed', () => {
  const found = redirectTarget(
    'https://master-2.example/api/v1',
    new URL('http://m.example/api/v1'),
  );
  assert.ok('target' in found);
  assert.equal(found.target.protocol, 'https:');
});
