import { isIP } from 'node:net';
import { connect } from 'node:tls';
import { TesseraError } from '../errors.ts';

/** The TLS settings of a client, as far as they explain a failed connection. */
export interface ClientTls {
  ca?: Buffer;
  cert?: Buffer;
}

// OpenSSL's certificate errors and Node's TLS errors, as undici reports them in `cause.code`.
const TLS_FAILURE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL|EPROTO/;

// Under TLS 1.3 a server that requires a client certificate rejects the client only after
// the handshake, and undici then reports the closed socket, not the TLS alert.
const CLOSED_SOCKET = new Set(['UND_ERR_SOCKET', 'ECONNRESET']);
const CERTIFICATE_REQUIRED = 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED';
const PROBE_TIMEOUT_MS = 2000;
const PLAIN_HTTP_RESPONSE = 'ERR_SSL_WRONG_VERSION_NUMBER';

/**
 * Builds the UNREACHABLE error for a request to the Tessera server at `address` that got
 * no response, naming the setting that most likely fixes it. When an HTTPS server closed
 * the connection of a client without a certificate, it connects once more to learn
 * whether the server requires one.
 */
export async function unreachableError(
  address: string,
  error: unknown,
  tls: ClientTls | undefined,
): Promise<TesseraError> {
  const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
  const details = { address, cause };
  const url = new URL(address);
  const mayNeedCertificate = url.protocol === 'https:' && !tls?.cert && CLOSED_SOCKET.has(cause);
  if (mayNeedCertificate && (await requiresClientCertificate(url, tls?.ca))) {
    return new TesseraError(
      'UNREACHABLE',
      `the Tessera server at ${address} requires a client certificate; set TESSERA_CLIENT_CERT and TESSERA_CLIENT_KEY to the PEM files of one signed by the CA of its --tls-client-ca`,
      { ...details, cause: CERTIFICATE_REQUIRED },
    );
  }
  // An HTTPS client cannot parse a plain HTTP response as a TLS record.
  if (cause === PLAIN_HTTP_RESPONSE) {
    return new TesseraError(
      'UNREACHABLE',
      `the Tessera server at ${address} answered in plain HTTP, not TLS (${cause}); give its address with http://, or start it with --tls-cert and --tls-key`,
      details,
    );
  }
  if (TLS_FAILURE.test(cause)) {
    return new TesseraError(
      'UNREACHABLE',
      `TLS with the Tessera server at ${address} failed (${cause}); set TESSERA_CACERT to the CA that signed its certificate, and TESSERA_CLIENT_CERT and TESSERA_CLIENT_KEY if it asks for a client certificate`,
      details,
    );
  }
  return new TesseraError(
    'UNREACHABLE',
    `could not reach the Tessera server at ${address} (${cause}); start one with 'tessera server --dev', or give its address with --address or TESSERA_ADDR`,
    details,
  );
}

// Connects without a client certificate and returns whether the server rejects it with
// the TLS alert for a missing certificate. Any other outcome, a timeout included,
// returns false.
function requiresClientCertificate(url: URL, ca: Buffer | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(url.port || 443);
    // SNI takes a host name only (RFC 6066, section 3).
    const servername = isIP(host) === 0 ? host : undefined;
    const socket = connect({ host, port, ca, servername });
    const finish = (required: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(required);
    };
    const timer = setTimeout(() => finish(false), PROBE_TIMEOUT_MS);
    socket.on('error', (error: NodeJS.ErrnoException) =>
      finish(error.code === CERTIFICATE_REQUIRED),
    );
    socket.on('close', () => finish(false));
    // The alert arrives after the handshake, so the socket must read on.
    socket.on('secureConnect', () => socket.resume());
  });
}
