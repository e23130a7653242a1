import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { describe, it } from 'node:test';

import { isTesseraError } from '../../src/errors.ts';
import { generate, generatorSchema, KEY_ALGORITHMS } from '../../src/rotation/generators.ts';

describe('password generator', () => {
  it('covers every class and skips excluded characters', async () => {
    const spec = generatorSchema.parse({
      type: 'password',
      length: 12,
      classes: ['lower', 'digits', 'symbols'],
      exclude: '\'"\\012',
    });
    for (let round = 0; round < 50; round++) {
      const value = (await generate(spec)).value?.toString() as string;
      assert.equal(value.length, 12);
      assert.match(value, /[a-z]/);
      assert.match(value, /[3-9]/);
      assert.doesNotMatch(value, /['"\\0-2A-Z]/);
    }
  });

  it('rejects a class emptied by exclusions', async () => {
    const spec = generatorSchema.parse({
      type: 'password',
      classes: ['digits'],
      exclude: '0123456789',
    });
    await assert.rejects(generate(spec), (error) => isTesseraError(error, 'INVALID_ARGUMENT'));
  });
});

describe('bytes generator', () => {
  it('encodes as hex and base64', async () => {
    const hex = await generate(
      generatorSchema.parse({ type: 'bytes', length: 20, encoding: 'hex' }),
    );
    assert.match(hex.value?.toString() ?? '', /^[0-9a-f]{40}$/);
    const b64 = await generate(generatorSchema.parse({ type: 'bytes', length: 18 }));
    assert.equal(Buffer.from(b64.value?.toString() ?? '', 'base64').length, 18);
  });
});

describe('key pair generator', () => {
  for (const algorithm of KEY_ALGORITHMS.filter((name) => name !== 'rsa-4096')) {
    it(`makes a working ${algorithm} pair`, async () => {
      const fields = await generate(generatorSchema.parse({ type: 'keypair', algorithm }));
      assert.match(fields.private_key?.toString() ?? '', /^-----BEGIN PRIVATE KEY-----/);
      assert.match(fields.public_key?.toString() ?? '', /^-----BEGIN PUBLIC KEY-----/);
      const data = Buffer.from('signed');
      const digest = algorithm === 'ed25519' ? null : 'sha256';
      const signature = sign(digest, data, createPrivateKey(fields.private_key as Buffer));
      assert.equal(
        verify(digest, data, createPublicKey(fields.public_key as Buffer), signature),
        true,
      );
    });
  }
});
