import { printable, variableDisplayName } from '../mesos/secret-rules.ts';
import {
  isShell,
  MAX_NESTED_SHELLS,
  programName,
  programWords,
  shellTextIndex,
} from './command-words.ts';
import { changeDirectory, fileServer, isInside } from './file-servers.ts';
import type { Detection } from './finding.ts';
import { parseCommands, referencedVariables, type SimpleCommand, type Word } from './shell.ts';
import type { DefinitionCommand, TaskSecrets } from './task-secrets.ts';

const FILE_REDIRECTS = new Set(['>', '>>', '>|', '&>']);

/**
 * Reports the ways a command exposes the secrets its task receives by reference. Those
 * are echoing a secret variable into a file, dumping the environment (`env`, `printenv`,
 * `export -p`), shell tracing (`set -x`, `sh -x`), and serving a directory that contains
 * a secret file over HTTP. The variable rules apply only when the task has secret
 * variables.
 */
export function leakDetections(command: DefinitionCommand, secrets: TaskSecrets): Detection[] {
  return scanCommandText(command.text, command.location, secrets, 0);
}

function scanCommandText(
  text: string,
  location: string,
  secrets: TaskSecrets,
  depth: number,
): Detection[] {
  const detections: Detection[] = [];
  let directory: string | null = '';
  for (const command of parseCommands(text)) {
    const words = programWords(command.words);
    const program = programName(words);
    if (program === 'cd') directory = changeDirectory(directory, words[1]?.text ?? '~');
    if (secrets.variables.size > 0) {
      detections.push(...variableLeaks(command, words, location, secrets));
    }
    const nested = shellTextIndex(words);
    if (nested !== undefined && depth < MAX_NESTED_SHELLS) {
      const nestedText = (words[nested] as Word).text;
      detections.push(...scanCommandText(nestedText, location, secrets, depth + 1));
    }
    detections.push(...servedFiles(words, directory, secrets));
  }
  return detections;
}

function variableLeaks(
  command: SimpleCommand,
  words: Word[],
  location: string,
  secrets: TaskSecrets,
): Detection[] {
  const texts = words.map((word) => word.text);
  const program = programName(words);
  const names = [...secrets.variables].map(variableDisplayName).join(', ');
  const detections: Detection[] = [];
  if (isEnvironmentDump(program, texts)) {
    detections.push(
      leak(
        location,
        'environment-dump',
        `the command runs '${texts.join(' ')}' while secret variables (${names}) are set, which prints their values into the task's log; remove it, or print only the variables that are not secret`,
      ),
    );
  }
  const trace = traceOption(program, texts);
  if (trace !== undefined) {
    detections.push(
      leak(
        location,
        'shell-trace',
        `the command turns on shell tracing ('${program} ${trace}') while secret variables (${names}) are set, so the trace prints commands with their values into the task's log; remove it, or turn tracing off (set +x) around commands that use secrets`,
      ),
    );
  }
  const written = program === 'echo' || program === 'printf' ? echoedSecrets(words, secrets) : [];
  const target = command.redirects.find(
    (redirect) => FILE_REDIRECTS.has(redirect.operator) && redirect.target?.text !== '/dev/null',
  )?.target;
  if (written.length > 0 && target !== undefined) {
    detections.push(
      leak(
        location,
        'secret-written-to-file',
        `the command writes secret variable ${written.map(variableDisplayName).join(', ')} into the file ${printable(target.text)}, which stays readable in the sandbox; mount the secret as a file secret where the program expects it instead`,
      ),
    );
  }
  return detections;
}

function isEnvironmentDump(program: string, words: string[]): boolean {
  if (program === 'env' || program === 'printenv') return words.length === 1;
  return program === 'export' && (words.length === 1 || (words.length === 2 && words[1] === '-p'));
}

// Returns the option that turns tracing on (`-x`, `-ex`, `-o xtrace`), if any.
function traceOption(program: string, words: string[]): string | undefined {
  let options = words.slice(1);
  if (isShell(program)) {
    const end = options.findIndex((word) => !word.startsWith('-') || word === '--');
    options = options.slice(0, end === -1 ? undefined : end);
  } else if (program !== 'set') {
    return undefined;
  }
  const index = options.findIndex(
    (word, position) =>
      /^-[A-Za-wyz]*x[A-Za-z]*$/.test(word) ||
      (word === 'xtrace' && options[position - 1] === '-o'),
  );
  if (index === -1) return undefined;
  return options[index] === 'xtrace' ? '-o xtrace' : options[index];
}

function echoedSecrets(words: Word[], secrets: TaskSecrets): string[] {
  const names = words.slice(1).flatMap(referencedVariables);
  return [...new Set(names.filter((name) => secrets.variables.has(name)))];
}

function servedFiles(words: Word[], directory: string | null, secrets: TaskSecrets): Detection[] {
  const server = fileServer(words.map((word) => word.text));
  if (server === undefined || secrets.files.length === 0) return [];
  const served = changeDirectory(directory, server.directory);
  if (served === null) return [];
  return secrets.files
    .filter((file) => isInside(file.containerPath, served))
    .map((file) =>
      leak(
        file.location,
        'secret-file-served',
        `the secret file ${printable(file.containerPath)} lies in the directory that '${server.name}' serves, so anyone who can reach its port can download it; mount the secret outside the served directory, or serve another directory`,
      ),
    );
}

function leak(location: string, kind: Detection['kind'], message: string): Detection {
  return { location, severity: 'medium', kind, message, redacted: null };
}
