import { chmod, mkdtemp, rm, statfs } from 'node:fs/promises';
import { join } from 'node:path';

import { TesseraError } from '../errors.ts';

// Filesystem type magic numbers from include/uapi/linux/magic.h, as statfs(2) returns them.
const TMPFS_MAGIC = 0x01021994;
const RAMFS_MAGIC = 0x858458f6;

/** Name prefix of the private directory each run makes under the tmpfs directory. */
export const PRIVATE_DIR_PREFIX = 'tessera-';

/** Returns whether `dir` is on tmpfs or ramfs, so that what is written there never reaches a disk. */
export async function isMemoryFilesystem(dir: string): Promise<boolean> {
  return (await filesystemOf(dir)) === 'memory';
}

/**
 * Tells whether `dir` is on tmpfs or ramfs (`memory`) or on another filesystem (`other`),
 * or returns the error code of statfs(2), such as ENOENT when it does not exist.
 */
export async function filesystemOf(dir: string): Promise<'memory' | 'other' | string> {
  try {
    const { type } = await statfs(dir);
    return type === TMPFS_MAGIC || type === RAMFS_MAGIC ? 'memory' : 'other';
  } catch (error) {
    return errorCode(error);
  }
}

/** Lists the directories tried when no tmpfs directory is given: /dev/shm, then $XDG_RUNTIME_DIR. */
export function defaultTmpfsCandidates(env: NodeJS.ProcessEnv): string[] {
  const candidates = ['/dev/shm'];
  if (env.XDG_RUNTIME_DIR) {
    candidates.push(env.XDG_RUNTIME_DIR);
  }
  return candidates;
}

/**
 * Returns the first candidate on tmpfs or ramfs. Throws DELIVERY_FAILED when there is none,
 * because a file secret must never be written to a disk-backed directory.
 */
export async function findTmpfsDir(candidates: readonly string[]): Promise<string> {
  for (const candidate of candidates) {
    if (await isMemoryFilesystem(candidate)) {
      return candidate;
    }
  }

  throw new TesseraError(
    'DELIVERY_FAILED',
    `no tmpfs or ramfs directory found for file secrets (tried ${candidates.join(', ')}); ` +
      'pass --tmpfs-dir with a directory on tmpfs',
    { tried: [...candidates] },
  );
}

/** Creates a `tessera-<random>` directory with mode 0700 under `tmpfsDir` and returns its path. */
export async function makePrivateDir(tmpfsDir: string): Promise<string> {
  let dir: string;
  try {
    dir = await mkdtemp(join(tmpfsDir, PRIVATE_DIR_PREFIX));
  } catch (error) {
    throw new TesseraError(
      'DELIVERY_FAILED',
      `failed to create a private directory under ${tmpfsDir}: ${errorCode(error)}; ` +
        'pass --tmpfs-dir with a writable directory on tmpfs',
      { tmpfsDir },
    );
  }

  try {
    await chmod(dir, 0o700);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return dir;
}

/** Returns the `code` of a Node system error, such as ENOENT, or the error's name. */
export function errorCode(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return typeof code === 'string' ? code : error.name;
  }
  return 'unknown error';
}
