import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { valueFingerprints } from '../../src/crypto/fingerprint.ts';
import { Keyring } from '../../src/crypto/keyring.ts';

describe('valueFingerprints', () => {
  const value = Buffer.from('CANARY-fingerprint-value-7d1');

  it('gives equal values of one field equal fingerprints, of 16 hex digits', () => {
    const print = valueFingerprints(Keyring.generate());
    const once = print('team/db', 'password', value);
    assert.match(once, /^[0-9a-f]{16}$/);
    assert.equal(print('team/db', 'password', Buffer.from(value)), once);
    assert.notEqual(print('team/db', 'password', Buffer.from('CANARY-other-value')), once);
  });

  it('tells the same value apart under another path or field', () => {
    const print = valueFingerprints(Keyring.generate());
    const once = print('team/db', 'password', value);
    assert.notEqual(print('team/db2', 'password', value), once);
    assert.notEqual(print('team/db', 'passwords', value), once);
    // Moving bytes from the path into the field gives another input.
    assert.notEqual(print('team/d', 'bpassword', value), once);
  });

  it('keeps fingerprints across a rotation of the keyring, and not across keyrings', () => {
    const keyring = Keyring.generate();
    const before = valueFingerprints(keyring)('team/db', 'password', value);
    keyring.rotate();
    assert.equal(valueFingerprints(keyring)('team/db', 'password', value), before);
    assert.notEqual(valueFingerprints(Keyring.generate())('team/db', 'password', value), before);
  });
});
