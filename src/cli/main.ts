import { Command, CommanderError } from 'commander';
import { isTesseraError } from '../errors.ts';
import { packageVersion } from '../version.ts';
import { commandsFor, type RegisterCommands } from './command-groups.ts';
import {
  BOOLEAN_VARIABLE_VALUES,
  readEnvironmentByValue,
  skipEmptyVariables,
} from './env-flags.ts';
import { withoutOptionValue } from './usage-errors.ts';

// Exit statuses, as in Vault's CLI: 1 for a usage error, 2 for a failure.
const EXIT_USAGE = 1;
const EXIT_FAILURE = 2;

const HELP = `
Environment:
  TESSERA_ADDR        server URL (default http://127.0.0.1:8210)
  TESSERA_TOKEN       token; else the file TESSERA_TOKEN_FILE (default ~/.tessera-token)

Each option's variable (shown in its command's help) counts as unset when empty. The
variable of an option without a value takes ${BOOLEAN_VARIABLE_VALUES}.

Start with 'tessera server --dev', then 'tessera put', 'tessera get', 'tessera exec'.
`;

/** Builds the `tessera` command with the given groups of subcommands. */
export function buildProgram(groups: readonly RegisterCommands[]): Command {
  const program = new Command('tessera')
    .description('Tessera: secrets for Apache Mesos tasks')
    .version(packageVersion(), '-V, --version')
    .addHelpText('after', HELP)
    .showHelpAfterError('(run with --help for usage)')
    .enablePositionalOptions()
    .exitOverride()
    // Subcommands copy this setting when they are added, so it comes before them.
    .configureOutput({ outputError: (text, write) => write(withoutOptionValue(text)) });

  readEnvironmentByValue(program);
  for (const register of groups) register(program);
  skipEmptyVariables(program);
  return program;
}

/** Runs the CLI and sets the exit status; errors become one line on stderr. */
export async function main(argv: string[]) {
  // A reader that stops early (`| head`) is not an error of ours. A command that handles
  // write errors itself, as `tessera exec` does to stop its command and clean up, adds a
  // listener. Then this handler leaves every error to it, because a full disk under the
  // sandbox's stdout file must not crash exec and leave the secret files behind.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (process.stdout.listenerCount('error') > 1) return;
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  // Diagnostics that cannot be written (their reader has gone, the disk is full) are
  // dropped, and the command goes on, so that `tessera exec` still removes its files.
  process.stderr.on('error', () => undefined);
  try {
    const program = buildProgram(await commandsFor(argv.slice(2)));
    await program.parseAsync(argv);
  } catch (error) {
    process.exitCode = report(error);
  }
}

function report(error: unknown): number {
  if (error instanceof CommanderError) {
    // Commander has printed its message already; help and version exit 0.
    return error.exitCode === 0 ? 0 : EXIT_USAGE;
  }
  if (isTesseraError(error)) {
    process.stderr.write(`tessera: ${error.message}\n`);
    // A failure that a shell reports with a status of its own, such as 127 for a command
    // that does not exist, carries that status.
    const status = error.details?.exitStatus;
    return typeof status === 'number' ? status : EXIT_FAILURE;
  }
  // An unexpected error is a bug; its message may quote input, so print only its type.
  const name = error instanceof Error ? error.name : typeof error;
  process.stderr.write(
    `tessera: internal error (${name}); run with NODE_DEBUG=tessera for the stack\n`,
  );
  if (process.env.NODE_DEBUG?.includes('tessera')) console.error(error);
  return EXIT_FAILURE;
}

await main(process.argv);
