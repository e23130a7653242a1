import { type Command, Option } from 'commander';
import pino from 'pino';
import { TesseraError } from '../errors.ts';
import { type RunningServer, startServer } from '../server/start.ts';
import { defaultTokenFile } from './context.ts';
import { wholeNumber } from './put.ts';

/** The default request body limit: a 1 MiB secret, base64-encoded, with room for JSON. */
export const DEFAULT_BODY_LIMIT_BYTES = 8 * 1024 * 1024;

const HELP = `
Examples:
  tessera server --dev                    in memory, fresh key, for trying Tessera out
  tessera server --data-dir /var/lib/tessera
`;

/** Registers `tessera server`. */
export function registerServer(program: Command) {
  program
    .command('server')
    .summary('run the Tessera server')
    .option('--dev', 'development mode: in-memory store and a fresh key, lost on exit')
    .addOption(
      new Option('--data-dir <dir>', 'directory for the database and keyring').env(
        'TESSERA_DATA_DIR',
      ),
    )
    .addOption(
      new Option('--host <address>', 'address to listen on')
        .env('TESSERA_HOST')
        .default('127.0.0.1'),
    )
    .addOption(
      new Option('--port <port>', 'TCP port to listen on')
        .env('TESSERA_PORT')
        .default(8210)
        .argParser(wholeNumber),
    )
    .addOption(
      new Option('--log-level <level>', 'log level')
        .env('TESSERA_LOG_LEVEL')
        .choices(['debug', 'info', 'warn', 'error'])
        .default('info'),
    )
    .addHelpText('after', HELP)
    .action(async (options) => {
      if (options.dev && options.dataDir) {
        throw new TesseraError(
          'CONFIG_INVALID',
          '--dev and --data-dir exclude each other; pick one',
        );
      }
      const logger = pino({ level: options.logLevel, base: undefined }, pino.destination(2));
      const server = await startServer(
        {
          dev: Boolean(options.dev),
          dataDir: options.dataDir,
          host: options.host,
          port: options.port,
          bodyLimitBytes: DEFAULT_BODY_LIMIT_BYTES,
          devTokenFile: options.dev ? defaultTokenFile(process.env) : undefined,
        },
        logger,
      );
      process.stdout.write(banner(server, options.dev ? defaultTokenFile(process.env) : undefined));
      stopOnSignal(server);
    });
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
      'then try:  tessera put demo/hello greeting=@/etc/hostname && tessera get demo/hello',
    );
  }
  return `${lines.join('\n')}\n`;
}

function stopOnSignal(server: RunningServer) {
  const stop = () => {
    server.close().then(
      () => process.exit(0),
      () => process.exit(2),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
