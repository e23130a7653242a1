import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type Capability,
  checkPolicyName,
  decide,
  type Policy,
  parsePolicy,
  rootPolicy,
} from '../../src/access/policy.ts';
import { isTesseraError } from '../../src/errors.ts';

function policy(name: string, rules: { path: string; capabilities: string[] }[]): Policy {
  return parsePolicy(name, JSON.stringify({ rules }));
}

function rejectsPolicy(text: string, expected: RegExp, name = 'web'): void {
  assert.throws(
    () => parsePolicy(name, text),
    (error) => {
      assert.ok(isTesseraError(error, 'INVALID_ARGUMENT'), String(error));
      assert.match(error.message, expected);
      return true;
    },
  );
}

describe('parsePolicy', () => {
  it('parses rules with their capabilities', () => {
    const parsed = policy('web', [
      { path: 'apps/web/*', capabilities: ['read', 'list'] },
      { path: 'apps/web/admin', capabilities: ['deny'] },
    ]);
    assert.equal(parsed.name, 'web');
    assert.equal(parsed.rules.length, 2);
    assert.deepEqual(parsed.rules[0]?.capabilities, ['read', 'list']);
    assert.equal(parsed.rules[0]?.deny, false);
    assert.equal(parsed.rules[1]?.deny, true);
    assert.deepEqual(parsed.rules[1]?.capabilities, []);
  });

  it('drops one leading slash of a pattern', () => {
    const parsed = policy('web', [{ path: '/apps/web', capabilities: ['read'] }]);
    assert.equal(parsed.rules[0]?.path, 'apps/web');
  });

  const invalid: [string, string, RegExp][] = [
    ['an unknown top-level field', '{"rules": [], "name": "x"}', /unknown field 'name'/],
    ['an empty rule list', '{"rules": []}', /rules must hold at least one rule/],
    ['a missing rule list', '{}', /rules is missing/],
    ['an array document', '[]', /must be a JSON object/],
    [
      'an unknown rule field',
      '{"rules": [{"path": "a", "capabilities": ["read"], "caps": 1}]}',
      /rules\[0\] has unknown field 'caps'/,
    ],
    [
      'an unknown capability',
      '{"rules": [{"path": "a", "capabilities": ["read"]}, {"path": "b", "capabilities": ["list", "write"]}]}',
      /rules\[1\]\.capabilities\[1\] must be one of read, list/,
    ],
    [
      'an empty capability list',
      '{"rules": [{"path": "a", "capabilities": []}]}',
      /rules\[0\]\.capabilities must list at least one capability/,
    ],
    [
      'a repeated capability',
      '{"rules": [{"path": "a", "capabilities": ["read", "read"]}]}',
      /rules\[0\]\.capabilities\[1\] lists 'read' a second time/,
    ],
    [
      'deny beside a grant',
      '{"rules": [{"path": "a", "capabilities": ["deny", "read"]}]}',
      /rules\[0\]\.capabilities combines 'deny'/,
    ],
    [
      'a path that is not a string',
      '{"rules": [{"path": 7, "capabilities": ["read"]}]}',
      /rules\[0\]\.path must be a string/,
    ],
    [
      'a star before the end',
      '{"rules": [{"path": "apps/*/db", "capabilities": ["read"]}]}',
      /rules\[0\]\.path "apps\/\*\/db" has '\*' before its end/,
    ],
    [
      'a plus inside a segment',
      '{"rules": [{"path": "apps/we+b", "capabilities": ["read"]}]}',
      /rules\[0\]\.path "apps\/we\+b" has '\+' inside segment 2/,
    ],
    [
      'a plus before the star',
      '{"rules": [{"path": "apps/+*", "capabilities": ["read"]}]}',
      /ends in '\+\*'/,
    ],
    [
      'an empty segment',
      '{"rules": [{"path": "apps//db/*", "capabilities": ["read"]}]}',
      /rules\[0\]\.path "apps\/\/db\/\*" has an empty segment at position 2/,
    ],
    [
      'a dot-dot segment',
      '{"rules": [{"path": "apps/../*", "capabilities": ["read"]}]}',
      /has a '\.\.' segment at position 2/,
    ],
    ['an empty pattern', '{"rules": [{"path": "", "capabilities": ["read"]}]}', /is empty/],
  ];
  for (const [name, text, expected] of invalid) {
    it(`rejects ${name}`, () => {
      rejectsPolicy(text, expected);
    });
  }

  it('names the policy in every message', () => {
    rejectsPolicy('{"rules": []}', /^policy 'ops' is invalid: /, 'ops');
  });

  it('reports a JSON error by position without content', () => {
    const text = '{"rules": [\n  {"path": "CANARY-secret-text" "capabilities": []}]}';
    assert.throws(
      () => parsePolicy('web', text),
      (error) => {
        assert.ok(isTesseraError(error, 'INVALID_ARGUMENT'));
        assert.match(error.message, /policy 'web' is not valid JSON: .* at line 2, column \d+/);
        assert.doesNotMatch(error.message, /CANARY/);
        return true;
      },
    );
  });

  it('rejects an invalid name', () => {
    for (const name of ['', 'Web', 'web policy', 'a/b', 'x'.repeat(129)]) {
      assert.throws(() => checkPolicyName(name), /policy name/, name);
    }
  });

  it('accepts names of letters, digits, dash and underscore', () => {
    for (const name of ['web', 'db-admin_2', 'x'.repeat(128)]) {
      assert.doesNotThrow(() => checkPolicyName(name));
    }
  });
});

