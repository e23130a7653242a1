import { lstat, realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, relative } from 'node:path';

import { TesseraError } from '../errors.ts';
import { errorCode } from './tmpfs.ts';

/**
 * Throws DELIVERY_FAILED unless `dir`, after every symbolic link on the way is followed,
 * is the sandbox or inside it. When `dir` does not exist yet, its deepest existing
 * ancestor is checked, because `mkdir -p` would create the missing part wherever that
 * ancestor leads. `containerPath` names the volume in the message.
 */
export async function checkInsideSandbox(
  dir: string,
  sandboxDir: string,
  containerPath: string,
): Promise<void> {
  const realSandbox = await realpath(sandboxDir);
  const existing = await deepestExisting(dir);
  let realDir: string;
  try {
    realDir = await realpath(existing);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') {
      throw error;
    }
    // `existing` is there (lstat found it), so it is a link whose target is missing, and
    // the directories made through it would land wherever that target is created.
    throw outsideError(containerPath, sandboxDir, existing, 'points to a missing path');
  }

  if (!isWithin(realDir, realSandbox)) {
    throw outsideError(containerPath, sandboxDir, existing, `leads to ${realDir}`);
  }
}

/**
 * Throws DELIVERY_FAILED, naming `source` (such as MESOS_SANDBOX), unless `sandboxDir` is
 * an absolute path to an existing directory. Relative container paths are placed there.
 */
export async function checkSandboxDir(sandboxDir: string, source: string): Promise<void> {
  if (!isAbsolute(sandboxDir)) {
    throw new TesseraError(
      'DELIVERY_FAILED',
      `the sandbox ${sandboxDir} (from ${source}) is not an absolute path, so relative ` +
        'container paths have no place; set it to the absolute path of the sandbox',
      { sandboxDir },
    );
  }

  let problem: string | undefined;
  try {
    if (!(await stat(sandboxDir)).isDirectory()) problem = 'is not a directory';
  } catch (error) {
    problem = `cannot be used (${errorCode(error)})`;
  }
  if (problem !== undefined) {
    throw new TesseraError(
      'DELIVERY_FAILED',
      `the sandbox ${sandboxDir} (from ${source}) ${problem}; relative container paths are ` +
        'placed there, so point it at the existing sandbox directory',
      { sandboxDir },
    );
  }
}

/** Tells whether `path` is `root` or below it. Both must be absolute and resolved. */
export function isWithin(path: string, root: string): boolean {
  const inside = relative(root, path);
  return inside === '' || !(inside === '..' || inside.startsWith('../') || isAbsolute(inside));
}

async function deepestExisting(dir: string): Promise<string> {
  for (let current = dir; ; current = dirname(current)) {
    try {
      await lstat(current);
      return current;
    } catch (error) {
      if (errorCode(error) !== 'ENOENT' || dirname(current) === current) {
        throw error;
      }
    }
  }
}

function outsideError(
  containerPath: string,
  sandboxDir: string,
  through: string,
  where: string,
): TesseraError {
  return new TesseraError(
    'DELIVERY_FAILED',
    `container path ${containerPath} resolves outside the sandbox ${sandboxDir} through a ` +
      `symbolic link: ${through} ${where}; replace the link with a directory or use an ` +
      'absolute container path',
    { containerPath },
  );
}
