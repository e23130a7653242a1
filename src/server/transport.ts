import type { ServerOptions as HttpsServerOptions } from 'node:https';
import { isIP } from 'node:net';
import { TesseraError } from '../errors.ts';
import { readTlsMaterial } from './tls-files.ts';

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

/** Reads and checks the TLS files, and turns them into options for Node's https server. */
export async function loadTls(tls: TlsFiles): Promise<HttpsServerOptions> {
  const material = await readTlsMaterial(tls);
  const options: HttpsServerOptions = {
    cert: material.cert,
    key: material.key,
    minVersion: 'TLSv1.2',
  };
  if (material.ca) {
    options.ca = material.ca;
    options.requestCert = true;
    options.rejectUnauthorized = true;
  }
  return options;
}