describe('decide', () => {
  const web = policy('web', [
    { path: 'apps/web/*', capabilities: ['read', 'list'] },
    { path: 'apps/web/db', capabilities: ['read', 'update'] },
  ]);

  function allowed(policies: Policy[], capability: Capability, path: string): boolean {
    return decide(policies, capability, path).allowed;
  }

  it('allows an exact path', () => {
    const exact = policy('exact', [{ path: 'apps/web/db', capabilities: ['update'] }]);
    assert.equal(allowed([exact], 'update', 'apps/web/db'), true);
    assert.equal(allowed([exact], 'update', 'apps/web/db2'), false);
    assert.equal(allowed([exact], 'update', 'apps/web/db/x'), false);
  });

  it('matches a star as a prefix', () => {
    assert.equal(allowed([web], 'read', 'apps/web/x'), true);
    assert.equal(allowed([web], 'read', 'apps/web/x/y'), true);
    assert.equal(allowed([web], 'read', 'apps/webby'), false);
    assert.equal(allowed([web], 'read', 'apps/web'), false);
  });

  it('matches a star inside a segment', () => {
    const partial = policy('partial', [{ path: 'apps/we*', capabilities: ['read'] }]);
    assert.equal(allowed([partial], 'read', 'apps/webby'), true);
    assert.equal(allowed([partial], 'read', 'apps/we'), true);
    assert.equal(allowed([partial], 'read', 'apps/x'), false);
  });

  it('matches the folder itself for listing', () => {
    const apps = policy('apps', [{ path: 'apps/*', capabilities: ['list'] }]);
    assert.equal(allowed([apps], 'list', 'apps/'), true);
    assert.equal(allowed([apps], 'list', ''), false);
  });

  it('matches everything with a lone star', () => {
    const all = policy('all', [{ path: '*', capabilities: ['list'] }]);
    assert.equal(allowed([all], 'list', ''), true);
    assert.equal(allowed([all], 'list', 'a/b/c'), true);
  });

  it('matches one segment with a plus', () => {
    const plus = policy('plus', [{ path: 'apps/+/db', capabilities: ['read'] }]);
    assert.equal(allowed([plus], 'read', 'apps/web/db'), true);
    assert.equal(allowed([plus], 'read', 'apps/api/db'), true);
    assert.equal(allowed([plus], 'read', 'apps/db'), false);
    assert.equal(allowed([plus], 'read', 'apps/a/b/db'), false);
  });

  it('combines a plus with a star', () => {
    const both = policy('both', [{ path: 'apps/+/config/*', capabilities: ['read'] }]);
    assert.equal(allowed([both], 'read', 'apps/web/config/a/b'), true);
    assert.equal(allowed([both], 'read', 'apps/web/secrets/a'), false);
  });

  it('denies by default and says why', () => {
    const decision = decide([web], 'read', 'apps/x');
    assert.deepEqual(decision, {
      allowed: false,
      reason: 'no rule grants read on apps/x',
      policy: null,
      rule: null,
    });
  });

  it('denies a capability no rule grants', () => {
    assert.equal(allowed([web], 'delete', 'apps/web/x'), false);
  });

  it('names the most specific granting rule', () => {
    const decision = decide([web], 'read', 'apps/web/db');
    assert.equal(decision.allowed, true);
    assert.equal(decision.policy, 'web');
    assert.equal(decision.rule, 'apps/web/db');
    assert.equal(decision.reason, "allowed by policy 'web', rule 'apps/web/db'");
  });

  it('ranks exact over plus over star, then longer', () => {
    const ranked = policy('ranked', [
      { path: 'apps/*', capabilities: ['read'] },
      { path: 'apps/web/*', capabilities: ['read'] },
      { path: 'apps/+/db', capabilities: ['read'] },
      { path: 'apps/web/db', capabilities: ['read'] },
    ]);
    assert.equal(decide([ranked], 'read', 'apps/web/db').rule, 'apps/web/db');
    assert.equal(decide([ranked], 'read', 'apps/api/db').rule, 'apps/+/db');
    assert.equal(decide([ranked], 'read', 'apps/web/x').rule, 'apps/web/*');
    assert.equal(decide([ranked], 'read', 'apps/api/x').rule, 'apps/*');
  });

  it('lets deny win over a more specific grant', () => {
    const deny = policy('lockdown', [{ path: 'apps/*', capabilities: ['deny'] }]);
    const decision = decide([web, deny], 'read', 'apps/web/db');
    assert.equal(decision.allowed, false);
    assert.equal(decision.policy, 'lockdown');
    assert.equal(decision.rule, 'apps/*');
    assert.equal(decision.reason, "denied by policy 'lockdown', rule 'apps/*'");
  });

  it('lets deny win whatever the policy order', () => {
    const deny = policy('lockdown', [{ path: 'apps/web/db', capabilities: ['deny'] }]);
    assert.equal(allowed([deny, web], 'read', 'apps/web/db'), false);
    assert.equal(allowed([web, deny], 'read', 'apps/web/db'), false);
    assert.equal(allowed([web, deny], 'read', 'apps/web/other'), true);
  });

  it('allows everything with the root policy', () => {
    const deny = policy('lockdown', [{ path: '*', capabilities: ['deny'] }]);
    const decision = decide([deny, rootPolicy], 'destroy', 'anything/at/all');
    assert.equal(decision.allowed, true);
    assert.equal(decision.policy, 'root');
  });

  it('does not treat a parsed policy named root as the root policy', () => {
    const fake: Policy = { name: 'root', rules: [] };
    assert.equal(allowed([fake], 'read', 'a'), false);
  });

  it('names the top level in a default denial', () => {
    assert.equal(decide([web], 'list', '').reason, 'no rule grants list on the top level');
  });
});
