import { type Command, Option } from 'commander';
import { formatDuration, parseDuration } from '../access/duration.ts';
import { isTesseraError, TesseraError } from '../errors.ts';
import { parseMasterUrl } from '../mesos/mesos-url.ts';
import { MESOS_FOLLOW_DEFAULTS, type MesosFollowConfig } from '../server/mesos-follow.ts';
import { checkTrustedProxy } from '../server/trust-proxy.ts';
import { basicAuthorization } from './mesos-options.ts';

const FOLLOW_FLAGS = { principal: '--mesos-principal', secretFile: '--mesos-secret-file' };

/** Adds the options of following a Mesos master, for task logins, to `tessera server`. */
export function addMesosFollowOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--mesos-master <urls>',
        'follow this Mesos master (comma-separated for several) so that its tasks can log in',
      ).env('TESSERA_MESOS_MASTER'),
    )
    .addOption(
      new Option('--mesos-principal <name>', 'Mesos HTTP principal to follow the master as').env(
        'TESSERA_MESOS_PRINCIPAL',
      ),
    )
    .addOption(
      new Option('--mesos-secret-file <file>', "file holding that principal's password").env(
        'TESSERA_MESOS_SECRET_FILE',
      ),
    )
    .addOption(
      new Option(
        '--task-login-window <duration>',
        'how long after its start a Mesos task may still log in: seconds, or with a unit s, m, h or d, as in 10m',
      )
        .env('TESSERA_TASK_LOGIN_WINDOW')
        .default(formatDuration(MESOS_FOLLOW_DEFAULTS.loginWindowSeconds)),
    )
    .addOption(
      new Option(
        '--trust-proxy <addresses>',
        'comma-separated addresses or CIDR ranges of proxies whose X-Forwarded-For gives the client address',
      ).env('TESSERA_TRUST_PROXY'),
    );
}

/** The options that `addMesosFollowOptions` adds, as commander parses them. */
export interface MesosFollowFlags {
  mesosMaster?: string;
  mesosPrincipal?: string;
  mesosSecretFile?: string;
  /** The window as given; undefined when neither the flag nor its variable is set. */
  taskLoginWindow?: string;
  trustProxy?: string;
}

/**
 * Returns the options that `addMesosFollowOptions` added to `command`, with
 * `taskLoginWindow` undefined when it has only its default, so that a window given
 * without `--mesos-master` can be detected.
 */
export function mesosFollowFlags(command: Command): MesosFollowFlags {
  const flags = command.opts<MesosFollowFlags>();
  if (command.getOptionValueSource('taskLoginWindow') !== 'default') return flags;
  return { ...flags, taskLoginWindow: undefined };
}

/**
 * Builds the settings of following the master, or undefined without `--mesos-master`.
 * Throws CONFIG_INVALID naming the flag; a URL is never echoed, since it may hold a
 * password.
 */
export async function mesosFollowConfig(
  flags: MesosFollowFlags,
): Promise<MesosFollowConfig | undefined> {
  if (flags.mesosMaster === undefined) {
    if (flags.mesosPrincipal !== undefined || flags.mesosSecretFile !== undefined) {
      throw configInvalid('--mesos-principal and --mesos-secret-file need --mesos-master');
    }
    if (flags.taskLoginWindow !== undefined) {
      throw configInvalid(
        '--task-login-window needs --mesos-master, because tasks log in only to a server ' +
          'that follows a Mesos master; give --mesos-master or remove the window ' +
          '(TESSERA_TASK_LOGIN_WINDOW may be set)',
      );
    }
    return undefined;
  }
  const masters = flags.mesosMaster
    .split(',')
    .map((text) => text.trim())
    .filter((text) => text !== '')
    .map(masterUrl);
  if (masters.length === 0) throw configInvalid('--mesos-master names no URL');
  return {
    masters,
    authorization: await asConfigInvalid(() =>
      basicAuthorization(flags.mesosPrincipal, flags.mesosSecretFile, FOLLOW_FLAGS),
    ),
    loginWindowSeconds:
      flags.taskLoginWindow === undefined
        ? MESOS_FOLLOW_DEFAULTS.loginWindowSeconds
        : loginWindow(flags.taskLoginWindow),
    connectTimeoutMs: MESOS_FOLLOW_DEFAULTS.connectTimeoutMs,
  };
}

/**
 * Splits `--trust-proxy` into the addresses Fastify trusts, or undefined when unset.
 * Throws CONFIG_INVALID naming an entry that Fastify could not read.
 */
export function trustedProxies(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const addresses = text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (addresses.length === 0) throw configInvalid('--trust-proxy names no address');
  for (const address of addresses) {
    asConfigInvalid(() => checkTrustedProxy(address, '--trust-proxy'));
  }
  return addresses;
}

function masterUrl(text: string, index: number): URL {
  return asConfigInvalid(() =>
    parseMasterUrl(
      text,
      `URL ${index + 1} of --mesos-master`,
      'give the principal with --mesos-principal and its password in --mesos-secret-file',
    ),
  );
}

function loginWindow(text: string): number {
  const seconds = asConfigInvalid(() => parseDuration(text, '--task-login-window'));
  if (seconds < 10) throw configInvalid('--task-login-window must be at least 10s');
  return seconds;
}

// The checks shared with doctor throw INVALID_ARGUMENT; for the server it is its configuration.
function asConfigInvalid<T>(parse: () => T): T {
  const convert = (error: unknown): never => {
    if (isTesseraError(error, 'INVALID_ARGUMENT')) throw configInvalid(error.message);
    throw error;
  };
  try {
    const result = parse();
    return result instanceof Promise ? (result.catch(convert) as T) : result;
  } catch (error) {
    return convert(error);
  }
}

function configInvalid(message: string): TesseraError {
  return new TesseraError('CONFIG_INVALID', message);
}
