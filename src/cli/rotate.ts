import { type Command, Option } from 'commander';
import type { TesseraClient } from '../client/client.ts';
import { TesseraError } from '../errors.ts';
import { parseSecretPath } from '../store/path.ts';
import { addressOption, clientFor, formatOption, printJson, printTable } from './context.ts';

type Data<T> = { data: T };
type Stages = { current: number | null; previous: number | null; pending: number | null };
type RotationEvent = { time: string; outcome: string; step: string | null; message: string };

const POLICY_HELP = `
Example:
  tessera rotation set db/app --interval 30d --generator password --length 32 \\
    --exclude "'\\"\\\\" -- /usr/local/bin/rotate-postgres.sh

The hook runs without a shell, once per step (create, set, test, finish), and reads a
JSON description of the step on stdin; it never gets the value on its command line.
`;

/**
 * Registers `tessera rotate`, `tessera rotation set|show|delete`, `tessera promote`,
 * `tessera rollback` and `tessera history`.
 */
export function registerRotation(program: Command): void {
  program
    .command('rotate')
    .summary('rotate a secret now by its rotation policy')
    .argument('<path>', 'secret path')
    .addOption(addressOption())
    .action(async (path: string, options) => {
      const route = `/v1/tessera/rotate/${encodePath(path)}`;
      const { data } = await clientFor(options).request<Data<RotationEvent>>('POST', route, {});
      if (data.outcome !== 'succeeded') {
        throw new TesseraError(
          'INTERNAL',
          `rotation of ${path} failed in step ${data.step}: ${data.message}; ` +
            `see tessera history ${path}`,
        );
      }
      process.stdout.write(`rotated ${path}: ${data.message}\n`);
    });

  registerPolicyCommands(program.command('rotation').summary('manage rotation policies'));

  program
    .command('promote')
    .summary('make the pending version (or --version N) current')
    .argument('<path>', 'secret path')
    .addOption(new Option('--version <n>', 'version to promote').env('TESSERA_VERSION'))
    .addOption(addressOption())
    .action(async (path: string, options) => {
      const version = options.version === undefined ? undefined : versionOf(options.version);
      await moveStage(clientFor(options), 'promote', path, { version });
    });

  program
    .command('rollback')
    .summary('make a kept version current again')
    .argument('<path>', 'secret path')
    .addOption(
      new Option('--version <n>', 'version to make current')
        .env('TESSERA_VERSION')
        .makeOptionMandatory(),
    )
    .addOption(addressOption())
    .action(async (path: string, options) => {
      await moveStage(clientFor(options), 'rollback', path, {
        version: versionOf(options.version),
      });
    });

  program
    .command('history')
    .summary('show versions, stage labels and rotation outcomes of a secret')
    .argument('<path>', 'secret path')
    .addOption(formatOption())
    .addOption(addressOption())
    .action(async (path: string, options) => {
      const route = `/v1/tessera/history/${encodePath(path)}`;
      const { data } = await clientFor(options).request<Data<History>>('GET', route);
      if (options.format === 'json') printJson(data);
      else printHistory(data);
    });
}

