import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTesseraError } from '../src/errors.ts';
import { decodeUtf8Text } from '../src/text.ts';

function invalidAt(bytes: number[]): unknown {
  try {
    decodeUtf8Text(Buffer.from(bytes), 'app.json');
  } catch (error) {
    assert.ok(isTesseraError(error, 'INVALID_ARGUMENT'), String(error));
    assert.match(error.message, /^app\.json is not valid UTF-8: a byte at line \d+, byte offset/);
    return error.details;
  }
  assert.fail('the bytes were decoded');
}

test('decodeUtf8Text keeps valid text and its BOM', () => {
  const text = '\uFEFFcafé 𝄞 €';
  assert.equal(decodeUtf8Text(Buffer.from(text, 'utf8'), 'x'), text);
});

test('decodeUtf8Text names the first invalid byte', () => {
  const ascii = [0x61, 0x0a, 0x62];
  const cases: [string, number[], number][] = [
    ['Latin-1 byte', [...ascii, 0xe9, 0x22], 3],
    ['lone continuation', [...ascii, 0x80], 3],
    ['overlong form', [...ascii, 0xc0, 0x80], 3],
    ['overlong three bytes', [...ascii, 0xe0, 0x80, 0x80], 3],
    ['surrogate', [...ascii, 0xed, 0xa0, 0x80], 3],
    ['above U+10FFFF', [...ascii, 0xf4, 0x90, 0x80, 0x80], 3],
    ['invalid lead', [...ascii, 0xf5, 0x80, 0x80, 0x80], 3],
    ['cut at the end', [...ascii, 0xe2, 0x82], 3],
    ['after a valid sequence', [...ascii, 0xe2, 0x82, 0xac, 0xff], 6],
  ];
  for (const [name, bytes, offset] of cases) {
    assert.deepEqual(invalidAt(bytes), { line: 2, offset }, name);
  }
});
