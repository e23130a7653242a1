import type { Command } from 'commander';
import type { SecretWrite } from '../client/client.ts';
import { TesseraError } from '../errors.ts';
import { referencePath } from '../mesos/secrets.ts';
import { parseSecretsFile, type SecretsFileEntry } from '../mesos/secrets-file.ts';
import { emptyRecord } from '../records.ts';
import { plural } from '../text.ts';
import { addressOption, clientFor, formatOption, printJson, readTextInput } from './context.ts';

const HELP = `
FILE is a Mesos-style secrets file: a JSON array of
  {"reference": {"name": "/billing/db", "key": "password"}, "value": {"data": "<base64>"}}
Each name becomes a secret path (one leading / dropped, then --prefix put in front),
each key a field (without key: the field 'value'). Every path in the file gets one new
version holding exactly the fields the file gives it. One invalid entry rejects the
whole file, and nothing is written.

Example:
  tessera import secrets.json --prefix prod/
`;

/** Registers `tessera import FILE`. */
export function registerImport(program: Command) {
  program
    .command('import')
    .summary('load a Mesos-style secrets file into the store')
    .argument('<file>', 'secrets file, or - for standard input')
    .option('--prefix <prefix>', 'path prefix for every secret, e.g. prod/', '')
    .addOption(addressOption())
    .addOption(formatOption())
    .addHelpText('after', HELP)
    .action(async (file: string, options) => {
      const source = file === '-' ? 'standard input' : file;
      const entries = parseSecretsFile(await readTextInput(file, 'the secrets file'), source);
      const writes = groupByPath(entries, options.prefix);
      const versions = await clientFor(options).writeBatch(writes);

      if (options.format === 'json') return printJson(versions);
      for (const v of versions) process.stdout.write(`${v.path}  version ${v.version}\n`);
      process.stderr.write(
        `imported ${plural(entries.length, 'entry', 'entries')} into ${plural(writes.length, 'secret', 'secrets')} from ${source}\n`,
      );
    });
}

/** Groups secrets-file entries into one write per path, with `prefix` put in front. */
export function groupByPath(entries: SecretsFileEntry[], prefix: string): SecretWrite[] {
  if (entries.length === 0) {
    throw new TesseraError(
      'INVALID_SECRETS_FILE',
      'the secrets file holds no entries; nothing to import',
    );
  }
  const cleanPrefix = prefix.replace(/^\/+/, '');
  const base = cleanPrefix === '' || cleanPrefix.endsWith('/') ? cleanPrefix : `${cleanPrefix}/`;
  const writes = new Map<string, SecretWrite>();
  for (const entry of entries) {
    const { path, field } = referencePath({ name: entry.name, key: entry.key });
    const fullPath = base + path;
    const write = writes.get(fullPath) ?? { path: fullPath, fields: emptyRecord<Buffer>() };
    write.fields[field] = entry.data;
    writes.set(fullPath, write);
  }
  return [...writes.values()];
}
