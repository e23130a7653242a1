import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { inspect } from 'node:util';
import {
  createKeyringFile,
  Keyring,
  keyringFromEnv,
  loadKeyringFile,
} from '../../src/crypto/keyring.ts';
import { isTesseraError } from '../../src/errors.ts';

let directory: string;

before(async () => {
  directory = await mkdtemp(join(tmpdir(), 'tessera-keyring-'));
});

after(async () => {
  await rm(directory, { recursive: true, force: true });
});

function keysOf(keyring: Keyring): string[] {
  const document = JSON.parse(keyring.serialize()) as { keys: { key: string }[] };
  return document.keys.map((entry) => entry.key);
}

function isConfigError(pattern: RegExp, forbidden?: string) {
  return (error: unknown): boolean => {
    assert.ok(isTesseraError(error, 'CONFIG_INVALID'), `expected CONFIG_INVALID: ${error}`);
    assert.match(error.message, pattern);
    if (forbidden !== undefined) {
      assert.equal(error.message.includes(forbidden), false, 'message contains key material');
      assert.equal(JSON.stringify(error.details).includes(forbidden), false);
    }
    return true;
  };
}

const A_KEY = Buffer.alloc(32, 7).toString('base64');

describe('Keyring', () => {
  it('generates one 256-bit key with id 1', () => {
    const keyring = Keyring.generate();
    assert.deepEqual(keyring.ids(), [1]);
    assert.equal(keyring.current().id, 1);
    assert.equal(keyring.current().key.symmetricKeySize, 32);
  });

  it('rotates to a new current key', () => {
    const keyring = Keyring.generate();
    assert.equal(keyring.rotate(), 2);
    assert.equal(keyring.current().id, 2);
    assert.ok(keyring.get(1));
    assert.equal(keyring.get(3), undefined);
    const [first, second] = keysOf(keyring);
    assert.notEqual(first, second);
  });

  it('serializes and parses back', () => {
    const keyring = Keyring.generate();
    keyring.rotate();
    const text = keyring.serialize();
    const document = JSON.parse(text);
    assert.equal(document.version, 1);
    assert.deepEqual(
      document.keys.map((entry: { id: number }) => entry.id),
      [1, 2],
    );
    assert.ok(Date.parse(document.keys[0].created) > 0);
    assert.equal(Keyring.parse(text, 'test').serialize(), text);
  });

  it('hides keys from JSON and inspect', () => {
    const keyring = Keyring.generate();
    keyring.rotate();
    const printed = [
      JSON.stringify({ keyring }),
      inspect(keyring),
      inspect({ keyring }),
      `${inspect(keyring.current())}`,
    ];
    assert.equal(inspect(keyring), 'Keyring(<2 keys>)');
    assert.equal(JSON.stringify(keyring), '"Keyring(<2 keys>)"');
    for (const key of keysOf(keyring)) {
      const hex = Buffer.from(key, 'base64').toString('hex');
      for (const text of printed) {
        assert.equal(text.includes(key), false, 'base64 key printed');
        assert.equal(text.includes(hex), false, 'hex key printed');
      }
    }
  });

  const invalid: [string, string, RegExp][] = [
    ['not JSON', `{"version":1,"keys":[{"key":"${A_KEY}"`, /is not valid JSON/],
    ['wrong version', `{"version":2,"keys":[]}`, /version: Invalid input/],
    ['no keys', `{"version":1,"keys":[]}`, /keys: Too small/],
    ['an unknown field', `{"version":1,"keys":[],"extra":1}`, /Unrecognized key/],
    [
      'a short key',
      `{"version":1,"keys":[{"id":1,"key":"${A_KEY.slice(4)}","created":"2024-01-01T00:00:00Z"}]}`,
      /not a base64 256-bit key/,
    ],
    [
      'a duplicate id',
      `{"version":1,"keys":[{"id":1,"key":"${A_KEY}","created":"2024-01-01T00:00:00Z"},` +
        `{"id":1,"key":"${A_KEY}","created":"2024-01-01T00:00:00Z"}]}`,
      /key id 1 appears twice/,
    ],
    [
      'a bad id',
      `{"version":1,"keys":[{"id":0,"key":"${A_KEY}","created":"2024-01-01T00:00:00Z"}]}`,
      /keys\.0\.id/,
    ],
  ];
  for (const [name, text, pattern] of invalid) {
    it(`parse rejects ${name} without quoting keys`, () => {
      assert.throws(
        () => Keyring.parse(text, 'keyring.json'),
        isConfigError(pattern, A_KEY.slice(4, 30)),
      );
      assert.throws(() => Keyring.parse(text, 'keyring.json'), isConfigError(/keyring\.json/));
    });
  }
});