function registerPolicyCommands(rotation: Command): void {
  rotation
    .command('set')
    .summary('set the rotation policy of a secret')
    .argument('<path>', 'secret path')
    .argument('[hook...]', 'hook command and arguments, after --')
    .addOption(
      new Option('--interval <duration>', 'rotate every duration, e.g. 30d').env(
        'TESSERA_ROTATION_INTERVAL',
      ),
    )
    .addOption(
      new Option('--cron <expression>', 'rotate at times of a 5-field cron expression (UTC)').env(
        'TESSERA_ROTATION_CRON',
      ),
    )
    .addOption(
      new Option('--generator <type>', 'generator; none: the hook writes the value')
        .choices(['password', 'bytes', 'keypair', 'none'])
        .default('password')
        .env('TESSERA_GENERATOR'),
    )
    .addOption(
      new Option('--length <n>', 'password characters or random bytes').env(
        'TESSERA_GENERATOR_LENGTH',
      ),
    )
    .addOption(
      new Option('--classes <list>', 'password classes: lower,upper,digits,symbols').env(
        'TESSERA_GENERATOR_CLASSES',
      ),
    )
    .addOption(
      new Option('--exclude <chars>', 'characters a password never contains').env(
        'TESSERA_GENERATOR_EXCLUDE',
      ),
    )
    .addOption(
      new Option('--encoding <encoding>', 'random bytes encoding')
        .choices(['hex', 'base64'])
        .env('TESSERA_GENERATOR_ENCODING'),
    )
    .addOption(
      new Option('--algorithm <name>', 'key pair algorithm')
        .choices(['ed25519', 'ecdsa-p256', 'rsa-2048', 'rsa-4096'])
        .env('TESSERA_GENERATOR_ALGORITHM'),
    )
    .addOption(
      new Option('--hook-timeout <seconds>', 'time limit of each hook step, in seconds').env(
        'TESSERA_HOOK_TIMEOUT',
      ),
    )
    .addOption(addressOption())
    .addHelpText('after', POLICY_HELP)
    .action(async (path: string, hook: string[], options) => {
      const policy = policyFromFlags(hook, options);
      const route = `/v1/tessera/rotation/${encodePath(path)}`;
      const { data } = await clientFor(options).request<Data<{ next_run_time: string | null }>>(
        'PUT',
        route,
        policy,
      );
      process.stdout.write(`rotation policy of ${path} set; next run ${data.next_run_time}\n`);
    });

  rotation
    .command('show')
    .summary('show the rotation policy and state of a secret')
    .argument('<path>', 'secret path')
    .addOption(addressOption())
    .action(async (path: string, options) => {
      const route = `/v1/tessera/rotation/${encodePath(path)}`;
      const { data } = await clientFor(options).request<Data<unknown>>('GET', route);
      printJson(data);
    });

  rotation
    .command('delete')
    .summary('remove the rotation policy of a secret')
    .argument('<path>', 'secret path')
    .addOption(addressOption())
    .action(async (path: string, options) => {
      await clientFor(options).request('DELETE', `/v1/tessera/rotation/${encodePath(path)}`);
      process.stdout.write(`rotation policy of ${path} removed\n`);
    });
}

type Flags = Record<string, string | undefined>;

function policyFromFlags(hook: string[], options: Flags): Record<string, unknown> {
  if ((options.interval === undefined) === (options.cron === undefined)) {
    throw new TesseraError('INVALID_ARGUMENT', 'give exactly one of --interval and --cron');
  }
  const schedule = options.interval ? { interval: options.interval } : { cron: options.cron };
  const policy: Record<string, unknown> = { schedule };
  if (options.generator !== 'none') policy.generator = generatorFromFlags(options);
  if (hook.length > 0) {
    const timeout = options.hookTimeout;
    policy.hook = {
      command: hook,
      ...(timeout === undefined ? {} : { timeout_seconds: numberOf(timeout, '--hook-timeout') }),
    };
  }
  return policy;
}

function generatorFromFlags(options: Flags): Record<string, unknown> {
  const generator: Record<string, unknown> = { type: options.generator };
  if (options.length !== undefined) generator.length = numberOf(options.length, '--length');
  if (options.classes !== undefined) generator.classes = options.classes.split(',');
  if (options.exclude !== undefined) generator.exclude = options.exclude;
  if (options.encoding !== undefined) generator.encoding = options.encoding;
  if (options.algorithm !== undefined) generator.algorithm = options.algorithm;
  return generator;
}

async function moveStage(
  client: TesseraClient,
  action: 'promote' | 'rollback',
  path: string,
  body: { version?: number },
): Promise<void> {
  const route = `/v1/tessera/${action}/${encodePath(path)}`;
  const { data } = await client.request<Data<{ stages: Stages }>>('POST', route, body);
  const { current, previous } = data.stages;
  process.stdout.write(`${path}: current is version ${current}, previous ${previous ?? 'none'}\n`);
}

type History = {
  stages: Stages;
  versions: { version: number; created_time: string; author: string; stages: string[] }[];
  rotation: { next_run_time: string | null; step: string; events: RotationEvent[] } | null;
};

function printHistory(data: History): void {
  const rows: [string, string][] = data.versions.map((version) => [
    `version ${version.version}`,
    `${version.created_time}  ${version.author}  ${version.stages.join(',')}`,
  ]);
  if (data.rotation) {
    rows.push(['rotation step', data.rotation.step]);
    rows.push(['next run', data.rotation.next_run_time ?? 'never']);
    for (const event of data.rotation.events) {
      const step = event.step === null ? '' : ` in ${event.step}`;
      rows.push([event.time, `${event.outcome}${step}: ${event.message}`]);
    }
  }
  printTable(rows);
}

function encodePath(path: string): string {
  return parseSecretPath(path).split('/').map(encodeURIComponent).join('/');
}

function versionOf(text: string): number {
  return numberOf(text, '--version');
}

function numberOf(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new TesseraError('INVALID_ARGUMENT', `${flag} takes a whole number of 1 or more`);
  }
  return value;
}
