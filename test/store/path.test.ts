import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isTesseraError } from '../../src/errors.ts';
import {
  checkPathSyntax,
  parseListPrefix,
  parseResourcePath,
  parseSecretPath,
} from '../../src/store/path.ts';

function rejectsPath(parse: (raw: string) => string, raw: string, rule: RegExp): void {
  assert.throws(
    () => parse(raw),
    (error) => {
      assert.ok(isTesseraError(error, 'INVALID_PATH'), `expected INVALID_PATH for ${raw}`);
      assert.match(error.message, rule);
      assert.doesNotMatch(error.message, /\n/);
      return true;
    },
  );
}

describe('parseSecretPath', () => {
  const valid: [string, string][] = [
    ['db/password', 'db/password'],
    ['/db/password', 'db/password'],
    ['a', 'a'],
    ['team/app.v2/..hidden/x.', 'team/app.v2/..hidden/x.'],
    ['caf\u00e9/\u{1f511}', 'caf\u00e9/\u{1f511}'],
    ['with space/and:colon/100%_done', 'with space/and:colon/100%_done'],
    [`/${'é'.repeat(256)}`, 'é'.repeat(256)],
  ];
  for (const [raw, expected] of valid) {
    it(`accepts ${JSON.stringify(raw).slice(0, 40)}`, () => {
      assert.equal(parseSecretPath(raw), expected);
    });
  }

  it('keeps Unicode forms apart', () => {
    assert.notEqual(parseSecretPath('caf\u00e9'), parseSecretPath('cafe\u0301'));
  });

  const invalid: [string, string, RegExp][] = [
    ['empty', '', /is empty/],
    ['only a slash', '/', /is empty/],
    ['two leading slashes', '//db', /empty segment at position 1/],
    ['double slash', 'db//password', /empty segment at position 2/],
    ['trailing slash', 'db/password/', /empty segment at position 3/],
    ['dot segment', 'db/./password', /'\.' segment at position 2/],
    ['dot-dot segment', '../etc/passwd', /'\.\.' segment at position 1/],
    ['NUL', 'db/pass\u0000word', /control character/],
    ['newline', 'db/pass\nword', /control character/],
    ['DEL', 'db/\u007f', /control character U\+007F/],
    ['C1 NEL', 'p\u0085q', /control character U\+0085/],
    ['C1 CSI', 'db/\u009b', /control character U\+009B/],
    ['bidi override', 'p\u202eq', /control character U\+202E/],
    ['bidi isolate', 'db/\u2066x', /control character U\+2066/],
    ['right-to-left mark', 'db/\u200fx', /control character U\+200F/],
    ['Arabic letter mark', 'db/\u061cx', /control character U\+061C/],
    ['line separator', 'db/\u2028x', /control character U\+2028/],
    ['lone surrogate', 'db/\ud800', /not valid UTF-8/],
    ['513 bytes', 'a'.repeat(513), /513 bytes long; the maximum is 512/],
    ['257 two-byte characters', 'é'.repeat(257), /514 bytes long/],
  ];
  for (const [name, raw, rule] of invalid) {
    it(`rejects ${name}`, () => {
      rejectsPath(parseSecretPath, raw, rule);
    });
  }

  const reserved = ['sys', 'sys/policies/web', '/sys/tokens/abc'];
  for (const raw of reserved) {
    it(`rejects the reserved folder in ${raw}`, () => {
      rejectsPath(parseSecretPath, raw, /top-level folder 'sys' is reserved/);
    });
  }

  it('accepts sys below the top level', () => {
    assert.equal(parseSecretPath('apps/sys/db'), 'apps/sys/db');
    assert.equal(parseSecretPath('system/db'), 'system/db');
  });

  it('quotes a printable path in the message', () => {
    rejectsPath(parseSecretPath, 'a//b', /"a\/\/b"/);
  });

  it('accepts letters next to the controls', () => {
    for (const raw of ['db/\u00a0x', 'db/\u200dx', 'db/\u0600x', 'db/\u202fx']) {
      assert.equal(parseSecretPath(raw), raw);
    }
  });

  it('does not quote a path with a bidi control', () => {
    assert.throws(
      () => parseSecretPath('db/\u202etoken-abc'),
      (error) => {
        assert.ok(isTesseraError(error));
        assert.doesNotMatch(error.message, /token-abc/);
        return true;
      },
    );
  });

  it('does not quote a path with a control character', () => {
    assert.throws(
      () => parseSecretPath('db/\u0000token-abc'),
      (error) => {
        assert.ok(isTesseraError(error));
        assert.doesNotMatch(error.message, /token-abc/);
        return true;
      },
    );
  });

  it('does not quote an over-long path', () => {
    assert.throws(
      () => parseSecretPath('x'.repeat(10_000)),
      (error) => {
        assert.ok(isTesseraError(error));
        assert.ok(error.message.length < 200, `message is ${error.message.length} characters`);
        return true;
      },
    );
  });
});

describe('parseListPrefix', () => {
  const valid: [string, string][] = [
    ['', ''],
    ['/', ''],
    ['db', 'db/'],
    ['db/', 'db/'],
    ['/db/', 'db/'],
    ['/team/db', 'team/db/'],
  ];
  for (const [raw, expected] of valid) {
    it(`maps ${JSON.stringify(raw)} to ${JSON.stringify(expected)}`, () => {
      assert.equal(parseListPrefix(raw), expected);
    });
  }

  const invalid: [string, RegExp][] = [
    ['//', /empty segment/],
    ['//db/', /empty segment/],
    ['db//', /empty segment/],
    ['db/../', /'\.\.' segment/],
    ['db/\t/', /control character/],
    ['sys', /top-level folder 'sys' is reserved/],
    ['/sys/tokens/', /top-level folder 'sys' is reserved/],
  ];
  for (const [raw, rule] of invalid) {
    it(`rejects ${JSON.stringify(raw)}`, () => {
      rejectsPath(parseListPrefix, raw, rule);
    });
  }
});

describe('parseResourcePath', () => {
  it('accepts the reserved folder', () => {
    assert.equal(parseResourcePath('/sys/tokens/abc'), 'sys/tokens/abc');
  });

  it('applies the secret path rules', () => {
    rejectsPath(parseResourcePath, 'sys//tokens', /empty segment at position 2/);
  });
});

describe('checkPathSyntax', () => {
  it('names the subject it is given', () => {
    rejectsPath(
      (raw) => {
        checkPathSyntax(raw, 'rules[2].path');
        return raw;
      },
      'a/../b',
      /^rules\[2\]\.path "a\/\.\.\/b" has a '\.\.' segment at position 2/,
    );
  });
});
