import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { FileBackend } from '../../src/backends/file.ts';
import { isTesseraError } from '../../src/errors.ts';
import { readCase } from './helpers.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-file-backend-'));
});
after(() => rm(dir, { recursive: true, force: true }));

function entry(name: string, data: Buffer, key?: string) {
  return {
    reference: key === undefined ? { name } : { name, key },
    value: { data: data.toString('base64') },
  };
}

test('case 24: base64-looking secret stays literal', async () => {
  const scenario = readCase('24-mesos-credentials-file-formats.json');
  const [, legacy] = scenario.jsonCredentialsFile.credentials;
  const file = join(dir, 'case-24.json');
  await writeFile(
    file,
    JSON.stringify([
      entry('/mesos/legacy-framework', Buffer.from(legacy.secret)),
      entry('/mesos/marathon', Buffer.from(scenario.secretFileForMarathon)),
    ]),
  );
  const backend = await FileBackend.open({ file });
  try {
    const literal = await backend.read('mesos/legacy-framework');
    assert.equal(literal.fields.value?.toString(), 'UExBQ0VIT0xERVItbG9va3MtYmFzZTY0');
    const withNewline = await backend.read('mesos/marathon');
    assert.equal(withNewline.fields.value?.toString(), 'PLACEHOLDER-fw-secret-24\n');
  } finally {
    await backend.close();
  }
});

test('case 19: JSON layer decodes exactly once', async () => {
  const scenario = readCase('19-dcos-base64-binary-keytab.json');
  const file = join(dir, 'case-19.json');
  await writeFile(file, JSON.stringify(scenario.fileBackend));
  const plain = await FileBackend.open({ file });
  const decoded = await FileBackend.open({ file, dcosBase64: true });
  try {
    const keytab = Buffer.from(scenario.fileBackend[1].value.data, 'base64');
    const once = await plain.read('hdfs/__dcos_base64__keytab');
    assert.equal(once.fields.value?.toString(), scenario.fileBackend[1].value.data);
    const twice = await decoded.read('hdfs/__dcos_base64__keytab');
    assert.deepEqual(twice.fields.value, keytab);
    const raw = await decoded.read('hdfs/keytab-raw');
    assert.deepEqual(raw.fields.value, keytab, 'names without the prefix are decoded once');
  } finally {
    await plain.close();
    await decoded.close();
  }
});

test('invalid file at start is CONFIG_INVALID without content', async () => {
  const file = join(dir, 'bad.json');
  await writeFile(file, '[{"reference": {"name": "/a"}, "value": {"data": "CANARY-not-base64!"}}]');
  const error = await FileBackend.open({ file }).catch((caught) => caught);
  assert.ok(isTesseraError(error, 'CONFIG_INVALID'), String(error));
  assert.match(error.message, /entry 0: value\.data/);
  assert.ok(!error.message.includes('CANARY'));
});

test('duplicate names are rejected', async () => {
  const file = join(dir, 'dup.json');
  await writeFile(
    file,
    JSON.stringify([entry('/a', Buffer.from('1')), entry('a', Buffer.from('2'), 'value')]),
  );
  const error = await FileBackend.open({ file }).catch((caught) => caught);
  assert.ok(isTesseraError(error, 'CONFIG_INVALID'), String(error));
  assert.match(error.message, /entries 0 and 1 both define secret 'a'/);
});

test('fields of one path are grouped', async () => {
  const file = join(dir, 'fields.json');
  await writeFile(
    file,
    JSON.stringify([
      entry('/db', Buffer.from('u'), 'user'),
      entry('/db', Buffer.from('p'), 'password'),
    ]),
  );
  const backend = await FileBackend.open({ file });
  try {
    const read = await backend.read('db');
    assert.deepEqual(Object.keys(read.fields).sort(), ['password', 'user']);
    assert.deepEqual(await backend.list(''), ['db']);
    const missing = await backend.read('nope').catch((caught) => caught);
    assert.ok(isTesseraError(missing, 'NOT_FOUND'));
    const versioned = await backend.read('db', 2).catch((caught) => caught);
    assert.ok(isTesseraError(versioned, 'NOT_FOUND'));
  } finally {
    await backend.close();
  }
});

test('deleted file keeps the last good version', async () => {
  const file = join(dir, 'deleted.json');
  await writeFile(file, JSON.stringify([entry('/a', Buffer.from('kept'))]));
  const backend = await FileBackend.open({ file, pollMs: 50 });
  try {
    await rm(file);
    await backend.reload();
    assert.equal((await backend.read('a')).fields.value?.toString(), 'kept');
    assert.equal(backend.health().ok, false);
    assert.match(backend.health().reason ?? '', /ENOENT/);
  } finally {
    await backend.close();
  }
});
