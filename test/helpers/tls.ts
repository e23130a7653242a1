import { execFileSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** PEM files of a throw-away CA, a server certificate for 127.0.0.1, and a client certificate. */
export interface TestPki {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

// P-256 keys are quick to make; two days is long enough for any test run.
const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
const DAYS = ['-days', '2'];

function openssl(args: string[], cwd: string) {
  execFileSync('openssl', args, { cwd, stdio: 'pipe', timeout: 30_000 });
}

// Makes `<name>.key` and `<name>.crt`, signed by the CA in `dir`, with `extensions`.
async function issue(dir: string, name: string, subject: string, extensions: string) {
  await writeFile(join(dir, `${name}.ext`), `${extensions}\n`);
  openssl(
    ['req', ...NEW_KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject],
    dir,
  );
  const sign = ['-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial'];
  const output = ['-out', `${name}.crt`, '-extfile', `${name}.ext`];
  openssl(['x509', '-req', '-in', `${name}.csr`, ...sign, ...output, ...DAYS], dir);
}

/** Creates the certificates with the openssl command, in a new temporary directory. */
export async function createTestPki(): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-pki-'));
  const ca = ['-x509', ...NEW_KEY, '-keyout', 'ca.key', '-out', 'ca.crt'];
  openssl(['req', ...ca, '-subj', '/CN=tessera test CA', ...DAYS], dir);
  await issue(dir, 'server', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1,DNS:localhost');
  await issue(dir, 'client', '/CN=tessera test client', 'extendedKeyUsage=clientAuth');
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    clientCert: join(dir, 'client.crt'),
    clientKey: join(dir, 'client.key'),
  };
}
