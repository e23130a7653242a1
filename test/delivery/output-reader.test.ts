// The command's output read into reused buffers: the masked output must come out as if
// it had been read in one piece, whatever the destination does with the buffers.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';

import { startChild } from '../../src/delivery/command.ts';
import { buildMaskPatterns, MaskStream } from '../../src/delivery/mask.ts';

const SECRETS = ['first-secret-value-1', 'Second/secret+value=2', 'third "secret" value'];
const { patterns } = buildMaskPatterns(
  SECRETS.map((secret) => Buffer.from(secret)),
  6,
);

// 6 MiB of varied lines from a fixed seed, with a secret or one of its encoded forms on
// about one line in forty, so that many lie across the ends of 64 KiB reads.
function makeOutput(): Buffer {
  let state = 0x1234567;
  const next = (limit: number) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % limit;
  };
  const lines: string[] = [];
  for (let length = 0; length < 6 * 1024 * 1024; ) {
    const secret = next(40) === 0 ? (patterns[next(patterns.length)] as Buffer).toString() : '';
    const line = `line ${next(1_000_000)} ${'x'.repeat(next(120))}${secret} id=${next(1e9)}\n`;
    lines.push(line);
    length += line.length;
  }
  return Buffer.from(lines.join(''));
}

// What the masker gives for the whole output in one write.
async function maskedInOnePiece(data: Buffer): Promise<Buffer> {
  const masker = new MaskStream(patterns);
  const parts: Buffer[] = [];
  masker.on('data', (part: Buffer) => parts.push(Buffer.from(part)));
  masker.end(data);
  await new Promise((done) => masker.once('end', done));
  return Buffer.concat(parts);
}

// A masker that records the memory of every buffer the reader writes to it.
class RecordingMasker extends MaskStream {
  readonly memories = new Set<ArrayBufferLike>();
  writes = 0;

  override _transform(chunk: Buffer, encoding: BufferEncoding, done: () => void): void {
    this.memories.add(chunk.buffer);
    this.writes++;
    super._transform(chunk, encoding, done);
  }
}

let dir: string;
let output: Buffer;
let expected: Buffer;
let source: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-output-reader-'));
  output = makeOutput();
  expected = await maskedInOnePiece(output);
  source = join(dir, 'output');
  await writeFile(source, output);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

// Runs `command` (`cat` of the output by default) with its stdout piped into `masker`,
// and waits until the masker has ended. `log` receives exec's lines about the output.
async function relay(
  masker: MaskStream,
  command = ['cat', source],
  log?: (line: string) => void,
): Promise<void> {
  const [file, ...args] = command as [string, ...string[]];
  const child = await startChild(
    { file, args },
    { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, cwd: dir, stdout: masker, log },
  );
  const { code } = await child.ended;
  child.watchdog.release();
  assert.equal(code, 0);
  const ended = new Promise((done) => masker.once('end', done));
  masker.end();
  await ended;
}

// Relays the output through `masker` into a file stream on `path` (see `syncFileStream`),
// and returns what the file then contains.
async function relayToFile(
  masker: MaskStream,
  path: string,
  options: { delayMs?: number; command?: string[]; log?: (line: string) => void } = {},
): Promise<Buffer> {
  const destination = syncFileStream(path, options.delayMs);
  masker.passOnTo(destination);
  await relay(masker, options.command, options.log);
  const finished = new Promise((done) => destination.once('finish', done));
  destination.end();
  await finished;
  return readFile(path);
}

// A file stream that writes each buffer before it calls back, as `process.stdout` does on
// a file; after `delayMs`, if given.
function syncFileStream(path: string, delayMs?: number): Writable & { fd: number } {
  const fd = openSync(path, 'w');
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const write = () => {
        writeSync(fd, chunk);
        done();
      };
      if (delayMs === undefined) write();
      else setTimeout(write, delayMs);
    },
    final(done) {
      closeSync(fd);
      done();
    },
  });
  return Object.assign(stream, { fd });
}

