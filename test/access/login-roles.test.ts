import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { parseLoginRole } from '../../src/access/login-roles.ts';
import { isTesseraError } from '../../src/errors.ts';

// Asserts that `text` is rejected as INVALID_ARGUMENT with a message matching `pattern`.
function rejectsRole(text: string, pattern: RegExp) {
  assert.throws(
    () => parseLoginRole('billing', text),
    (error: unknown) => {
      assert.ok(isTesseraError(error, 'INVALID_ARGUMENT'), String(error));
      assert.match(error.message, pattern);
      return true;
    },
  );
}

describe('parseLoginRole text', () => {
  it('rejects a key given twice', () => {
    const text =
      '{"policies": ["billing-read"],\n "framework_names": ["marathon"],\n "policies": ["root"]}';
    rejectsRole(text, /^login role 'billing' has the key 'policies' twice/);
    rejectsRole(text, /the second at line 3, column 2;/);
  });

  it('rejects a key given twice in a nested object', () => {
    const text = '{"policies": ["a"], "labels": {"team": "billing", "team": "ops"}}';
    rejectsRole(text, /has the key 'team' twice in one object, the second at line 1, column 51/);
  });
});
