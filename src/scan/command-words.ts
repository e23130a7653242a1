import { posix } from 'node:path';
import type { Word } from './shell.ts';

const SHELLS = new Set(['sh', 'bash', 'dash', 'ksh', 'zsh', 'ash']);
const PREFIXES = new Set(['exec', 'nohup', 'time', 'command']);

/** How many levels deep `sh -c 'sh -c ...'` is followed. */
export const MAX_NESTED_SHELLS = 3;

/** Returns the program of a command's words without its directory: `sh` for `/bin/sh`. */
export function programName(words: readonly Word[]): string {
  return posix.basename(words[0]?.text ?? '');
}

/** Tells whether `program` is a POSIX shell that takes `-c COMMAND`. */
export function isShell(program: string): boolean {
  return SHELLS.has(program);
}

/**
 * Returns the words of a simple command from its program on. It skips leading
 * assignments (`A=b cmd`), prefixes such as `exec`, and `tessera exec [OPTIONS] --`,
 * which runs the command after `--` with the task's secrets in place, as `tessera wrap`
 * writes it.
 */
export function programWords(words: readonly Word[]): Word[] {
  let start = 0;
  while (start < words.length) {
    const word = words[start] as Word;
    if (/^[A-Za-z_]\w*=/.test(word.raw) || PREFIXES.has(word.text)) {
      start += 1;
      continue;
    }
    const wrapped = tesseraExecCommandStart(words, start);
    if (wrapped === undefined) break;
    start = wrapped;
  }
  return words.slice(start);
}

/**
 * Returns the index of the word that contains the command text of `sh -c TEXT`, in words
 * that start at the program, or undefined when the program is not a shell given `-c`.
 */
export function shellTextIndex(words: readonly Word[]): number | undefined {
  if (!isShell(programName(words))) return undefined;
  const option = words.findIndex(
    (word, position) => position > 0 && /^-[A-Za-z]*c[A-Za-z]*$/.test(word.text),
  );
  if (option === -1 || option + 1 >= words.length) return undefined;
  return option + 1;
}

// Returns the index after the `--` of `tessera exec ... --` at `start`. Without `--`,
// `tessera exec` runs the task file's command, which the words do not show.
function tesseraExecCommandStart(words: readonly Word[], start: number): number | undefined {
  if (programName(words.slice(start)) !== 'tessera' || words[start + 1]?.text !== 'exec') {
    return undefined;
  }
  const separator = words.findIndex((word, index) => index > start + 1 && word.text === '--');
  return separator === -1 ? undefined : separator + 1;
}
