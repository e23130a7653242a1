import { type Command, Option } from 'commander';
import pino, { type Logger } from 'pino';
import { type MountSpec, parseBackendSpec, parseMountSpec } from '../backends/spec.ts';
import { TesseraError } from '../errors.ts';
import { MAX_TIMEOUT_SECONDS } from '../mesos/read-options.ts';
import { type RunningServer, SERVER_DEFAULTS, startServer } from '../server/start.ts';
import { defaultTokenFile } from './context.ts';
import { wholeNumber, wholeNumberFrom } from './put.ts';
import {
  addMesosFollowOptions,
  mesosFollowConfig,
  mesosFollowFlags,
  trustedProxies,
} from './server-mesos.ts';

const HELP = `
The server listens on 127.0.0.1 unless --host says otherwise; any other address needs
--tls-cert and --tls-key (or --insecure-listen behind a TLS proxy).

Examples:
  tessera server --dev                    in memory, fresh key, for trying Tessera out
  tessera server --data-dir /var/lib/tessera --audit-file /var/log/tessera/audit.log
  tessera server --data-dir /var/lib/tessera --host 0.0.0.0 \\
      --tls-cert server.crt --tls-key server.key
  TESSERA_DATABASE_URL=postgres://tessera:PASSWORD@db.example/tessera \\
      tessera server --data-dir /var/lib/tessera     (see docs/postgres.md)
  tessera server --dev --mount ext/=file:/etc/mesos/secrets.json \\
      --mount vault/=vault:https://vault.example:8200,path=secret/,token_file=/run/vt

Backends are read-only and described in docs/backends.md.

Mesos tasks log in with a login role when the server follows their master:
  tessera server --data-dir /var/lib/tessera \\
      --mesos-master http://master.example:5050   (see docs/mesos.md)
`;

// A request body is about 4/3 of a secret plus 1 MiB, and the server decodes it into one
// string, which V8 limits to buffer.constants.MAX_STRING_LENGTH (2^29 - 24 in Node.js 24).
const MAX_SECRET_BYTES = 256 * 1024 * 1024;

