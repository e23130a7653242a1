import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { TesseraError } from '../errors.ts';
import { wrapDefinitionText } from '../mesos/wrap-definition.ts';
import { readUtf8Input } from './context.ts';

const HELP = `
Reads a Mesos TaskInfo, TaskGroupInfo, LAUNCH or LAUNCH_GROUP operation, ACCEPT call,
or Marathon app or pod definition, and writes one that runs on agents without secret
support. Secret references move into the TESSERA_SECRETS variable (references only),
the command runs through 'tessera exec', TESSERA_TASK_ID is set on Mesos tasks
(Marathon sets MESOS_TASK_ID itself), and every other field keeps its value and order.
Inline VALUE secrets are rejected unless --allow-inline-values. A definition
that already runs through 'tessera exec' keeps its command, and its new secrets
join its TESSERA_SECRETS. With --login-role, TESSERA_LOGIN_ROLE is set beside
TESSERA_SECRETS, and tessera exec logs in as the Mesos task instead of needing a
token (see docs/mesos.md).

Examples:
  tessera wrap launch.json > launch-wrapped.json
  tessera wrap --output app-wrapped.json app.json
  tessera wrap --tessera /opt/tessera/bin/tessera - < task.json
  tessera wrap --login-role billing app.json > app-wrapped.json
`;

/** Registers `tessera wrap FILE`. */
export function registerWrap(program: Command) {
  program
    .command('wrap')
    .summary('rewrite a task or Marathon definition to run through tessera exec')
    .argument('<file>', 'definition to wrap, or - for standard input')
    .option('-o, --output <file>', 'write the result to a file instead of standard output')
    .option('--tessera <program>', 'tessera program on the agent', 'tessera')
    .option(
      '--login-role <name>',
      'set TESSERA_LOGIN_ROLE, so that tessera exec logs in as the Mesos task under this login role',
    )
    .option(
      '--allow-inline-values',
      'move inline VALUE secrets too; they stay readable in the definition',
    )
    .addHelpText('after', HELP)
    .action(async (file: string, options) => {
      const source = file === '-' ? 'standard input' : file;
      const text = await readUtf8Input(file, 'the definition');
      const result = wrapDefinitionText(text, source, {
        tessera: options.tessera,
        allowInlineValues: options.allowInlineValues === true,
        loginRole: options.loginRole,
      });
      for (const warning of result.warnings)
        process.stderr.write(`tessera wrap: warning: ${warning}\n`);
      if (options.output === undefined) {
        process.stdout.write(result.text);
        return;
      }
      await writeOutput(options.output, result.text);
    });
}

async function writeOutput(file: string, text: string): Promise<void> {
  try {
    await writeFile(file, text, { mode: 0o644 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    const reason = WRITE_ERRORS[code] ?? 'check the path and its permissions';
    throw new TesseraError(
      'INVALID_ARGUMENT',
      `could not write the wrapped definition to ${file} (${code}); ${reason}`,
    );
  }
}

const WRITE_ERRORS: Record<string, string> = {
  ENOENT: 'its directory does not exist; create it or name a file in an existing directory',
  EISDIR: 'it is a directory; name a file to write, as in --output app-wrapped.json',
  EACCES: 'permission denied; name a file that you may write',
};
