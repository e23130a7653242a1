import {
  lstat,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  rmdir,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

import { errorCode, PRIVATE_DIR_PREFIX } from './tmpfs.ts';

/** The file in a private directory that names the `tessera exec` process that made it. */
export const OWNER_FILE = '.owner';

/** The file in a private directory that lists the links and directories the run made. */
export const PLACED_FILE = '.placed';

/** What a run made outside its private directory, for a sweep to remove after a SIGKILL. */
export interface PlacedPaths {
  links: string[];
  dirs: string[];
}

/**
 * Writes the owner file of a private directory: this process's id and its start time,
 * so that a later sweep can tell a directory of a live run from one left by a run that
 * was killed with SIGKILL, even after the process id was reused.
 */
export async function markOwner(privateDir: string): Promise<void> {
  const owner = `${process.pid} ${await startTime(process.pid)}\n`;
  await writeFile(join(privateDir, OWNER_FILE), owner, { mode: 0o600, flag: 'wx' });
}

/**
 * Records the links and the directories a run made outside its private directory, so
 * that a sweep can remove them if the run is killed before its own clean-up. The file is
 * replaced whole, so that a sweep reads the old list or the new one.
 */
export async function recordPlaced(privateDir: string, placed: PlacedPaths): Promise<void> {
  const target = join(privateDir, PLACED_FILE);
  const temporary = `${target}.next`;
  await writeFile(temporary, JSON.stringify(placed), { mode: 0o600 });
  await rename(temporary, target);
}

/**
 * Returns who owns a private directory: `gone` when the directory or its owner process
 * no longer exists, else the owner's process id, or `unknown` for a directory without a
 * readable owner file, which another run may be creating right now.
 */
export async function privateDirOwner(dir: string): Promise<number | 'gone' | 'unknown'> {
  try {
    await lstat(dir);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return 'gone';
    return 'unknown';
  }
  const owner = await readOwner(dir);
  if (owner === undefined) return 'unknown';
  const current = await startTime(owner.pid);
  return current === '' || current !== owner.started ? 'gone' : owner.pid;
}

/**
 * Removes the private directories under `tmpfsDir` that belong to this user and whose
 * owner process is gone. A directory without an owner file is kept, because it may be
 * one that another run is creating right now. Returns the paths removed.
 */
export async function sweepStaleDirs(
  tmpfsDir: string,
  log: (line: string) => void,
): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(tmpfsDir);
  } catch {
    return [];
  }

  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(PRIVATE_DIR_PREFIX)) continue;
    const dir = join(tmpfsDir, name);
    if (!(await isStale(dir))) continue;
    try {
      await removePlaced(dir);
      await rm(dir, { recursive: true, force: true });
      removed.push(dir);
      log(`removed ${dir}, left by a tessera exec that was killed`);
    } catch (error) {
      log(`failed to remove the stale directory ${dir}: ${errorCode(error)}; delete it by hand`);
    }
  }
  return removed;
}

async function isStale(dir: string): Promise<boolean> {
  try {
    const stat = await lstat(dir);
    if (!stat.isDirectory() || stat.uid !== process.getuid?.()) return false;
  } catch {
    return false;
  }
  return (await privateDirOwner(dir)) === 'gone';
}

async function readOwner(dir: string): Promise<{ pid: number; started: string } | undefined> {
  try {
    const [pid, started] = (await readFile(join(dir, OWNER_FILE), 'utf8')).trim().split(' ');
    const owner = Number(pid);
    if (!Number.isSafeInteger(owner) || owner <= 0 || started === undefined) return undefined;
    return { pid: owner, started };
  } catch {
    return undefined;
  }
}

// Removes only links that still point into `dir`, and only directories that are empty,
// so that a list that was tampered with can remove nothing else.
async function removePlaced(dir: string): Promise<void> {
  let placed: PlacedPaths;
  try {
    placed = JSON.parse(await readFile(join(dir, PLACED_FILE), 'utf8')) as PlacedPaths;
  } catch {
    return;
  }
  for (const link of Array.isArray(placed.links) ? placed.links : []) {
    try {
      const target = resolve(dirname(String(link)), await readlink(String(link)));
      if (dirname(target) === dir) await unlink(String(link));
    } catch {
      // Already gone, or replaced by something else, which stays.
    }
  }
  for (const made of (Array.isArray(placed.dirs) ? placed.dirs : []).toReversed()) {
    await rmdir(String(made)).catch(() => undefined);
  }
}

// Field 22 of /proc/PID/stat (proc(5)) is the start time in clock ticks since boot. The
// command name, field 2, is in parentheses and may contain spaces, so fields are counted
// from the last ')'. Returns '' when the process does not exist.
async function startTime(pid: number): Promise<string> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? '';
  } catch {
    return '';
  }
}