describe('keyring files', () => {
  it('creates a file of mode 0600 that loads back', async () => {
    const file = join(directory, 'created.json');
    const created = await createKeyringFile(file);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const loaded = await loadKeyringFile(file);
    assert.equal(loaded.serialize(), created.serialize());
  });

  it('never overwrites an existing file', async () => {
    const file = join(directory, 'existing.json');
    await writeFile(file, 'keep me', { mode: 0o600 });
    await assert.rejects(createKeyringFile(file), isConfigError(/already exists/));
    assert.equal(await readFile(file, 'utf8'), 'keep me');
  });

  it('names the missing directory', async () => {
    const file = join(directory, 'no-such-dir', 'keyring.json');
    await assert.rejects(
      createKeyringFile(file),
      isConfigError(/create the directory .*no-such-dir/),
    );
  });

  it('rejects a file readable by others', async () => {
    const file = join(directory, 'open.json');
    await createKeyringFile(file);
    await chmod(file, 0o644);
    await assert.rejects(loadKeyringFile(file), isConfigError(/mode 0644.*chmod 600 .*open\.json/));
  });

  it('rejects a file writable by the group', async () => {
    const file = join(directory, 'group.json');
    await createKeyringFile(file);
    await chmod(file, 0o620);
    await assert.rejects(loadKeyringFile(file), isConfigError(/chmod 600/));
  });

  it('reports a missing file', async () => {
    await assert.rejects(
      loadKeyringFile(join(directory, 'absent.json')),
      isConfigError(/not found/),
    );
  });

  it('names the file when its content is invalid', async () => {
    const file = join(directory, 'broken.json');
    await writeFile(file, `{"keys": "${A_KEY}"`, { mode: 0o600 });
    await assert.rejects(loadKeyringFile(file), isConfigError(/broken\.json is invalid/, A_KEY));
  });
});

describe('keyringFromEnv', () => {
  it('reads one base64 key as id 1', () => {
    const keyring = keyringFromEnv(`${A_KEY}\n`, 'TESSERA_KEY');
    assert.deepEqual(keyring.ids(), [1]);
    assert.deepEqual(keysOf(keyring), [A_KEY]);
  });

  it('reads the JSON form of a keyring', () => {
    const source = Keyring.generate();
    source.rotate();
    const keyring = keyringFromEnv(source.serialize(), 'TESSERA_KEYRING');
    assert.deepEqual(keyring.ids(), [1, 2]);
  });

  it('names the variable and hides the value', () => {
    const wrong = Buffer.alloc(16, 9).toString('base64');
    assert.throws(() => keyringFromEnv(wrong, 'TESSERA_KEY'), isConfigError(/TESSERA_KEY/, wrong));
    assert.throws(() => keyringFromEnv('  ', 'TESSERA_KEY'), isConfigError(/TESSERA_KEY is empty/));
    const notCanonical = `${A_KEY.slice(0, 42)}B=`;
    assert.throws(() => keyringFromEnv(notCanonical, 'TESSERA_KEY'), isConfigError(/TESSERA_KEY/));
  });
});
