import { MAX_NESTED_SHELLS, programName, programWords, shellTextIndex } from './command-words.ts';
import type { Detection } from './finding.ts';
import { checkNamedValue } from './named-value.ts';
import { parseCommands, type Word } from './shell.ts';
import { credentialUrlTexts } from './urls.ts';
import { textDetections, valueFormDetections } from './value-forms.ts';

// `NAME=value`, `-Dname=value`, `-name=value` and `--name=value`.
const ASSIGNMENT = /^(-D|--?)?([A-Za-z_][\w.-]*)=([\s\S]*)$/;
// `--name value`, and `-name value` as Java and Go programs write long options.
const LONG_OPTION = /^--?([A-Za-z][\w.-]+)$/;
const ENV_OPTIONS = new Set(['-e', '--env']);
const SETTING_OPTIONS = new Set(['--conf', '-c', '--config', '--set']);

// Options of common clients that take a password, or `user:password`, as their value. A
// Map, because the program name comes from the input and may be `__proto__`.
const PASSWORD_OPTIONS = new Map<string, Set<string>>([
  ['curl', new Set(['-u', '--user', '--proxy-user'])],
  ['redis-cli', new Set(['-a', '--pass'])],
  ['sshpass', new Set(['-p'])],
  ['ldapsearch', new Set(['-w'])],
  ['ldapmodify', new Set(['-w'])],
  ['ldapadd', new Set(['-w'])],
]);

// MySQL's clients take the password glued to `-p`: `mysql -pSECRET`.
const GLUED_PASSWORD_PROGRAMS = new Set(['mysql', 'mysqldump', 'mysqladmin', 'mysqlimport']);

// A detection of the name rule and the value it reports, so that the value-form rule
// can skip that value.
interface NamedDetection {
  detection: Detection;
  value: string;
}

/**
 * Reports the secrets that a command line shows to every local user through the process
 * list: URLs with passwords, options or assignments whose names look secret
 * (`-Dname=value`, `--conf name=value`, `-e NAME=value`, `--name=value`, `--name value`),
 * and values that their form gives away. The text of `sh -c TEXT` is read as a command
 * line of its own. Every detection gets `location`. `reported` lists values that another
 * rule reported at `location`, which the value-form rule skips.
 */
export function commandLineDetections(
  text: string,
  location: string,
  reported: readonly string[] = [],
): Detection[] {
  const locate = () => location;
  const named = parseCommands(text).flatMap((command) =>
    wordListDetections(command.words, locate, 0),
  );
  return [
    ...textDetections(text, location, [...reported, ...named.map((found) => found.value)]),
    ...named.map((found) => found.detection),
  ];
}

/**
 * Checks a list of argument words, such as a Mesos CommandInfo's `arguments` or a
 * Marathon app's `args`. `locate` returns the location of the word at an index. URLs in
 * the words are left to the caller, which checks each word as a string.
 */
export function argumentDetections(
  words: readonly string[],
  locate: (index: number) => string,
): Detection[] {
  const named = wordListDetections(
    words.map((text) => ({ text, raw: text })),
    locate,
    0,
  );
  const forms = words.flatMap((word, index) => {
    const location = locate(index);
    const reported = named
      .filter((found) => found.detection.location === location)
      .map((found) => found.value);
    return valueFormDetections(word, location, [...reported, ...credentialUrlTexts(word)]);
  });
  return [...named.map((found) => found.detection), ...forms];
}

// Checks each word, except the TEXT of `sh -c TEXT`, whose commands are checked instead.
function wordListDetections(
  words: readonly Word[],
  locate: (index: number) => string,
  depth: number,
): NamedDetection[] {
  const program = programWords(words);
  const shellText = depth < MAX_NESTED_SHELLS ? shellTextIndex(program) : undefined;
  const nested = shellText === undefined ? -1 : words.length - program.length + shellText;
  const texts = words.map((word) => word.text);
  const detections = texts.flatMap((_, index) =>
    index === nested ? [] : (wordDetection(texts, index, locate, programName(program)) ?? []),
  );
  if (nested === -1) return detections;

  const locateNested = () => locate(nested);
  for (const command of parseCommands(texts[nested] as string)) {
    detections.push(...wordListDetections(command.words, locateNested, depth + 1));
  }
  return detections;
}

function wordDetection(
  words: readonly string[],
  index: number,
  locate: (index: number) => string,
  program: string,
): NamedDetection | undefined {
  const word = words[index] as string;
  const password = passwordOption(program, words, index, locate);
  if (password !== 'none') return password;
  const assignment = ASSIGNMENT.exec(word);
  if (assignment !== null) {
    const prefix = assignment[1];
    const name = assignment[2] as string;
    const value = assignment[3] as string;
    // `--env=NAME=value`, as docker run takes it.
    if (prefix === '--' && name === 'env' && ASSIGNMENT.test(value)) {
      return wordDetection(['-e', value], 1, () => locate(index), program);
    }
    const label = describeAssignment(prefix, words[index - 1]);
    return checkNamed(name, value, locate(index), label);
  }

  const option = LONG_OPTION.exec(word);
  const next = words[index + 1];
  if (option?.[1] === undefined || next === undefined || next.startsWith('-')) return undefined;
  return checkNamed(option[1], next, locate(index + 1), 'option');
}

// Checks the value of a client's password option; 'none' when the word is not one.
function passwordOption(
  program: string,
  words: readonly string[],
  index: number,
  locate: (index: number) => string,
): NamedDetection | undefined | 'none' {
  const word = words[index] as string;
  if (GLUED_PASSWORD_PROGRAMS.has(program) && /^-p./.test(word)) {
    return checkNamed('password', word.slice(2), locate(index), `${program} option -p`);
  }
  const next = words[index + 1];
  if (!PASSWORD_OPTIONS.get(program)?.has(word) || next === undefined) return 'none';
  // curl's `-u user:password`: only the part after the first colon is secret.
  let value = next;
  if (program === 'curl') {
    const colon = next.indexOf(':');
    value = colon === -1 ? '' : next.slice(colon + 1);
  }
  return checkNamed('password', value, locate(index + 1), `${program} option ${word}`);
}

function checkNamed(
  name: string,
  value: string,
  location: string,
  label: string,
): NamedDetection | undefined {
  const detection = checkNamedValue(name, value, location, label);
  return detection === undefined ? undefined : { detection, value };
}

function describeAssignment(prefix: string | undefined, previous: string | undefined): string {
  if (prefix === '-D') return 'JVM system property';
  if (prefix !== undefined) return 'option';
  if (previous !== undefined && ENV_OPTIONS.has(previous)) return 'environment variable';
  if (previous !== undefined && SETTING_OPTIONS.has(previous)) return 'setting';
  return 'variable';
}
