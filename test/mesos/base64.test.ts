import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { isTesseraError, type TesseraError } from '../../src/errors.ts';
import { decodeBase64 } from '../../src/mesos/base64.ts';

function decodeError(text: string, field = 'secret.value.data'): TesseraError {
  try {
    decodeBase64(text, field);
  } catch (error) {
    assert.ok(isTesseraError(error, 'INVALID_ARGUMENT'), `unexpected error: ${error}`);
    return error;
  }
  assert.fail(`decodeBase64 accepted ${JSON.stringify(text)}`);
}

test('decodeBase64 decodes the empty string to 0 bytes', () => {
  assert.equal(decodeBase64('', 'f').length, 0);
});

test('decodeBase64 decodes padded and unpadded lengths', () => {
  assert.deepEqual(decodeBase64('eA==', 'f'), Buffer.from('x'));
  assert.deepEqual(decodeBase64('eHk=', 'f'), Buffer.from('xy'));
  assert.deepEqual(decodeBase64('eHl6', 'f'), Buffer.from('xyz'));
  assert.deepEqual(decodeBase64('+/+/', 'f'), Buffer.from([0xfb, 0xff, 0xbf]));
});

test('decodeBase64 round-trips random bytes', () => {
  for (let length = 0; length < 40; length += 1) {
    const bytes = randomBytes(length);
    assert.deepEqual(decodeBase64(bytes.toString('base64'), 'f'), bytes);
  }
});

test('decodeBase64 rejects text that Buffer.from accepts', () => {
  const invalid = [
    'eA', // no padding
    'eA=', // short padding
    'eHk', // length not a multiple of 4
    'e A=', // space
    'eA==\n', // trailing newline
    'eHl6\neHl6', // line break
    'eH-_', // URL-safe alphabet
    '====', // padding only
    'e===', // three padding characters
    'eA=A', // padding in the middle
    'eA==eA==', // padding then more data
    'AB==', // non-canonical: unused bits set
    'eHl=', // non-canonical: unused bits set
    'not base64!!',
    'ZéZé',
  ];
  for (const text of invalid) {
    const error = decodeError(text);
    assert.match(error.message, /^secret\.value\.data is not valid base64: /, JSON.stringify(text));
  }
});

test('decodeBase64 names the offset of a bad character', () => {
  const error = decodeError('eHl6eH!6');
  assert.match(error.message, /at offset 6/);
  assert.equal(error.details?.offset, 6);
  assert.equal(error.details?.field, 'secret.value.data');
});

test('decodeBase64 never quotes the text', () => {
  const text = 'PLACEHOLDERsecretXYZ_-';
  const error = decodeError(`${text}AA`);
  assert.ok(!error.message.includes('PLACEHOLDER'), error.message);
  assert.ok(!error.message.includes('XYZ'), error.message);
  assert.ok(!JSON.stringify(error.details).includes('PLACEHOLDER'));
});

test('decodeBase64 rejects a value that is not a string', () => {
  const error = decodeError(42 as unknown as string);
  assert.match(error.message, /is a number, not a string/);
});