/** Registers `tessera server`. */
export function registerServer(program: Command) {
  const command = program
    .command('server')
    .summary('run the Tessera server')
    .option('--dev', 'development mode: in-memory store and a fresh key, lost on exit')
    .addOption(
      new Option('--data-dir <dir>', 'directory for the database and keyring').env(
        'TESSERA_DATA_DIR',
      ),
    )
    .addOption(
      new Option(
        '--database-url <url>',
        'keep the store in PostgreSQL at this postgres:// URL; the keyring stays in --data-dir',
      ).env('TESSERA_DATABASE_URL'),
    )
    .addOption(
      new Option('--host <address>', 'address to listen on')
        .env('TESSERA_HOST')
        .default(SERVER_DEFAULTS.host),
    )
    .addOption(
      new Option('--port <port>', 'TCP port to listen on')
        .env('TESSERA_PORT')
        .default(SERVER_DEFAULTS.port)
        .argParser(wholeNumber),
    )
    .addOption(
      new Option('--tls-cert <file>', 'PEM certificate (chain) to serve HTTPS with').env(
        'TESSERA_TLS_CERT',
      ),
    )
    .addOption(
      new Option('--tls-key <file>', 'PEM private key of --tls-cert').env('TESSERA_TLS_KEY'),
    )
    .addOption(
      new Option(
        '--tls-client-ca <file>',
        'PEM CA bundle; clients must show a certificate it signed',
      ).env('TESSERA_TLS_CLIENT_CA'),
    )
    .addOption(
      new Option('--insecure-listen', 'allow plain HTTP on a non-loopback address').env(
        'TESSERA_INSECURE_LISTEN',
      ),
    )
    .addOption(
      new Option(
        '--audit-file <file>',
        'append a hash-chained audit line per authorised request',
      ).env('TESSERA_AUDIT_FILE'),
    )
    .addOption(
      new Option('--max-secret-bytes <bytes>', 'largest secret version accepted, in bytes')
        .env('TESSERA_MAX_SECRET_BYTES')
        .default(SERVER_DEFAULTS.maxSecretBytes)
        .argParser(wholeNumberFrom(1, MAX_SECRET_BYTES)),
    )
    .addOption(
      new Option(
        '--request-timeout <seconds>',
        'time a client has to send one whole request, in seconds',
      )
        .env('TESSERA_REQUEST_TIMEOUT')
        .default(SERVER_DEFAULTS.requestTimeoutMs / 1000)
        // It also becomes each socket's idle timeout, a Node.js timer.
        .argParser(wholeNumberFrom(1, MAX_TIMEOUT_SECONDS)),
    )
    .addOption(
      new Option(
        '--auth-failure-limit <count>',
        'failed authentications per address per minute before 429',
      )
        .env('TESSERA_AUTH_FAILURE_LIMIT')
        .default(SERVER_DEFAULTS.failureLimit.maxFailures)
        .argParser(wholeNumberFrom(1, Number.MAX_SAFE_INTEGER)),
    )
    .addOption(
      new Option(
        '--mount <prefix=spec>',
        'serve a read-only backend at a path prefix (repeatable): PREFIX=file:PATH, PREFIX=env:VARIABLE_PREFIX or PREFIX=vault:URL,OPTIONS',
      )
        .env('TESSERA_MOUNT')
        .argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]),
    )
    .addOption(
      new Option('--secrets_backend <kind>', 'serve one read-only backend at the root')
        .env('TESSERA_SECRETS_BACKEND')
        .choices(['file', 'env', 'vault']),
    )
    .addOption(
      new Option('--secrets_file <file>', 'with --secrets_backend=file: the secrets file').env(
        'TESSERA_SECRETS_FILE',
      ),
    )
    .addOption(
      new Option(
        '--secrets_env_prefix <prefix>',
        'with --secrets_backend=env: the variable name prefix, case-sensitive',
      ).env('TESSERA_SECRETS_ENV_PREFIX'),
    )
    .addOption(
      new Option(
        '--secrets_vault <spec>',
        'with --secrets_backend=vault: URL,OPTIONS as in --mount PREFIX=vault:URL,OPTIONS',
      ).env('TESSERA_SECRETS_VAULT'),
    )
    .addOption(
      new Option('--log-level <level>', 'log level')
        .env('TESSERA_LOG_LEVEL')
        .choices(['debug', 'info', 'warn', 'error'])
        .default('info'),
    )
    .addHelpText('after', HELP);
  addMesosFollowOptions(command);
  command.action(async (options) => {
    if (options.dev && options.dataDir) {
      throw new TesseraError('CONFIG_INVALID', '--dev and --data-dir exclude each other; pick one');
    }
    checkDatabaseUrl(options);
    const logger = serverLogger(options.logLevel);
    const server = await startServer(
      {
        dev: Boolean(options.dev),
        dataDir: options.dataDir,
        databaseUrl: options.databaseUrl,
        host: options.host,
        port: options.port,
        tls: tlsFiles(options),
        insecureListen: Boolean(options.insecureListen),
        auditFile: options.auditFile,
        limits: {
          maxSecretBytes: options.maxSecretBytes,
          requestTimeoutMs: options.requestTimeout * 1000,
        },
        failureLimit: {
          maxFailures: options.authFailureLimit,
          windowMs: SERVER_DEFAULTS.failureLimit.windowMs,
        },
        devTokenFile: options.dev ? defaultTokenFile(process.env) : undefined,
        mounts: mountSpecs(options, process.env),
        mesos: await mesosFollowConfig(mesosFollowFlags(command)),
        trustProxy: trustedProxies(options.trustProxy),
      },
      logger,
    );
    process.stdout.write(banner(server, options.dev ? defaultTokenFile(process.env) : undefined));
    stopOnSignal(server, logger);
  });
}

// The URL itself is never echoed, because it may hold the database password.
function checkDatabaseUrl(options: { dev?: boolean; dataDir?: string; databaseUrl?: string }) {
  if (options.databaseUrl === undefined) return;
  if (options.dev) {
    throw new TesseraError(
      'CONFIG_INVALID',
      '--dev and --database-url exclude each other; pick one (TESSERA_DATABASE_URL may be set)',
    );
  }
  if (!options.dataDir) {
    throw new TesseraError(
      'CONFIG_INVALID',
      '--database-url needs --data-dir DIR for the keyring (keyring.json) that every replica shares',
    );
  }
}