describe('command output read into reused buffers', () => {
  it('masks to a file through three buffers', async () => {
    const masker = new RecordingMasker(patterns);
    const written = await relayToFile(masker, join(dir, 'sync'));
    assert.ok(written.equals(expected), 'the masked output differs');
    assert.ok(masker.writes > 90, `only ${masker.writes} reads`);
    assert.ok(masker.memories.size <= 3, `${masker.memories.size} buffers for the output`);
  });

  it('masks uneven small reads as one piece', async () => {
    // Pieces of 1 to 9000 bytes, a pause after some of them.
    const writer = [
      'const data = require("fs").readFileSync(process.argv[1]);',
      'let at = 0, seed = 7;',
      'const step = () => { while (at < data.length) {',
      '  seed = (seed * 1103515245 + 12345) % 2147483648;',
      '  const end = Math.min(data.length, at + 1 + (seed % 9000));',
      '  require("fs").writeSync(1, data.subarray(at, end)); at = end;',
      '  if (seed % 50 === 0) return setTimeout(step, 1); } };',
      'step();',
    ].join('\n');
    const command = [process.execPath, '-e', writer, source];
    const written = await relayToFile(new MaskStream(patterns), join(dir, 'uneven'), { command });
    assert.ok(written.equals(expected), 'the masked output differs');
  });

  it('reads into new buffers for a slow destination', async () => {
    const masker = new RecordingMasker(patterns);
    // Writes each buffer a millisecond after it came, and only then calls back.
    const written = await relayToFile(masker, join(dir, 'slow'), { delayMs: 1 });
    assert.ok(written.equals(expected), 'the masked output differs');
    assert.ok(masker.memories.size > 3, 'the buffers were read into while still held');
  });

  it('reads into new buffers for a PassThrough', async () => {
    const destination = new PassThrough();
    // Kept uncopied until the end, so a buffer read into again would change them.
    const received: Buffer[] = [];
    destination.on('data', (part: Buffer) => received.push(part));
    const masker = new RecordingMasker(patterns);
    masker.passOnTo(destination);
    await relay(masker);
    assert.ok(Buffer.concat(received).equals(expected), 'the masked output differs');
    assert.equal(masker.memories.size, masker.writes);
  });

  it('masks output relayed to a pipe', async () => {
    const path = join(dir, 'piped');
    const reader = spawn('sh', ['-c', 'cat > "$0"', path], {
      stdio: ['pipe', 'ignore', 'inherit'],
    });
    const masker = new MaskStream(patterns);
    masker.passOnTo(reader.stdin);
    await relay(masker);
    reader.stdin.end();
    await new Promise((done) => reader.once('exit', done));
    assert.ok((await readFile(path)).equals(expected), 'the masked output differs');
  });
});

// A buffer with memory of its own: `Buffer.from` puts short strings in a shared pool.
function ownBuffer(text: string): Buffer {
  const buffer = Buffer.alloc(Buffer.byteLength(text));
  buffer.write(text);
  return buffer;
}

describe('command output after the command exits', () => {
  it('drops a secret start when cut', { timeout: 20_000 }, async () => {
    const secret = SECRETS[0] as string;
    const lines: string[] = [];
    // After `start`, a background process writes the secret's first 12 bytes, and its
    // rest only after the wait for the output has cut it off. `start` comes first, so
    // that it cannot land between the two parts.
    const script =
      'echo start; ' +
      `(printf %s '${secret.slice(0, 12)}'; sleep 3; printf '%s\\n' '${secret.slice(12)}') &`;
    const written = await relayToFile(new MaskStream(patterns), join(dir, 'cut'), {
      command: ['/bin/sh', '-c', script],
      log: (line) => lines.push(line),
    });
    assert.equal(written.toString(), 'start\n');
    assert.match(lines.join('\n'), /a process it started still holds its output open/);
    assert.ok(!lines.join('\n').includes(secret.slice(0, 12)), 'the log shows the secret');
  });

  it('waits for a slow destination', { timeout: 30_000 }, async () => {
    const lines: string[] = [];
    // The command exits at once and leaves `head` writing less than a pipe holds. At
    // 0.7 s a write, the output takes longer than the 2 s wait to pass.
    const size = 192 * 1024;
    const written = await relayToFile(new MaskStream(patterns), join(dir, 'late'), {
      delayMs: 700,
      command: ['/bin/sh', '-c', `head -c ${size} /dev/zero & exit 0`],
      log: (line) => lines.push(line),
    });
    assert.deepEqual(lines, []);
    assert.ok(written.equals(Buffer.alloc(size)), 'the output differs');
  });
  it('cuts a background writer behind a slow destination', { timeout: 30_000 }, async () => {
    const lines: string[] = [];
    const started = performance.now();
    // `yes` writes faster than 20 ms a write passes on, for as long as it runs.
    await relayToFile(new MaskStream(patterns), join(dir, 'yes'), {
      delayMs: 20,
      command: ['/bin/sh', '-c', 'yes & exit 0'],
      log: (line) => lines.push(line),
    });
    assert.match(lines.join('\n'), /a process it started still holds its output open/);
    assert.ok(performance.now() - started < 15_000, 'the output was cut off late');
  });
});

describe('MaskStream.references', () => {
  it('references a chunk until the next one', () => {
    const destination = syncFileStream(join(dir, 'holds'));
    const masker = new MaskStream(patterns);
    masker.passOnTo(destination);
    // Ends with the start of a secret, which must wait for the next chunk.
    const first = ownBuffer('plain output first-secret');
    const second = ownBuffer('-value-1 and more\n');
    masker.write(first);
    assert.equal(masker.references(first.buffer), true);
    masker.write(second);
    assert.equal(masker.references(first.buffer), false);
    assert.equal(masker.references(new ArrayBuffer(8)), false);
    destination.end();
  });

  it('references any memory for a PassThrough', () => {
    const masker = new MaskStream(patterns);
    masker.passOnTo(new PassThrough());
    masker.write(Buffer.from('plain output\n'));
    assert.equal(masker.references(new ArrayBuffer(8)), true);
  });
});
