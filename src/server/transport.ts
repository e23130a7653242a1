import { readFile } from 'node:fs/promises';
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import { isIP } from 'node:net';
import { TesseraError } from '../errors.ts';

/** TLS files given to the server; paths, never the key material itself. */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
  /** CA bundle for client certificates; when set, every client must present one. */
  clientCaFile?: string;
}

/** Returns whether `host` is a loopback address, the only kind served without TLS by default. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

/**
 * Rejects a non-loopback listen address without TLS: tokens and secrets would cross the
 * network in plain text. `insecureListen` is the operator's explicit opt-out, for a TLS
 * proxy in front of Tessera.
 */
export function checkListenAddress(
  host: string,
  tls: TlsFiles | undefined,
  insecureListen: boolean,
) {
  if (tls || insecureListen || isLoopback(host)) return;
  throw new TesseraError(
    'CONFIG_INVALID',
    `refusing to listen on ${host} without TLS, because tokens and secrets would cross the network in plain text; pass --tls-cert and --tls-key, or --insecure-listen if a proxy in front of Tessera ends TLS`,
  );
}

/** Reads the TLS files into options for Node's https server. */
export async function loadTls(tls: TlsFiles): Promise<HttpsServerOptions> {
  const options: HttpsServerOptions = {
    cert: await readTlsFile(tls.certFile, '--tls-cert'),
    key: await readTlsFile(tls.keyFile, '--tls-key'),
    minVersion: 'TLSv1.2',
  };
  if (tls.clientCaFile) {
    options.ca = await readTlsFile(tls.clientCaFile, '--tls-client-ca');
    options.requestCert = true;
    options.rejectUnauthorized = true;
  }
  return options;
}

async function readTlsFile(file: string, flag: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new TesseraError(
      'CONFIG_INVALID',
      `could not read ${flag} file ${file} (${code}); check the path and its permissions`,
    );
  }
}
