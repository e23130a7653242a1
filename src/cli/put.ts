import { readFile } from 'node:fs/promises';
import { text } from 'node:stream/consumers';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { TesseraError } from '../errors.ts';
import { emptyRecord } from '../records.ts';
import { addressOption, clientFor, formatOption, printJson } from './context.ts';

const HELP = `
Each argument is field=value, field=@FILE (the file's bytes, exactly), or field=-
(standard input's bytes). A lone - reads a JSON object of string fields from standard
input. Values typed on the command line are visible in 'ps' and shell history, so
prefer @FILE or - for real secrets.

Examples:
  tessera put billing/db username=billing password=@./db-password
  echo '{"token": "..."}' | tessera put ci/deploy -
`;

/** Registers `tessera put PATH field=value...`. */
export function registerPut(program: Command) {
  program
    .command('put')
    .summary('write a new version of a secret')
    .argument('<path>', 'secret path, e.g. billing/db')
    .argument('<fields...>', 'field=value, field=@FILE, field=-, or a lone -')
    .addOption(
      new Option(
        '--cas <version>',
        'write only if the current version is this (0: only if new)',
      ).argParser(wholeNumber),
    )
    .addOption(addressOption())
    .addOption(formatOption())
    .addHelpText('after', HELP)
    .action(async (path: string, args: string[], options) => {
      const fields = await parseFieldArgs(args);
      const written = await clientFor(options).write(path, fields, options.cas);
      if (options.format === 'json') return printJson({ path, ...written });
      process.stdout.write(`wrote ${path} version ${written.version}\n`);
      if (args.some((arg) => isInlineValue(arg))) {
        process.stderr.write(
          'note: values given on the command line can be read from ps and shell history; use field=@FILE or field=- next time\n',
        );
      }
    });
}

/** Turns `field=value`, `field=@file`, `field=-` and `-` arguments into field bytes. */
export async function parseFieldArgs(args: string[], stdin: NodeJS.ReadableStream = process.stdin) {
  if (args.length === 1 && args[0] === '-') return fieldsFromJson(await text(stdin));

  const fields = emptyRecord<Buffer>();
  let stdinUsed = false;
  for (const arg of args) {
    const equals = arg.indexOf('=');
    if (equals <= 0) {
      throw new TesseraError(
        'INVALID_ARGUMENT',
        `argument ${argumentNumber(args, arg)} is not field=value; write it as name=value, name=@FILE or name=-`,
      );
    }
    const name = arg.slice(0, equals);
    const value = arg.slice(equals + 1);
    if (Object.hasOwn(fields, name))
      throw new TesseraError('INVALID_ARGUMENT', `field '${name}' is given twice`);

    if (value === '-') {
      if (stdinUsed)
        throw new TesseraError(
          'INVALID_ARGUMENT',
          'only one field can be read from standard input',
        );
      stdinUsed = true;
      fields[name] = await bytesOf(stdin);
    } else if (value.startsWith('@')) {
      fields[name] = await readField(name, value.slice(1));
    } else {
      fields[name] = Buffer.from(value, 'utf8');
    }
  }
  return fields;
}

function isInlineValue(arg: string): boolean {
  const value = arg.slice(arg.indexOf('=') + 1);
  return arg !== '-' && value !== '-' && !value.startsWith('@');
}

// Names the argument by position: an argument that is not field=value may be a value typed
// without its name, and it must not be echoed.
function argumentNumber(args: string[], arg: string): string {
  return `${args.indexOf(arg) + 2}`;
}

async function readField(name: string, file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new TesseraError(
      'INVALID_ARGUMENT',
      `could not read ${file} for field '${name}' (${code})`,
    );
  }
}

async function bytesOf(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

function fieldsFromJson(input: string): Record<string, Buffer> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(input);
  } catch {
    // JSON.parse's message quotes the input, which is a secret here.
    throw new TesseraError(
      'INVALID_ARGUMENT',
      'standard input is not valid JSON; send an object such as {"password": "..."}',
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new TesseraError(
      'INVALID_ARGUMENT',
      'standard input must be a JSON object of field names to strings',
    );
  }
  const fields = emptyRecord<Buffer>();
  for (const [name, value] of Object.entries(parsed)) {
    if (typeof value !== 'string') {
      throw new TesseraError(
        'INVALID_ARGUMENT',
        `field '${name}' on standard input must be a string`,
      );
    }
    fields[name] = Buffer.from(value, 'utf8');
  }
  return fields;
}

/**
 * Returns a commander argument parser for a whole number from `min` to `max`. The usage
 * error names the range, and commander names the option.
 */
export function wholeNumberFrom(min: number, max: number): (value: string) => number {
  return (value) => {
    const number = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(number) || number < min || number > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `of ${min} or more` : `from ${min} to ${max}`;
      throw new InvalidArgumentError(`expected a whole number ${range}.`);
    }
    return number;
  };
}

/** Parses a whole number of 0 or more for an option. */
export const wholeNumber = wholeNumberFrom(0, Number.MAX_SAFE_INTEGER);
