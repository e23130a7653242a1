import { type Command, Option } from 'commander';
import { TesseraError } from '../errors.ts';
import { DEFAULT_MAX_VERSIONS } from '../store/store.ts';
import { missingFieldMessage, textFields } from '../text.ts';
import {
  addressOption,
  clientFor,
  formatOption,
  printable,
  printJson,
  printTable,
} from './context.ts';
import { wholeNumber } from './put.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Registers `tessera get`, `tessera list` and `tessera metadata`. */
export function registerRead(program: Command) {
  program
    .command('get')
    .summary('read a version of a secret')
    .argument('<path>', 'secret path')
    .option('--field <name>', "print only this field's bytes, exactly as stored")
    .addOption(
      new Option('--version <n>', 'read this version instead of the current one').argParser(
        wholeNumber,
      ),
    )
    .addOption(addressOption())
    .addOption(formatOption())
    .addHelpText(
      'after',
      '\nExamples:\n  tessera get billing/db\n  tessera get billing/db --field password > password.txt\n',
    )
    .action(async (path: string, options) => {
      const secret = await clientFor(options).read(path, options.version || undefined);
      if (options.field !== undefined) return printField(path, secret.fields, options.field);

      if (options.format === 'json') {
        return printJson({
          path: secret.path,
          ...secret.metadata,
          data: jsonFields(path, secret.fields),
        });
      }
      process.stdout.write(
        `${secret.path}  version ${secret.metadata.version}${createdNote(secret.metadata.created_time)}\n`,
      );
      printTable(
        Object.entries(secret.fields).map(([name, bytes]) => [name, display(name, bytes)]),
      );
    });

  program
    .command('list')
    .summary('list the secrets and folders under a prefix')
    .argument('[prefix]', 'folder to list, e.g. billing/', '')
    .addOption(addressOption())
    .addOption(formatOption())
    .action(async (prefix: string, options) => {
      const keys = await clientFor(options).list(prefix);
      if (options.format === 'json') return printJson(keys);
      for (const key of keys) process.stdout.write(`${key}\n`);
    });

  program
    .command('metadata')
    .summary("show a secret's versions and settings")
    .argument('<path>', 'secret path')
    .addOption(addressOption())
    .addOption(formatOption())
    .action(async (path: string, options) => {
      const metadata = (await clientFor(options).metadata(path)) as unknown as VaultMetadata;
      if (options.format === 'json') return printJson(metadata);
      printMetadata(path, metadata);
    });
}

interface VaultMetadata {
  current_version: number;
  oldest_version: number;
  max_versions: number;
  cas_required: boolean;
  created_time: string;
  updated_time: string;
  custom_metadata: Record<string, string> | null;
  versions: Record<string, { created_time: string; deletion_time: string; destroyed: boolean }>;
}

function printMetadata(path: string, metadata: VaultMetadata) {
  printTable([
    ['path', path],
    ['current_version', String(metadata.current_version)],
    ['oldest_version', String(metadata.oldest_version)],
    [
      'max_versions',
      metadata.max_versions === 0
        ? `${DEFAULT_MAX_VERSIONS} (default)`
        : String(metadata.max_versions),
    ],
    ['cas_required', String(metadata.cas_required)],
    ['created_time', metadata.created_time],
    ['updated_time', metadata.updated_time],
  ]);
  for (const [key, value] of Object.entries(metadata.custom_metadata ?? {})) {
    process.stdout.write(`custom_metadata.${printable(key)}  ${printable(value)}\n`);
  }
  process.stdout.write('\nversion  created                   state\n');
  for (const [version, info] of Object.entries(metadata.versions)) {
    const state = info.destroyed
      ? 'destroyed'
      : info.deletion_time
        ? `deleted ${info.deletion_time}`
        : 'live';
    process.stdout.write(`${version.padEnd(7)}  ${info.created_time.padEnd(24)}  ${state}\n`);
  }
}

function printField(path: string, fields: Record<string, Buffer>, field: string) {
  const bytes = Object.hasOwn(fields, field) ? fields[field] : undefined;
  if (!bytes) {
    throw new TesseraError('NOT_FOUND', missingFieldMessage(path, field, fields));
  }
  process.stdout.write(bytes);
  // A terminal gets a newline so the prompt does not run on; a pipe gets the exact bytes.
  if (process.stdout.isTTY && !bytes.toString('latin1').endsWith('\n')) process.stdout.write('\n');
}

function display(name: string, bytes: Buffer): string {
  try {
    return JSON.stringify(utf8.decode(bytes));
  } catch {
    return `<${bytes.length} bytes, not UTF-8; use --field ${name}>`;
  }
}

function jsonFields(path: string, fields: Record<string, Buffer>): Record<string, string> {
  return textFields(
    fields,
    (name) =>
      new TesseraError(
        'NOT_UTF8',
        `field '${name}' of '${path}' is not UTF-8 text, so JSON output cannot hold it; use --field ${name}`,
      ),
  );
}

// Backends such as a secrets file have no creation time.
function createdNote(createdTime: string): string {
  return createdTime ? `  created ${createdTime}` : '';
}
