import { fstatSync, statSync } from 'node:fs';
import { type TimeoutPolicy, TimeoutStrategy, timeout } from 'cockatiel';
import type { Logger } from 'pino';
import { isTesseraError, TesseraError } from '../errors.ts';
import { type AuditEntry, hashLine, parseAuditEntry, serialiseLine } from './entry.ts';
import { describeFailure, type Outage, resumeEntry } from './outage.ts';
import {
  appendBytes,
  closeSink,
  cutIncompleteLastLine,
  cutIncompleteLine,
  openSink,
  readChainTail,
  rotateFiles,
  type Sink,
  sameFile,
} from './sink.ts';

export { RESUME_OPERATION } from './outage.ts';

/** Settings of an audit log; sizes in bytes, times in milliseconds. */
export interface AuditLogOptions {
  file: string;
  /** Size at which the file is rotated to `<file>.1`; default 100 MiB. */
  maxBytes?: number;
  /** Rotated files kept (`<file>.1` to `<file>.<maxFiles>`); default 5. */
  maxFiles?: number;
  /** Time after which a write is rejected as AUDIT_UNAVAILABLE; default 2000. */
  writeTimeoutMs?: number;
  logger?: Logger;
}

/** Whether the audit log can be written, as `health()` reports it. */
export interface AuditHealth {
  ok: boolean;
  reason: string | null;
  /** Writes rejected since the current outage began; 0 while healthy. */
  failures: number;
}

const DEFAULT_MAX_BYTES = 100 * 1024 * 1024;
const DEFAULT_MAX_FILES = 5;
const DEFAULT_WRITE_TIMEOUT_MS = 2000;
const PROBE_INTERVAL_MS = 1000;

/**
 * An append-only, hash-chained audit log in one file. Each line contains `seq`, the SHA-256
 * of the previous line (`prev`), and one AuditEntry. Writes are serialised in call order.
 * When the file cannot be written, writes fail with AUDIT_UNAVAILABLE so that requests
 * fail closed, and a background probe reopens the file every second until a line can be
 * written again. At most one file operation is in flight, so a hung sink holds one
 * thread of the libuv pool, not one per request.
 */
export class AuditLog {
  readonly #file: string;
  readonly #maxBytes: number;
  readonly #maxFiles: number;
  readonly #writeTimeoutMs: number;
  readonly #timeout: TimeoutPolicy;
  readonly #logger: Logger | undefined;
  #sink: Sink;
  #seq: number;
  #prev: string;
  #queue: Promise<void> = Promise.resolve();
  #outage: Outage | null = null;
  // Aborted when an outage begins, so that callers queued behind the failed write fail too.
  #outageBegun = new AbortController();
  #probeTimer: NodeJS.Timeout | undefined;
  #probing = false;
  #rotationFailing = false;
  #closed = false;

  private constructor(options: AuditLogOptions, sink: Sink, seq: number, prev: string) {
    this.#file = options.file;
    this.#maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    this.#maxFiles = options.maxFiles ?? DEFAULT_MAX_FILES;
    this.#writeTimeoutMs = options.writeTimeoutMs ?? DEFAULT_WRITE_TIMEOUT_MS;
    this.#timeout = timeout(this.#writeTimeoutMs, TimeoutStrategy.Aggressive);
    this.#logger = options.logger;
    this.#sink = sink;
    this.#seq = seq;
    this.#prev = prev;
  }

  /**
   * Opens `options.file` for appending, continuing the chain of its last line (or of
   * `<file>.1` when the file is missing or empty). Throws AUDIT_UNAVAILABLE when the file
   * cannot be opened within writeTimeoutMs or its last line is damaged.
   */
  static async open(options: AuditLogOptions): Promise<AuditLog> {
    validateOptions(options);
    const waitMs = options.writeTimeoutMs ?? DEFAULT_WRITE_TIMEOUT_MS;
    const opening = (async () => {
      await removeIncompleteLastLine(options);
      const tail = await readChainTail(options.file);
      return { tail, sink: await openSink(options.file) };
    })();
    try {
      const { tail, sink } = await timeout(waitMs, TimeoutStrategy.Aggressive).execute(
        () => opening,
      );
      return new AuditLog(options, sink, tail.seq, tail.hash);
    } catch (error) {
      // A hung open may still finish; its file must not stay open.
      opening.then(({ sink }) => sink.handle.close()).catch(() => undefined);
      if (isTesseraError(error)) throw error;
      throw new TesseraError(
        'AUDIT_UNAVAILABLE',
        `could not open the audit log ${options.file}: ${describeFailure(error, 'open', waitMs)}; ` +
          'check that its directory exists and is writable',
        { file: options.file },
      );
    }
  }

