import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { TesseraClient } from '../../src/client/client.ts';
import { isTesseraError } from '../../src/errors.ts';
import { checkListenAddress, isLoopback } from '../../src/server/transport.ts';
import { runTessera } from '../helpers/cli.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { createTestPki, type TestPki } from '../helpers/tls.ts';

describe('listen address rules', () => {
  test('loopback addresses need no TLS', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost'])
      assert.equal(isLoopback(host), true, host);
    for (const host of ['0.0.0.0', '::', '10.0.0.1', '192.0.2.10'])
      assert.equal(isLoopback(host), false, host);
  });

  test('a public address without TLS is refused with the fix', () => {
    assert.throws(
      () => checkListenAddress('0.0.0.0', undefined, false),
      (error) => isTesseraError(error, 'CONFIG_INVALID') && /--tls-cert/.test(error.message),
    );
  });

  test('--insecure-listen or TLS lifts the refusal', () => {
    assert.doesNotThrow(() => checkListenAddress('0.0.0.0', undefined, true));
    assert.doesNotThrow(() =>
      checkListenAddress('0.0.0.0', { certFile: 'c', keyFile: 'k' }, false),
    );
  });

  test('the server command refuses 0.0.0.0 without TLS and does not listen', async () => {
    const ran = await runTessera(['server', '--dev', '--host', '0.0.0.0', '--port', '0'], {
      env: { PATH: process.env.PATH, HOME: '/nonexistent' },
    });
    assert.equal(ran.code, 2);
    assert.match(ran.stderr, /refusing to listen on 0\.0\.0\.0 without TLS/);
  });
});

describe('TLS with client certificates', () => {
  let pki: TestPki;
  let server: TestServer;
  before(async () => {
    pki = await createTestPki();
    server = await startTestServer({
      tls: { certFile: pki.serverCert, keyFile: pki.serverKey, clientCaFile: pki.caCert },
    });
  });
  after(async () => {
    await server.close();
    await rm(pki.dir, { recursive: true, force: true });
  });

  test('the server reports an https address', () => {
    assert.match(server.address, /^https:\/\/127\.0\.0\.1:\d+$/);
  });

  test('a client with a certificate signed by the CA is served', async () => {
    const client = new TesseraClient({
      address: server.address,
      token: server.rootToken,
      tls: {
        ca: await readFile(pki.caCert),
        cert: await readFile(pki.clientCert),
        key: await readFile(pki.clientKey),
      },
    });
    await client.write('tls/check', { value: Buffer.from('over tls') });
    const read = await client.read('tls/check');
    assert.equal(read.fields.value?.toString(), 'over tls');
  });

  test('the CLI uses TESSERA_CACERT and the client certificate variables', async () => {
    const env = {
      PATH: process.env.PATH,
      HOME: '/nonexistent',
      TESSERA_ADDR: server.address,
      TESSERA_TOKEN: server.rootToken,
      TESSERA_CACERT: pki.caCert,
      TESSERA_CLIENT_CERT: pki.clientCert,
      TESSERA_CLIENT_KEY: pki.clientKey,
    };
    const put = await runTessera(['put', 'tls/cli', 'value=-'], { env, input: 'via the CLI' });
    assert.equal(put.code, 0, put.stderr);
    const got = await runTessera(['get', 'tls/cli', '--field', 'value'], { env });
    assert.equal(got.stdout.toString(), 'via the CLI');

    const withoutCert = await runTessera(['get', 'tls/cli'], {
      env: { ...env, TESSERA_CLIENT_CERT: '', TESSERA_CLIENT_KEY: '' },
    });
    assert.equal(withoutCert.code, 2);

    const untrusted = await runTessera(['get', 'tls/cli'], { env: { ...env, TESSERA_CACERT: '' } });
    assert.equal(untrusted.code, 2);
    assert.match(untrusted.stderr, /TLS with the Tessera server .* failed .*TESSERA_CACERT/);
  });

  test('a client without a certificate is turned away', async () => {
    const client = new TesseraClient({
      address: server.address,
      token: server.rootToken,
      tls: { ca: await readFile(pki.caCert) },
    });
    await assert.rejects(client.read('tls/check'), (error) => isTesseraError(error, 'UNREACHABLE'));
  });

  test('a client that does not trust the CA is turned away', async () => {
    const client = new TesseraClient({ address: server.address, token: server.rootToken });
    await assert.rejects(client.read('tls/check'), (error) => isTesseraError(error, 'UNREACHABLE'));
  });
});
