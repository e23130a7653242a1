import assert from 'node:assert/strict';
import { chmod, copyFile, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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
    assert.match(withoutCert.stderr, /requires a client certificate/);
    assert.match(withoutCert.stderr, /TESSERA_CLIENT_CERT and TESSERA_CLIENT_KEY/);
    assert.doesNotMatch(withoutCert.stderr, /tessera server --dev/);

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
    await assert.rejects(client.read('tls/check'), (error) => {
      assert.ok(isTesseraError(error, 'UNREACHABLE'));
      assert.equal(error.details?.cause, 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');
      return true;
    });
  });

  test('a client that does not trust the CA is turned away', async () => {
    const client = new TesseraClient({ address: server.address, token: server.rootToken });
    await assert.rejects(client.read('tls/check'), (error) => isTesseraError(error, 'UNREACHABLE'));
  });
});

describe('TLS files checked at start', () => {
  let pki: TestPki;
  before(async () => {
    pki = await createTestPki();
  });
  after(async () => {
    await rm(pki.dir, { recursive: true, force: true });
  });

  // Starts a server with these TLS files and returns the CONFIG_INVALID message. A server
  // that starts after all is closed, so that the failing test does not keep it running.
  async function startupError(tls: { certFile: string; keyFile: string; clientCaFile?: string }) {
    const outcome = await startTestServer({ tls }).then(
      async (server) => {
        await server.close();
        return 'the server started';
      },
      (error: unknown) => error,
    );
    assert.ok(isTesseraError(outcome, 'CONFIG_INVALID'), String(outcome));
    return outcome.message;
  }

  test('a key of another certificate is named', async () => {
    const message = await startupError({ certFile: pki.serverCert, keyFile: pki.clientKey });
    assert.match(message, /--tls-key file .*client\.key is not the key of the certificate/);
    assert.ok(message.includes(pki.serverCert));
  });

  test('swapped certificate and key are named', async () => {
    const message = await startupError({ certFile: pki.serverKey, keyFile: pki.serverCert });
    assert.match(message, /--tls-cert file .*server\.key contains a private key/);
    assert.match(message, /swapped/);
  });

  test('a key file that is no key is named', async () => {
    const notKey = join(pki.dir, 'not-a-key.pem');
    await writeFile(notKey, 'not a key\n', { mode: 0o600 });
    const message = await startupError({ certFile: pki.serverCert, keyFile: notKey });
    assert.match(message, /--tls-key file .*not-a-key\.pem is not an unencrypted PEM private key/);
  });

  test('a client CA file without certificates is named', async () => {
    const hostname = join(pki.dir, 'hostname');
    await writeFile(hostname, 'agent-7.example\n');
    const message = await startupError({
      certFile: pki.serverCert,
      keyFile: pki.serverKey,
      clientCaFile: hostname,
    });
    assert.match(message, /--tls-client-ca file .*hostname contains no PEM certificate/);
  });

  test('a key that every user may read is rejected', async () => {
    const open = join(pki.dir, 'world-readable.key');
    await copyFile(pki.serverKey, open);
    await chmod(open, 0o644);
    const message = await startupError({ certFile: pki.serverCert, keyFile: open });
    assert.match(message, /has mode 0644, so every user may read the private key/);
    assert.match(message, /chmod 600/);
  });

  test('a key shared through its group is accepted', async () => {
    const shared = join(pki.dir, 'group-readable.key');
    await copyFile(pki.serverKey, shared);
    await chmod(shared, 0o640);
    const server = await startTestServer({ tls: { certFile: pki.serverCert, keyFile: shared } });
    await server.close();
  });

  test('no message quotes the key', async () => {
    const key = await readFile(pki.serverKey, 'utf8');
    const body = key.split('\n')[1] ?? '';
    const message = await startupError({ certFile: pki.serverKey, keyFile: pki.serverCert });
    assert.ok(body.length > 20);
    assert.equal(message.includes(body), false);
  });
});
