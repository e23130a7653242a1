// The place of Node.js's compile cache for the launcher. This module is JavaScript because
// it runs before the cache is on, and a TypeScript module would load the type stripper.
import { lstatSync, mkdirSync } from 'node:fs';
import { constants, enableCompileCache } from 'node:module';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// A cache that another user can write would let that user run code inside `tessera
// exec`, which contains the task's secrets. Both places below are writable only by those
// who could change Tessera's code, or by the user who runs it.
const INSTALLED = fileURLToPath(new URL('../../node_modules/.cache/tessera', import.meta.url));

/**
 * Turns on the compile cache in the installation. Node.js uses no cache that it may not
 * write, so for a user who may not write there (a task that runs as another user than
 * the installation's owner), the cache goes to `~/.cache/tessera` if that is the user's
 * own. Returns the directory in use, or undefined without a cache.
 */
export function enableTesseraCompileCache(env = process.env) {
  if (enableCompileCache(INSTALLED).status !== constants.compileCacheStatus.FAILED) {
    return INSTALLED;
  }
  const personal = personalCacheDir(env.HOME);
  if (personal === undefined) return undefined;
  const { status } = enableCompileCache(personal);
  return status === constants.compileCacheStatus.FAILED ? undefined : personal;
}

/**
 * Returns `HOME/.cache/tessera`, made if needed, or undefined. HOME and every directory on
 * the way must belong to this user, and no one else may write them.
 */
export function personalCacheDir(home) {
  const uid = process.getuid?.();
  if (uid === undefined || !home || !isAbsolute(home) || !ownedAndPrivate(home, uid)) {
    return undefined;
  }
  const cache = join(home, '.cache');
  const dir = join(cache, 'tessera');
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch {
    return undefined;
  }
  return ownedAndPrivate(cache, uid) && ownedAndPrivate(dir, uid) ? dir : undefined;
}

// Tells whether `dir` is a directory (not a link to one) of user `uid` that neither its
// group nor others may write.
function ownedAndPrivate(dir, uid) {
  try {
    const stat = lstatSync(dir);
    return stat.isDirectory() && stat.uid === uid && (stat.mode & 0o022) === 0;
  } catch {
    return false;
  }
}
