import type { Detection } from './finding.ts';
import { checkNamedValue } from './named-value.ts';
import { parseCommands } from './shell.ts';
import { urlDetections } from './urls.ts';

// `NAME=value`, `-Dname=value`, `-name=value` and `--name=value`.
const ASSIGNMENT = /^(-D|--?)?([A-Za-z_][\w.-]*)=([\s\S]*)$/;
const LONG_OPTION = /^--([A-Za-z][\w.-]*)$/;
const ENV_OPTIONS = new Set(['-e', '--env']);
const SETTING_OPTIONS = new Set(['--conf', '-c', '--config', '--set']);

/**
 * Reports the secrets that a command line shows to every local user through the process
 * list: URLs with passwords, and options or assignments whose names look secret
 * (`-Dname=value`, `--conf name=value`, `-e NAME=value`, `--name=value`, `--name value`).
 * Every detection gets `location`.
 */
export function commandLineDetections(text: string, location: string): Detection[] {
  const words = parseCommands(text).map((command) => command.words.map((word) => word.text));
  return [
    ...urlDetections(text, location),
    ...words.flatMap((list) => argumentDetections(list, () => location)),
  ];
}

/**
 * Checks a list of argument words, such as a Mesos CommandInfo's `arguments` or a
 * Marathon app's `args`. `locate` returns the location of the word at an index.
 */
export function argumentDetections(
  words: readonly string[],
  locate: (index: number) => string,
): Detection[] {
  return words.flatMap((_, index) => wordDetection(words, index, locate) ?? []);
}

function wordDetection(
  words: readonly string[],
  index: number,
  locate: (index: number) => string,
): Detection | undefined {
  const word = words[index] as string;
  const assignment = ASSIGNMENT.exec(word);
  if (assignment !== null) {
    const prefix = assignment[1];
    const name = assignment[2] as string;
    const value = assignment[3] as string;
    const label = describeAssignment(prefix, words[index - 1]);
    return checkNamedValue(name, value, locate(index), label);
  }

  const option = LONG_OPTION.exec(word);
  const next = words[index + 1];
  if (option?.[1] === undefined || next === undefined || next.startsWith('-')) return undefined;
  return checkNamedValue(option[1], next, locate(index + 1), 'option');
}

function describeAssignment(prefix: string | undefined, previous: string | undefined): string {
  if (prefix === '-D') return 'JVM system property';
  if (prefix !== undefined) return 'option';
  if (previous !== undefined && ENV_OPTIONS.has(previous)) return 'environment variable';
  if (previous !== undefined && SETTING_OPTIONS.has(previous)) return 'setting';
  return 'variable';
}
