import type { Command } from 'commander';
import { verifyAuditFile } from '../audit/verify.ts';
import { formatOption, printJson } from './context.ts';

// The CLI's exit status for a failure, as for every other command.
const EXIT_FAILURE = 2;

const VERIFY_HELP = `
Each FILE is an audit log written by 'tessera server': one JSON line per
request, each line containing the SHA-256 of the line before it. Give rotated
files as well, oldest first, to check the chain across them. The first edited,
removed, inserted, reordered, truncated or malformed line is printed with its
file and line number.

An edit of the very last line, or lines cut at a line end, change only the
last hash: compare it ('--format json', field lastHash) with a copy kept
elsewhere.

Exit status: 0 when the chain is intact, 2 when it is not or a file cannot
be read.

Example:
  tessera audit verify audit.log.2 audit.log.1 audit.log
`;

/** Registers `tessera audit verify FILE...`. */
export function registerAudit(program: Command) {
  const audit = program
    .command('audit')
    .summary('check the hash-chained audit log')
    .description('Check the audit log that Tessera writes for every authorised request.');

  audit
    .command('verify')
    .summary('check the hash chain of audit log files')
    .argument('<file...>', 'audit log files, oldest first')
    .addOption(formatOption())
    .addHelpText('after', VERIFY_HELP)
    .action(async (files: string[], options) => {
      const previous = files.slice(0, -1);
      const last = files.at(-1) ?? '';
      const result = await verifyAuditFile(last, { previous });
      if (!result.ok) process.exitCode = EXIT_FAILURE;

      if (options.format === 'json') return printJson(result);
      if (!result.ok) {
        process.stdout.write(`${result.file}: ${result.message}\n`);
        return;
      }
      process.stdout.write(`ok: ${result.lines} lines, chain intact\n`);
      if (result.note) process.stderr.write(`note: ${result.note}\n`);
    });
}