interface BackendOptions {
  mount?: string[];
  secrets_backend?: 'file' | 'env' | 'vault';
  secrets_file?: string;
  secrets_env_prefix?: string;
  secrets_vault?: string;
}

// The `--secrets_*` flags are Tessera's own names for one backend at the root; Mesos has
// no such flags, but operators look for them.
function mountSpecs(options: BackendOptions, env: NodeJS.ProcessEnv): MountSpec[] {
  const specs = (options.mount ?? []).map((text) => parseMountSpec(text, env));
  const kind = options.secrets_backend;
  const root = {
    file: options.secrets_file,
    env: options.secrets_env_prefix,
    vault: options.secrets_vault,
  };
  for (const [name, value] of Object.entries(root)) {
    if (value !== undefined && kind !== name) {
      throw new TesseraError(
        'CONFIG_INVALID',
        `--secrets_${name === 'env' ? 'env_prefix' : name} needs --secrets_backend=${name}`,
      );
    }
  }
  if (kind === undefined) return specs;

  const value = root[kind];
  if (!value) {
    const flag = kind === 'env' ? '--secrets_env_prefix' : `--secrets_${kind}`;
    throw new TesseraError('CONFIG_INVALID', `--secrets_backend=${kind} needs ${flag}`);
  }
  const spec = parseBackendSpec(`${kind}:${value}`, env, '--secrets_env_prefix');
  return [...specs, { prefix: '', spec }];
}

function tlsFiles(options: { tlsCert?: string; tlsKey?: string; tlsClientCa?: string }) {
  if (!options.tlsCert && !options.tlsKey) {
    if (options.tlsClientCa) {
      throw new TesseraError('CONFIG_INVALID', '--tls-client-ca needs --tls-cert and --tls-key');
    }
    return undefined;
  }
  if (!options.tlsCert || !options.tlsKey) {
    throw new TesseraError('CONFIG_INVALID', '--tls-cert and --tls-key go together; give both');
  }
  return { certFile: options.tlsCert, keyFile: options.tlsKey, clientCaFile: options.tlsClientCa };
}

function banner(server: RunningServer, tokenFile: string | undefined): string {
  const lines = [`Tessera server listening on ${server.address}`];
  if (tokenFile) {
    lines.push(
      'Development mode: the store is in memory and the key is new; both are lost when it stops.',
    );
  }
  if (server.rootToken) {
    lines.push(
      '',
      `Root token: ${server.rootToken}`,
      tokenFile
        ? `(also written to ${tokenFile}, mode 0600)`
        : 'It is shown only this once: keep it somewhere safe.',
      '',
      'In another shell, set:',
      '',
      `    export TESSERA_ADDR='${server.address}'`,
      `    export TESSERA_TOKEN='${server.rootToken}'`,
      '',
      'then try (inside the clone, run tessera as npx tessera, or npm link it once):',
      '',
      '    tessera put demo/hello greeting=@/etc/hostname && tessera get demo/hello',
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Builds the server's logger, writing to stderr. Writes are synchronous so that no line
 * waits in a buffer. A buffer is flushed at exit, and sonic-boom 4 retries that flush for
 * ever on a closed pipe, which blocks the event loop and with it SIGTERM. With a closed
 * stdout or stderr, the server keeps serving and drops what it would print there.
 */
function serverLogger(level: string): Logger {
  const logger = pino({ level, base: undefined }, pino.destination({ dest: 2, sync: true }));
  // The CLI exits on a closed stdout, which suits commands that print data, not a server.
  process.stdout.removeAllListeners('error');
  process.stdout.on('error', ignoreClosedPipe);
  process.stderr.on('error', ignoreClosedPipe);
  return logger;
}

function ignoreClosedPipe(error: NodeJS.ErrnoException) {
  if (error.code !== 'EPIPE') throw error;
}

function stopOnSignal(server: RunningServer, logger: Logger) {
  const stop = () => {
    server.close().then(
      () => process.exit(0),
      () => process.exit(2),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // As for most daemons, SIGHUP reopens the log file that logrotate moved away.
  process.on('SIGHUP', () => {
    server.reopenAudit().catch((error: Error) => {
      logger.error({ reason: error.message }, 'could not reopen the audit file');
    });
  });
}
