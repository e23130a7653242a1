import { lstat, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { errorCode, PRIVATE_DIR_PREFIX } from './tmpfs.ts';

/** The file in a private directory that names the `tessera exec` process that made it. */
export const OWNER_FILE = '.owner';

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
    const [pid, started] = (await readFile(join(dir, OWNER_FILE), 'utf8')).trim().split(' ');
    const owner = Number(pid);
    if (!Number.isSafeInteger(owner) || owner <= 0) return false;
    const current = await startTime(owner);
    return current === '' || current !== started;
  } catch {
    return false;
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
