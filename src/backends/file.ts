import { type FSWatcher, watch } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import { isTesseraError, TesseraError } from '../errors.ts';
import { decodeBase64 } from '../mesos/base64.ts';
import { referencePath } from '../mesos/secrets.ts';
import { parseSecretsFile } from '../mesos/secrets-file.ts';
import { emptyRecord } from '../records.ts';
import { parseSecretPath } from '../store/path.ts';
import {
  type Backend,
  type BackendHealth,
  type BackendRead,
  checkUnversioned,
  listChildren,
  notFound,
} from './backend.ts';

/** The name prefix of DC/OS secrets whose bytes are base64 text to be decoded once more. */
export const DCOS_BASE64_PREFIX = '__dcos_base64__';

/** Settings of a file backend. */
export interface FileBackendOptions {
  file: string;
  /** Decode `__dcos_base64__` secrets a second time (see docs/backends.md); off by default. */
  dcosBase64?: boolean;
  /** How often the file is checked with stat, beside fs.watch, in milliseconds. */
  pollMs?: number;
  logger?: Logger;
}

type Secrets = Map<string, Record<string, Buffer>>;

// fs.watch misses changes on some file systems (NFS, some overlay mounts), so a stat
// every 500 ms catches them within a second.
const DEFAULT_POLL_MS = 500;
// Editors write a file in several steps; one reload after the events settle is enough.
const SETTLE_MS = 50;

/**
 * Serves a Mesos-style secrets file (the JSON array `tessera import` reads) read-only.
 * The file is parsed with the same strictness as an import. It is watched (the directory,
 * so an editor that replaces the file is seen) and reloaded on change; an invalid new
 * version keeps the last good one in service, and health and the log say why.
 */
export class FileBackend implements Backend {
  readonly kind = 'file';
  readonly description: string;
  readonly #options: FileBackendOptions;
  #secrets: Secrets;
  #problem: string | null = null;
  #stamp: string;
  #watcher: FSWatcher | undefined;
  #poll: NodeJS.Timeout | undefined;
  #settle: NodeJS.Timeout | undefined;
  #reloading: Promise<void> = Promise.resolve();

  private constructor(options: FileBackendOptions, secrets: Secrets, stamp: string) {
    this.#options = options;
    this.description = `the file backend ${options.file}`;
    this.#secrets = secrets;
    this.#stamp = stamp;
  }

  /**
   * Loads the file and starts watching it. Throws CONFIG_INVALID when the file cannot be
   * read or is invalid at start, because there is no last good version to serve.
   */
  static async open(options: FileBackendOptions): Promise<FileBackend> {
    const file = resolve(options.file);
    const settings = { ...options, file };
    let loaded: { secrets: Secrets; stamp: string };
    try {
      loaded = await load(settings);
    } catch (error) {
      throw new TesseraError('CONFIG_INVALID', `cannot serve ${file}: ${reasonOf(error)}`, {
        file,
      });
    }
    const backend = new FileBackend(settings, loaded.secrets, loaded.stamp);
    backend.#watch();
    options.logger?.info({ file, secrets: loaded.secrets.size }, 'file backend loaded');
    return backend;
  }

  async read(path: string, version?: number): Promise<BackendRead> {
    checkUnversioned(this.description, path, version);
    const fields = this.#secrets.get(path);
    if (!fields) throw notFound(this.description, path);
    return { fields: { ...fields } };
  }

  async list(prefix: string): Promise<string[]> {
    return listChildren(this.#secrets.keys(), prefix);
  }

  health(): BackendHealth {
    return { ok: this.#problem === null, reason: this.#problem };
  }

  /** Reloads the file if it changed since the last load; the watchers call it. */
  reload(): Promise<void> {
    this.#reloading = this.#reloading.then(() => this.#reloadNow());
    return this.#reloading;
  }

  async close(): Promise<void> {
    this.#watcher?.close();
    clearInterval(this.#poll);
    clearTimeout(this.#settle);
    await this.#reloading;
  }

  #watch() {
    const { file } = this.#options;
    const name = basename(file);
    try {
      this.#watcher = watch(dirname(file), { persistent: false }, (_event, changed) => {
        if (changed === null || changed.toString() === name) this.#schedule();
      });
      this.#watcher.on('error', (error) => {
        this.#options.logger?.warn({ file, reason: reasonOf(error) }, 'file backend watch failed');
      });
    } catch (error) {
      this.#options.logger?.warn({ file, reason: reasonOf(error) }, 'file backend cannot watch');
    }
    this.#poll = setInterval(() => this.#schedule(), this.#options.pollMs ?? DEFAULT_POLL_MS);
    this.#poll.unref();
  }

  #schedule() {
    clearTimeout(this.#settle);
    this.#settle = setTimeout(() => void this.reload(), SETTLE_MS);
    this.#settle.unref();
  }

  async #reloadNow() {
    const { file, logger } = this.#options;
    const stamp = await fileStamp(file).catch((error) => `missing: ${reasonOf(error)}`);
    if (stamp === this.#stamp) return;
    this.#stamp = stamp;
    try {
      const loaded = await load(this.#options);
      this.#secrets = loaded.secrets;
      this.#problem = null;
      logger?.info({ file, secrets: loaded.secrets.size }, 'file backend reloaded');
    } catch (error) {
      this.#problem = `${file} changed but was not loaded, so the last good version is served: ${reasonOf(error)}`;
      logger?.warn({ file, reason: reasonOf(error) }, 'file backend kept its last good version');
    }
  }
}

async function load(options: FileBackendOptions): Promise<{ secrets: Secrets; stamp: string }> {
  const stamp = await fileStamp(options.file);
  const text = await readFile(options.file, 'utf8');
  const secrets: Secrets = new Map();
  for (const entry of parseSecretsFile(text, options.file)) {
    const { path: raw, field } = referencePath(entry);
    const path = parseSecretPath(raw);
    const fields = secrets.get(path) ?? emptyRecord<Buffer>();
    fields[field] = options.dcosBase64 ? decodeDcosBase64(path, field, entry.data) : entry.data;
    secrets.set(path, fields);
  }
  return { secrets, stamp };
}

// DC/OS stores binary secrets as base64 text under a name whose last segment starts with
// `__dcos_base64__`, and decodes them once more when it places them.
function decodeDcosBase64(path: string, field: string, data: Buffer): Buffer {
  const last = path.slice(path.lastIndexOf('/') + 1);
  if (!last.startsWith(DCOS_BASE64_PREFIX)) return data;
  return decodeBase64(data.toString('latin1'), `secret '${path}' field '${field}'`);
}

// Size, modification time and inode tell a change; an editor's rename changes the inode.
async function fileStamp(file: string): Promise<string> {
  const info = await stat(file, { bigint: true });
  return `${info.ino}:${info.size}:${info.mtimeNs}`;
}

// Parse errors name an entry index or a line and column, never the file's content.
function reasonOf(error: unknown): string {
  if (isTesseraError(error)) return error.message;
  const code = (error as NodeJS.ErrnoException).code;
  return code ? `${code} reading the file` : 'the file could not be read';
}