  /**
   * Validates an entry and appends it as one line. Resolves once the line is written,
   * without fsync: the bytes are then in the kernel's page cache and survive a crash of
   * this process, and only a power loss or kernel crash could lose them. Syncing each line
   * would limit requests to the disk's sync rate. Throws INVALID_ARGUMENT for an invalid
   * entry, and AUDIT_UNAVAILABLE when the line could not be written within writeTimeoutMs
   * or while the log is failing.
   */
  async write(entry: AuditEntry): Promise<void> {
    const fields = parseAuditEntry(entry);
    this.#rejectWhileUnavailable();

    const job = this.#enqueue(() => this.#appendQueued(fields));
    try {
      await this.#timeout.execute(() => job, this.#outageBegun.signal);
    } catch (error) {
      throw this.#failed(error);
    }
  }

  /**
   * Reopens the file at the configured path, after log rotation by another program moved
   * or removed it (`tessera server` calls this on SIGHUP). The chain continues: the next
   * line's `prev` is the hash of the last line written to the old file.
   */
  async reopen(): Promise<void> {
    await this.#enqueue(() => this.#reopen());
    this.#logger?.info({ file: this.#file }, 'audit log reopened');
  }

  /** Reports whether lines can be written now, and whether the path still names the file. */
  health(): AuditHealth {
    if (this.#closed) return { ok: false, reason: 'the audit log is closed', failures: 0 };
    if (this.#outage) {
      return { ok: false, reason: this.#outage.reason, failures: this.#outage.failures };
    }
    if (this.#sink.regular && !this.#pathNamesSink()) {
      return { ok: false, reason: this.#detachedReason(), failures: 0 };
    }
    return { ok: true, reason: null, failures: 0 };
  }

  // The open file takes the lines wherever it went: a moved file under its new name, a
  // removed one until the server closes it, after which they are lost.
  #detachedReason(): string {
    const reopen = `send the server SIGHUP to write to ${this.#file} again`;
    let links = 1;
    try {
      links = fstatSync(this.#sink.handle.fd).nlink;
    } catch {
      // An unreadable descriptor fails the next write, which reports the outage.
    }
    if (links === 0) {
      return `${this.#file} was removed, so new lines go to a deleted file that no path names; ${reopen}`;
    }
    return `${this.#file} was moved or replaced, so new lines go to the moved file; ${reopen}`;
  }

  #pathNamesSink(): boolean {
    try {
      const stats = statSync(this.#file);
      return stats.dev === this.#sink.device && stats.ino === this.#sink.inode;
    } catch {
      return false;
    }
  }

  /**
   * Stops the probe, waits up to writeTimeoutMs for pending writes, syncs and closes the
   * file. A write still hung after that keeps the file open, because closing a handle
   * waits for its pending operations.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#probeTimer);

    const closing = this.#queue.then(() => closeSink(this.#sink));
    try {
      await this.#timeout.execute(() => closing);
    } catch (error) {
      this.#logger?.warn(
        { file: this.#file, reason: describeFailure(error, 'close', this.#writeTimeoutMs) },
        'audit log not closed cleanly',
      );
    }
  }

  #rejectWhileUnavailable() {
    if (this.#closed) {
      throw new TesseraError('AUDIT_UNAVAILABLE', `the audit log ${this.#file} is closed`, {
        file: this.#file,
      });
    }
    if (!this.#outage) return;
    this.#outage.failures += 1;
    throw this.#unavailable(this.#outage.reason);
  }

  #enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task);
    this.#queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  // A job queued before an outage began must not touch the sink. Its caller gets
  // AUDIT_UNAVAILABLE, and the sink gets no second operation while one may be hung.
  async #appendQueued(entry: AuditEntry): Promise<void> {
    if (this.#outage) throw this.#unavailable(this.#outage.reason);
    await this.#appendLine(entry);
  }

  // The chain advances only after the whole line is written. A line whose caller timed out
  // but whose write finishes later is in the file, so it is counted then.
  // NOTE: such a line records a request that was in fact rejected with AUDIT_UNAVAILABLE.
  async #appendLine(entry: AuditEntry): Promise<void> {
    const line = serialiseLine(this.#seq + 1, this.#prev, entry);
    const bytes = Buffer.from(`${line}\n`, 'utf8');
    await this.#rotateIfFull(bytes.length);
    const sink = this.#sink;
    try {
      await appendBytes(sink.handle, bytes);
    } catch (error) {
      await this.#cutIncompleteLine(sink);
      throw error;
    }

    this.#seq += 1;
    this.#prev = hashLine(line);
    sink.size += bytes.length;
  }

  async #rotateIfFull(lineBytes: number): Promise<void> {
    const sink = this.#sink;
    if (!sink.regular || sink.size === 0 || sink.size + lineBytes <= this.#maxBytes) return;
    try {
      await rotateFiles(this.#file, this.#maxFiles);
    } catch (error) {
      // Until the file itself is renamed, rotation is housekeeping: the open file still
      // takes lines, so keep writing there and retry with the next line.
      if (!this.#rotationFailing) {
        this.#logger?.error(
          { file: this.#file, code: (error as NodeJS.ErrnoException).code },
          'audit log rotation failed; appending to the current file',
        );
      }
      this.#rotationFailing = true;
      return;
    }

    // Once renamed, a failure to create the new file fails the write, and the probe
    // creates the file when it reopens the path.
    this.#sink = await openSink(this.#file);
    await sink.handle.close();
    this.#rotationFailing = false;
    this.#logger?.info({ file: this.#file, seq: this.#seq }, 'audit log rotated');
  }

  #failed(error: unknown): TesseraError {
    if (isTesseraError(error)) return error;
    if (this.#outage) {
      this.#outage.failures += 1;
      return this.#unavailable(this.#outage.reason);
    }

    const reason = describeFailure(error, 'write', this.#writeTimeoutMs);
    this.#outage = { reason, since: new Date(), failures: 1 };
    this.#outageBegun.abort();
    this.#outageBegun = new AbortController();
    this.#logger?.error({ file: this.#file, reason }, 'audit log unavailable; failing requests');
    this.#probeTimer = setInterval(() => this.#probe(), PROBE_INTERVAL_MS);
    this.#probeTimer.unref();
    return this.#unavailable(reason);
  }

  #unavailable(reason: string): TesseraError {
    return new TesseraError(
      'AUDIT_UNAVAILABLE',
      `the audit log ${this.#file} cannot be written (${reason}); requests fail until it can, ` +
        'so check the free space and health of its file system',
      { file: this.#file },
    );
  }

  // Runs in the queue, so it starts only after a hung write has ended, and never twice.
  #probe() {
    if (this.#probing || !this.#outage || this.#closed) return;
    this.#probing = true;
    const done = () => {
      this.#probing = false;
    };
    this.#enqueue(() => this.#recover()).then(done, done);
  }

  // Reopens the path, because a replaced file or a broken descriptor only heals that way,
  // and writes a line recording the outage, which proves the sink takes lines again.
  async #recover(): Promise<void> {
    const outage = this.#outage;
    if (!outage || this.#closed) return;
    try {
      await this.#reopen();
    } catch (error) {
      outage.reason = describeFailure(error, 'open', 0);
      throw error;
    }

    const now = new Date();
    try {
      await this.#appendLine(resumeEntry(outage, now));
    } catch (error) {
      outage.reason = describeFailure(error, 'write', 0);
      throw error;
    }
    this.#outage = null;
    clearInterval(this.#probeTimer);
    this.#logger?.info(
      { file: this.#file, since: outage.since.toISOString(), failures: outage.failures },
      'audit log writable again',
    );
  }

  async #cutIncompleteLine(sink: Sink): Promise<void> {
    try {
      if (await cutIncompleteLine(sink)) {
        this.#logger?.warn(
          { file: this.#file, size: sink.size },
          'removed an incomplete audit line',
        );
      }
    } catch (error) {
      // The probe tries again after reopening the file.
      const code = (error as NodeJS.ErrnoException).code;
      this.#logger?.warn({ file: this.#file, code }, 'could not remove an incomplete audit line');
    }
  }

  async #reopen(): Promise<void> {
    const old = this.#sink;
    const next = await openSink(this.#file);
    if (next.regular && sameFile(old, next)) {
      next.size = Math.min(next.size, old.size);
      await this.#cutIncompleteLine(next);
    }
    this.#sink = next;
    await old.handle.close().catch(() => undefined);
  }
}

// A crash or a full disk may have cut the last line short. Its request got no response,
// because a write resolves only once the whole line is written, so the chain goes on from
// the line before. Damage further up still stops the start.
async function removeIncompleteLastLine(options: AuditLogOptions): Promise<void> {
  const bytes = await cutIncompleteLastLine(options.file);
  if (bytes > 0) {
    options.logger?.warn({ file: options.file, bytes }, 'removed an incomplete audit line');
  }
}

function validateOptions(options: AuditLogOptions) {
  const checks: [string, number | undefined, number][] = [
    ['maxBytes', options.maxBytes, 1],
    ['maxFiles', options.maxFiles, 1],
    ['writeTimeoutMs', options.writeTimeoutMs, 1],
  ];
  for (const [name, value, minimum] of checks) {
    if (value === undefined || (Number.isInteger(value) && value >= minimum)) continue;
    throw new TesseraError(
      'CONFIG_INVALID',
      `audit log option ${name} must be an integer of at least ${minimum}; got ${value}`,
    );
  }
}
