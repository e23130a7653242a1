import { type Command, InvalidArgumentError, Option } from 'commander';
import { parseDuration } from '../access/duration.ts';
import {
  createToken,
  lookupToken,
  renewToken,
  revokeToken,
  type TokenLookup,
  type TokenResponse,
} from '../client/access.ts';
import { isTesseraError } from '../errors.ts';
import { addressOption, clientFor, formatOption, printJson, printTable } from './context.ts';
import { wholeNumber } from './put.ts';

const DURATIONS =
  'Durations are a whole number of seconds, or one with a unit s, m, h or d\n' +
  '(90, 30s, 15m, 1h30m, 7d).';

const CREATE_HELP = `
${DURATIONS}
The new token is a child of the token in use: revoking that token revokes it too, and
its policies must be among that token's unless it has the root policy.

Examples:
  tessera token create --policy web --ttl 1h --max-ttl 24h
  tessera token create --policy web --policy db --uses 5 --format json
`;

/** Registers `tessera token create|lookup|renew|revoke`. */
export function registerToken(program: Command) {
  const token = program
    .command('token')
    .summary('create, inspect, renew and revoke tokens')
    .enablePositionalOptions();

  token
    .command('create')
    .summary('create a token and print it')
    .addOption(
      new Option('--policy <name>', 'a policy of the new token; repeat for more')
        .argParser(collect)
        .default([], "the token in use's policies"),
    )
    .addOption(
      durationOption('--ttl <duration>', 'lifetime; renewal extends it (default: no expiry)'),
    )
    .addOption(
      durationOption('--max-ttl <duration>', 'longest lifetime from creation, renewals included'),
    )
    .addOption(
      new Option('--uses <n>', 'requests the token may make (default: unlimited)').argParser(
        wholeNumber,
      ),
    )
    .option('--renewable', 'allow renewal (the default)')
    .option('--no-renewable', 'forbid renewal')
    .option('--orphan', 'create the token without a parent (needs the root policy)')
    .addOption(
      new Option('--meta <key=value>', 'a label stored with the token; repeat for more')
        .argParser(collect)
        .default([], 'none'),
    )
    .addOption(addressOption())
    .addOption(formatOption())
    .addHelpText('after', CREATE_HELP)
    .action(async (options) => {
      const created = await createToken(clientFor(options), {
        policies: options.policy.length > 0 ? options.policy : undefined,
        ttl: options.ttl,
        explicit_max_ttl: options.maxTtl,
        num_uses: options.uses,
        renewable: options.renewable,
        no_parent: options.orphan,
        meta: options.meta.length > 0 ? parseMeta(options.meta) : undefined,
      });
      printCreated(created, options.format);
    });

  token
    .command('lookup')
    .summary('show the token in use, or another by accessor')
    .option('--accessor <accessor>', 'the token to show (needs admin on sys/tokens/<accessor>)')
    .addOption(addressOption())
    .addOption(formatOption())
    .action(async (options) => {
      const info = await lookupToken(clientFor(options), options.accessor);
      if (options.format === 'json') return printJson(info);
      printLookup(info);
    });

  token
    .command('renew')
    .summary('extend the lifetime of the token in use')
    .addOption(
      durationOption('--increment <duration>', 'new lifetime from now (default: the token TTL)'),
    )
    .addOption(addressOption())
    .addOption(formatOption())
    .addHelpText('after', `\n${DURATIONS}\n\nExample:\n  tessera token renew --increment 1h\n`)
    .action(async (options) => {
      const renewed = await renewToken(clientFor(options), options.increment);
      printWarnings(renewed.warnings);
      if (options.format === 'json') return printJson(renewed);
      const { auth } = renewed;
      process.stdout.write(`renewed token ${auth.accessor}; it expires ${auth.expire_time}\n`);
    });

  token
    .command('revoke')
    .summary('revoke the token in use, or another by accessor, with its descendants')
    .option('--accessor <accessor>', 'the token to revoke (needs admin on sys/tokens/<accessor>)')
    .addOption(addressOption())
    .action(async (options) => {
      await revokeToken(clientFor(options), options.accessor);
      const which = options.accessor ? `token ${options.accessor}` : 'the token in use';
      process.stdout.write(`revoked ${which} and its descendants\n`);
    });
}

function durationOption(flags: string, description: string): Option {
  return new Option(flags, description).argParser((value: string) => {
    try {
      return parseDuration(value, flags.split(' ')[0] ?? flags);
    } catch (error) {
      if (!isTesseraError(error)) throw error;
      throw new InvalidArgumentError(error.message);
    }
  });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function parseMeta(pairs: string[]): Record<string, string> {
  const meta: Record<string, string> = {};
  for (const pair of pairs) {
    const equals = pair.indexOf('=');
    if (equals <= 0) {
      throw new InvalidArgumentError(`--meta takes key=value; got an entry without a key`);
    }
    meta[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  return meta;
}

function printCreated(created: TokenResponse, format: string) {
  const { auth } = created;
  printWarnings(created.warnings);
  if (format === 'json') {
    return printJson({
      token: auth.client_token,
      accessor: auth.accessor,
      policies: auth.policies,
      expire_time: auth.expire_time,
      ttl: auth.lease_duration,
      renewable: auth.renewable,
      num_uses: auth.num_uses,
      orphan: auth.orphan,
    });
  }
  printTable([
    ['token', auth.client_token ?? ''],
    ['token_accessor', auth.accessor],
    ['token_policies', auth.policies.join(', ')],
    ['token_expire_time', auth.expire_time ?? 'never'],
    ['token_renewable', String(auth.renewable)],
    ['token_uses', auth.num_uses === 0 ? 'unlimited' : String(auth.num_uses)],
  ]);
}

function printLookup(info: TokenLookup) {
  printTable([
    ['accessor', info.accessor],
    ['policies', info.policies.join(', ')],
    ['issue_time', info.issue_time],
    ['expire_time', info.expire_time ?? 'never'],
    ['ttl', `${info.ttl}s`],
    ['explicit_max_ttl', `${info.explicit_max_ttl}s`],
    ['uses_remaining', info.uses_remaining === null ? 'unlimited' : String(info.uses_remaining)],
    ['renewable', String(info.renewable)],
    ['parent_accessor', info.parent_accessor ?? '(none)'],
    ...Object.entries(info.meta).map(([key, value]): [string, string] => [`meta.${key}`, value]),
  ]);
}

function printWarnings(warnings: string[]) {
  for (const warning of warnings) process.stderr.write(`warning: ${warning}\n`);
}
