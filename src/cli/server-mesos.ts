import { readFile } from 'node:fs/promises';
import { type Command, Option } from 'commander';
import { formatDuration, parseDuration } from '../access/duration.ts';
import { TesseraError } from '../errors.ts';
import { MESOS_FOLLOW_DEFAULTS, type MesosFollowConfig } from '../server/mesos-follow.ts';

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
        'how long after its start a Mesos task may still log in, as in 10m',
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
  taskLoginWindow: string;
  trustProxy?: string;
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
    authorization: await authorization(flags.mesosPrincipal, flags.mesosSecretFile),
    loginWindowSeconds: loginWindow(flags.taskLoginWindow),
    connectTimeoutMs: MESOS_FOLLOW_DEFAULTS.connectTimeoutMs,
  };
}

/** Splits `--trust-proxy` into the addresses Fastify trusts, or undefined when unset. */
export function trustedProxies(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const addresses = text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (addresses.length === 0) throw configInvalid('--trust-proxy names no address');
  return addresses;
}

function masterUrl(text: string, index: number): URL {
  const url = URL.canParse(text) ? new URL(text) : undefined;
  const which = `URL ${index + 1} of --mesos-master`;
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:') {
    throw configInvalid(`${which} is not an http or https URL, such as http://master.example:5050`);
  }
  if (url.username !== '' || url.password !== '') {
    throw configInvalid(
      `${which} holds a user or password; give the principal with --mesos-principal and its password in --mesos-secret-file`,
    );
  }
  return url;
}

async function authorization(
  principal: string | undefined,
  secretFile: string | undefined,
): Promise<string | undefined> {
  if (principal === undefined && secretFile === undefined) return undefined;
  if (principal === undefined || secretFile === undefined) {
    throw configInvalid('--mesos-principal and --mesos-secret-file go together; give both');
  }
  // HTTP Basic separates the user from the password with the first colon.
  if (principal === '' || principal.includes(':')) {
    throw configInvalid('--mesos-principal must be non-empty and hold no colon (:)');
  }
  let secret: string;
  try {
    secret = (await readFile(secretFile, 'utf8')).replace(/\r?\n$/, '');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw configInvalid(
      `could not read --mesos-secret-file ${secretFile} (${code}); check the path`,
    );
  }
  if (secret === '') throw configInvalid(`--mesos-secret-file ${secretFile} is empty`);
  return `Basic ${Buffer.from(`${principal}:${secret}`).toString('base64')}`;
}

function loginWindow(text: string): number {
  const seconds = parseDuration(text, '--task-login-window');
  if (seconds < 10) throw configInvalid('--task-login-window must be at least 10s');
  return seconds;
}

function configInvalid(message: string): TesseraError {
  return new TesseraError('CONFIG_INVALID', message);
}
