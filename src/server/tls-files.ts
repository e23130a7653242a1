import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import { TesseraError } from '../errors.ts';

/** The TLS material read from the files that the server's flags name. */
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;
const PEM_PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

/**
 * Reads and checks the server's certificate, its key and the client CA bundle, so that a
 * wrong file stops the start with a message naming it, rather than failing every
 * handshake later. Throws CONFIG_INVALID. Messages never quote a file's content.
 */
export async function readTlsMaterial(files: {
  certFile: string;
  keyFile: string;
  clientCaFile?: string;
}): Promise<TlsMaterial> {
  const cert = await readTlsFile(files.certFile, '--tls-cert');
  const certificate = parseCertificate(cert, files.certFile);
  await rejectReadableByOthers(files.keyFile);
  const key = await readTlsFile(files.keyFile, '--tls-key');
  const privateKey = parsePrivateKey(key, files.keyFile);
  if (!certificate.checkPrivateKey(privateKey)) {
    throw invalid(
      `--tls-key file ${files.keyFile} is not the key of the certificate in --tls-cert ` +
        `${files.certFile}; give the private key that the certificate was issued for`,
    );
  }
  const material: TlsMaterial = { cert, key };
  if (files.clientCaFile) {
    material.ca = await readTlsFile(files.clientCaFile, '--tls-client-ca');
    checkCaBundle(material.ca, files.clientCaFile);
  }
  checkSecureContext(material);
  return material;
}

async function readTlsFile(file: string, flag: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw invalid(
      `could not read ${flag} file ${file} (${code}); check the path and its permissions`,
    );
  }
}

// A key that every user of the machine can read is as good as published. Group access
// is allowed, because distributions share keys through a group such as Debian's ssl-cert.
async function rejectReadableByOthers(file: string) {
  const mode = await stat(file).then(
    (stats) => stats.mode,
    () => 0,
  );
  if ((mode & 0o007) === 0) return;
  const octal = (mode & 0o777).toString(8).padStart(4, '0');
  throw invalid(
    `--tls-key file ${file} has mode ${octal}, so every user may read the private key; ` +
      `run chmod 600 ${file} (or chmod 640 to share it through a group)`,
  );
}

// One file may hold both the certificate and its key, so a key alone means a swap.
function parseCertificate(pem: Buffer, file: string): X509Certificate {
  const text = pem.toString('latin1');
  if (PEM_PRIVATE_KEY.test(text) && !text.includes('-----BEGIN CERTIFICATE-----')) {
    throw invalid(
      `--tls-cert file ${file} contains a private key, not a certificate; ` +
        'check that --tls-cert and --tls-key are not swapped',
    );
  }
  try {
    return new X509Certificate(pem);
  } catch {
    throw invalid(
      `--tls-cert file ${file} is not a PEM certificate; give the server's certificate ` +
        '(and its chain) in PEM form',
    );
  }
}

function parsePrivateKey(pem: Buffer, file: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch {
    throw invalid(
      `--tls-key file ${file} is not an unencrypted PEM private key; give the key of ` +
        '--tls-cert without a passphrase (check that the two flags are not swapped)',
    );
  }
}

function checkCaBundle(pem: Buffer, file: string) {
  const blocks = pem.toString('latin1').match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) {
    throw invalid(
      `--tls-client-ca file ${file} contains no PEM certificate; give the CA certificates ` +
        'that sign the client certificates, in PEM form',
    );
  }
  for (const [index, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch {
      throw invalid(
        `certificate ${index + 1} of --tls-client-ca file ${file} is invalid; ` +
          'replace the CA bundle with one in PEM form',
      );
    }
  }
}

// OpenSSL may still reject what the checks above let through (a key too weak for its
// security level, say). Its error code is safe to show; its message is not needed.
function checkSecureContext(material: TlsMaterial) {
  try {
    createSecureContext({ ...material, minVersion: 'TLSv1.2' });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw invalid(
      `OpenSSL rejected the TLS files (${code}); check --tls-cert, --tls-key and --tls-client-ca`,
    );
  }
}

function invalid(message: string): TesseraError {
  return new TesseraError('CONFIG_INVALID', message);
}
