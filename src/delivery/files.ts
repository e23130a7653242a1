import {
  chmod,
  lstat,
  mkdir,
  readlink,
  rm,
  rmdir,
  symlink,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';

import { TesseraError } from '../errors.ts';
import { checkInsideSandbox } from './sandbox-path.ts';
import { privateDirOwner, recordPlaced } from './sweep.ts';
import { errorCode, makePrivateDir, PRIVATE_DIR_PREFIX } from './tmpfs.ts';

/** A `SECRET` volume with its resolved bytes. */
export interface FileSecret {
  containerPath: string;
  bytes: Buffer;
  readOnly: boolean;
}

interface PlacedLink {
  path: string;
  target: string;
}

/**
 * Resolves a volume's `container_path` to the path of its link. A relative path is placed
 * in the sandbox, as the Mesos `volume/secret` isolator does, and an absolute path is used
 * as it is. Throws DELIVERY_FAILED for a relative path that leaves the sandbox.
 */
export function resolveContainerPath(containerPath: string, sandboxDir: string): string {
  if (isAbsolute(containerPath)) {
    return containerPath;
  }

  const linkPath = resolve(sandboxDir, containerPath);
  const inside = relative(sandboxDir, linkPath);
  if (inside === '' || inside === '..' || inside.startsWith('../') || isAbsolute(inside)) {
    throw new TesseraError(
      'DELIVERY_FAILED',
      `container path ${containerPath} resolves outside the sandbox ${sandboxDir}; ` +
        'use a path inside the sandbox or an absolute path',
      { containerPath },
    );
  }
  return linkPath;
}

/**
 * The secret files and links of one run. Files go only into a private directory on tmpfs,
 * and the task opens them through symbolic links at the volumes' container paths.
 * `remove` deletes what this run created, and is safe to call after a partial placement.
 */
export class PlacedFiles {
  readonly privateDir: string;
  readonly #tmpfsDir: string;
  readonly #log: (line: string) => void;
  readonly #links: PlacedLink[] = [];
  readonly #createdDirs: string[] = [];

  private constructor(tmpfsDir: string, privateDir: string, log: (line: string) => void) {
    this.#tmpfsDir = resolve(tmpfsDir);
    this.privateDir = privateDir;
    this.#log = log;
  }

  /** Creates the private directory under `tmpfsDir` and returns an empty placement. */
  static async create(tmpfsDir: string, log: (line: string) => void): Promise<PlacedFiles> {
    const privateDir = await makePrivateDir(resolve(tmpfsDir));
    return new PlacedFiles(tmpfsDir, privateDir, log);
  }

  /**
   * Writes a secret byte for byte to `secret-<index>` in the private directory, with mode
   * 0400 for an RO volume and 0600 for an RW one, then links `linkPath` to it. Missing
   * parent directories of the link are created with mode 0700. With `sandboxDir`, given
   * for a relative container path, the link's parent must stay inside the sandbox once
   * symbolic links are followed, before and after its directories are created.
   */
  async place(
    file: FileSecret,
    index: number,
    linkPath: string,
    sandboxDir?: string,
  ): Promise<void> {
    try {
      await this.#place(file, index, linkPath, sandboxDir);
    } catch (error) {
      if (error instanceof TesseraError) {
        throw error;
      }
      throw new TesseraError(
        'DELIVERY_FAILED',
        `failed to place the secret for container path ${file.containerPath}: ` +
          `${errorCode(error)}; check that the path and its parent directories are writable`,
        { containerPath: file.containerPath },
      );
    }
  }

  async #place(
    file: FileSecret,
    index: number,
    linkPath: string,
    sandboxDir: string | undefined,
  ): Promise<void> {
    const parent = dirname(linkPath);
    if (sandboxDir !== undefined) {
      await checkInsideSandbox(parent, sandboxDir, file.containerPath);
    }

    const target = join(this.privateDir, `secret-${index}`);
    const mode = file.readOnly ? 0o400 : 0o600;
    await writeFile(target, file.bytes, { mode, flag: 'wx' });
    await chmod(target, mode);

    await this.#makeParentDirs(parent);
    // A link put in place of a directory while the parents were made is caught here.
    // NOTE: a link could still be swapped in between this check and symlink(), because
    // Node has no symlinkat relative to an open directory. Only a process with write
    // access to the sandbox could do it, since the task has not started yet.
    if (sandboxDir !== undefined) {
      await checkInsideSandbox(parent, sandboxDir, file.containerPath);
    }
    await this.#clearLinkPath(linkPath, file.containerPath);
    await symlink(target, linkPath);
    this.#links.push({ path: linkPath, target });
    await recordPlaced(this.privateDir, {
      links: this.#links.map((link) => link.path),
      dirs: this.#createdDirs,
    });
  }

  /**
   * Removes the links this run created, the private directory, and the link parents it
   * created when they are empty. Failures are logged with the path and do not throw, so
   * that the rest is still removed and the child's exit status is still returned.
   */
  async remove(): Promise<void> {
    for (const link of this.#links.toReversed()) {
      await this.#removeLink(link);
    }

    try {
      await rm(this.privateDir, { recursive: true, force: true });
    } catch (error) {
      this.#log(`failed to remove ${this.privateDir}: ${errorCode(error)}; delete it by hand`);
    }

    for (const dir of this.#createdDirs.toReversed()) {
      // A directory that the task has put files into is not empty and stays.
      await rmdir(dir).catch(() => undefined);
    }
  }

  async #makeParentDirs(dir: string): Promise<void> {
    const first = await mkdir(dir, { recursive: true, mode: 0o700 });
    if (first === undefined) {
      return;
    }

    const created = [dir];
    for (let parent = dirname(dir); parent.length >= first.length; parent = dirname(parent)) {
      created.unshift(parent);
    }
    this.#createdDirs.push(...created);
  }

  // An earlier run that was killed before its clean-up (SIGKILL, a crash) leaves a
  // link into its own private directory. Only such a link is replaced, and only once
  // that run is gone: a live run's command still reads its secrets through it.
  async #clearLinkPath(linkPath: string, containerPath: string): Promise<void> {
    let isLink: boolean;
    try {
      isLink = (await lstat(linkPath)).isSymbolicLink();
    } catch (error) {
      if (errorCode(error) === 'ENOENT') {
        return;
      }
      throw error;
    }

    const target = isLink ? resolve(dirname(linkPath), await readlink(linkPath)) : '';
    if (dirname(target) === this.privateDir) {
      throw new TesseraError(
        'DELIVERY_FAILED',
        `container path ${containerPath} is used by more than one secret volume; ` +
          'give each volume its own container path',
        { containerPath },
      );
    }

    if (!isLink || !this.#isEarlierRunTarget(target)) {
      throw new TesseraError(
        'DELIVERY_FAILED',
        `container path ${containerPath} already exists and was not placed by tessera; ` +
          'remove it or choose another container path',
        { containerPath },
      );
    }
    const owner = await privateDirOwner(dirname(target));
    if (owner !== 'gone') {
      const who = owner === 'unknown' ? 'another tessera exec' : `tessera exec process ${owner}`;
      throw new TesseraError(
        'DELIVERY_FAILED',
        `container path ${containerPath} (${linkPath}) is in use by ${who}, which is still ` +
          'running; give this run another container path or working directory, or stop that run',
        { containerPath, owner },
      );
    }
    await unlink(linkPath);
  }

  #isEarlierRunTarget(target: string): boolean {
    const dir = dirname(target);
    return dirname(dir) === this.#tmpfsDir && basename(dir).startsWith(PRIVATE_DIR_PREFIX);
  }

  async #removeLink(link: PlacedLink): Promise<void> {
    try {
      // The task may have replaced the link with its own file, which stays.
      if ((await readlink(link.path)) === link.target) {
        await unlink(link.path);
      }
    } catch (error) {
      const code = errorCode(error);
      if (code !== 'ENOENT' && code !== 'EINVAL') {
        this.#log(`failed to remove the link ${link.path}: ${code}; delete it by hand`);
      }
    }
  }
}
