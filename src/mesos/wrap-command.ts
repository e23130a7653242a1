/** How a wrapped command starts `tessera exec`. */
export interface WrapCommandOptions {
  /** The `tessera` program on the agent: a name looked up in PATH, or an absolute path. */
  tessera: string;
}

/** The default `tessera` program: looked up in the task's PATH. */
export const DEFAULT_TESSERA_PROGRAM = 'tessera';

/**
 * Quotes `text` as one POSIX shell word. Single quotes keep every byte literal, and a
 * single quote inside is written as `'\''`.
 */
export function shellQuote(text: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(text)) {
    return text;
  }
  return `'${text.replaceAll("'", "'\\''")}'`;
}

/**
 * Wraps a shell command so that it still runs under `/bin/sh -c`, as before, but inside
 * `tessera exec`. The outer shell only starts `tessera exec` (through `exec`, so signals
 * reach it directly), and the original text is expanded by the inner shell, which sees
 * the delivered secrets.
 */
export function wrapShellCommand(command: string, options: WrapCommandOptions): string {
  return `exec ${shellQuote(options.tessera)} exec -- /bin/sh -c ${shellQuote(command)}`;
}

/** Wraps an argv (program first) as `tessera exec -- ARGV`. */
export function wrapArgv(argv: readonly string[], options: WrapCommandOptions): string[] {
  return [options.tessera, 'exec', '--', ...argv];
}

// One shell word as `shellQuote` writes it: bare, or quoted pieces joined by `\'`.
const QUOTED_WORD = String.raw`(?:[A-Za-z0-9_@%+=:,./-]+|'[^']*'(?:\\''[^']*')*)`;
const WRAPPED_SHELL_COMMAND = new RegExp(`^exec ${QUOTED_WORD} exec -- /bin/sh -c `);

/**
 * Tells whether `command` is a shell command that `wrapShellCommand` wrote, whatever the
 * `tessera` program was.
 */
export function isWrappedShellCommand(command: string): boolean {
  return WRAPPED_SHELL_COMMAND.test(command);
}

/** Tells whether `argv` is one that `wrapArgv` wrote, whatever the `tessera` program was. */
export function isWrappedArgv(argv: readonly string[]): boolean {
  return argv.length > 3 && argv[1] === 'exec' && argv[2] === '--';
}
