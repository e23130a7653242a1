import { posix } from 'node:path';

/** A command that serves a directory over HTTP, and the directory it serves. */
export interface FileServer {
  /** The command as messages name it, such as `python -m http.server`. */
  name: string;
  /** The directory given on the command line, or undefined for the working directory. */
  directory: string | undefined;
}

const PYTHON = /^python[\d.]*$/;
const PYTHON_MODULES = new Set(['http.server', 'SimpleHTTPServer']);

/**
 * Recognises the file servers that task commands commonly start, from their words:
 * `python -m http.server [-d DIR]`, `php -S ADDR [-t DIR]`, `busybox httpd [-h DIR]`
 * and `http-server [DIR]`. Returns undefined for any other command.
 */
export function fileServer(words: readonly string[]): FileServer | undefined {
  const program = posix.basename(words[0] ?? '');
  const module = words[1] === '-m' ? words[2] : undefined;
  if (PYTHON.test(program) && module !== undefined && PYTHON_MODULES.has(module)) {
    const directory = optionValue(words, ['-d', '--directory']);
    return { name: `python -m ${module}`, directory };
  }
  if (program === 'php' && words.includes('-S')) {
    return { name: 'php -S', directory: optionValue(words, ['-t']) };
  }
  if (program === 'busybox' && words[1] === 'httpd') {
    return { name: 'busybox httpd', directory: optionValue(words, ['-h']) };
  }
  if (program === 'http-server') {
    return { name: 'http-server', directory: words.slice(1).find((word) => !word.startsWith('-')) };
  }
  return undefined;
}

// Returns the word after the first of `options`, as in `-d DIR`.
function optionValue(words: readonly string[], options: string[]): string | undefined {
  const index = words.findIndex((word) => options.includes(word));
  return index === -1 ? undefined : words[index + 1];
}

/**
 * Returns where `directory` leads from `current`, as a path relative to the sandbox
 * (`''` for the sandbox itself) or an absolute path. Returns null when it cannot be
 * known, such as after `cd $HOME`. Mesos starts a task's command in its sandbox, which
 * variables such as `$MESOS_SANDBOX` name.
 */
export function changeDirectory(
  current: string | null,
  directory: string | undefined,
): string | null {
  if (directory === undefined) return current;
  if (/SANDBOX/.test(directory)) return '';
  if (directory.includes('$') || directory.startsWith('~')) return null;
  if (directory.startsWith('/')) return sandboxRelative(directory);
  if (current === null) return null;
  return posix.normalize(posix.join(current, directory)).replace(/^\.$/, '');
}

/** Tells whether a secret file at `containerPath` lies inside the served `directory`. */
export function isInside(containerPath: string, directory: string): boolean {
  const file = sandboxRelative(containerPath);
  if (directory === '') return !file.startsWith('/') && !file.startsWith('..');
  const prefix = directory.endsWith('/') ? directory : `${directory}/`;
  return file.startsWith(prefix);
}

// Mesos mounts the sandbox at /mnt/mesos/sandbox in a container with its own image.
function sandboxRelative(path: string): string {
  const normalized = posix.normalize(path);
  if (normalized === '/mnt/mesos/sandbox') return '';
  return normalized.replace(/^\/mnt\/mesos\/sandbox\//, '').replace(/^\.\/?/, '');
}
