import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, existsSync, openSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { buildMaskPatterns, MaskStream } from '../../src/delivery/mask.ts';
import { request, startTestServer, type TestServer } from '../helpers/server.ts';
import { until } from '../helpers/wait.ts';
import {
  type ExecCli,
  envSecret,
  execEnv,
  fileSecret,
  shellTask,
  startExecCli,
  writeTaskDir,
} from './exec-cli-harness.ts';

const SECRET = 'Tr0ub4dor&3 "x" é/z';

async function maskAll(values: string[], chunks: Buffer[], minBytes = 6): Promise<Buffer> {
  const { patterns } = buildMaskPatterns(
    values.map((value) => Buffer.from(value)),
    minBytes,
  );
  const stream = new MaskStream(patterns);
  const out: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => out.push(chunk));
  const ended = new Promise((resolve) => stream.once('end', resolve));
  for (const chunk of chunks) stream.write(chunk);
  stream.end();
  await ended;
  return Buffer.concat(out);
}

const lowerHex = (text: string) => text.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase());
const percent = (value: string) =>
  [...Buffer.from(value)]
    .map((byte) =>
      /[A-Za-z0-9\-_.~]/.test(String.fromCharCode(byte))
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`,
    )
    .join('');

const ENCODINGS: [string, (value: string) => string][] = [
  ['raw', (value) => value],
  ['base64', (value) => Buffer.from(value).toString('base64')],
  ['base64url', (value) => Buffer.from(value).toString('base64url')],
  ['percent-encoded', (value) => encodeURIComponent(value)],
  ['percent-encoded with lower-case hex', (value) => lowerHex(encodeURIComponent(value))],
  ['percent-encoded keeping slashes', (value) => percent(value).replaceAll('%2F', '/')],
  ['form-encoded', (value) => percent(value).replaceAll('%20', '+')],
  ['JSON-escaped', (value) => JSON.stringify(value).slice(1, -1)],
  ['JSON-escaped with \\/', (value) => JSON.stringify(value).slice(1, -1).replaceAll('/', '\\/')],
  [
    'JSON-escaped as Go writes it',
    (value) => JSON.stringify(value).slice(1, -1).replaceAll('&', '\\u0026'),
  ],
];

describe('MaskStream', () => {
  for (const [name, encode] of ENCODINGS) {
    it(`masks the ${name} form`, async () => {
      const out = await maskAll([SECRET], [Buffer.from(`before ${encode(SECRET)} after\n`)]);
      assert.equal(out.toString('utf8'), 'before **** after\n');
    });
  }

  // As other encoders write SECRET, spelled out so that the test does not share the code
  // that builds the forms.
  for (const [name, encoded] of [
    ['JSON as Jackson escapes non-ASCII', 'Tr0ub4dor&3 \\"x\\" \\u00E9/z'],
    ['JSON as PHP json_encode writes it', 'Tr0ub4dor&3 \\"x\\" \\u00e9\\/z'],
    ['JSON as .NET writes it', 'Tr0ub4dor\\u00263 \\u0022x\\u0022 \\u00E9/z'],
    ['JSON as .NET writes it, lower-case hex', 'Tr0ub4dor\\u00263 \\u0022x\\u0022 \\u00e9/z'],
    ['form-encoded by URLSearchParams', 'Tr0ub4dor%263+%22x%22+%C3%A9%2Fz'],
    ['form-encoded by PHP urlencode, lower-case hex', 'Tr0ub4dor%263+%22x%22+%c3%a9%2fz'],
  ] as const) {
    it(`masks the ${name}`, async () => {
      const out = await maskAll([SECRET], [Buffer.from(`before ${encoded} after\n`)]);
      assert.equal(out.toString('utf8'), 'before **** after\n');
    });
  }

  it('masks a tilde as URLSearchParams writes it', async () => {
    const value = 'Winter~2024!pass';
    const encoded = new URLSearchParams({ p: value }).toString().slice('p='.length);
    assert.equal(encoded, 'Winter%7E2024%21pass');
    const out = await maskAll([value], [Buffer.from(`p=${encoded}\n`)]);
    assert.equal(out.toString(), 'p=****\n');
  });

  it('masks a value without its line ending', async () => {
    // A secret file written by `echo`, read with `$(cat file)` and printed.
    const value = 's3cr3t-password\n';
    const out = await maskAll(
      [value],
      [Buffer.from('pw is s3cr3t-password\nnext line\nB[s3cr3t-password]\n')],
    );
    assert.equal(out.toString(), 'pw is ****\nnext line\nB[****]\n');
  });

  it('masks a CRLF value without its line ending', async () => {
    const out = await maskAll(['s3cr3t-password\r\n'], [Buffer.from('x s3cr3t-password\r\n')]);
    assert.equal(out.toString(), 'x ****\r\n');
  });

  it('keeps a line ending of a short bare value', async () => {
    // Without its newline the value is under the minimum, so only the whole is masked.
    const out = await maskAll(['abcde\n'], [Buffer.from('abcde abcde\n')]);
    assert.equal(out.toString(), 'abcde ****');
  });

  it('masks the base64 of a value with its line ending', async () => {
    const value = 's3cr3t-password\n';
    const encoded = Buffer.from(value).toString('base64');
    const out = await maskAll([value], [Buffer.from(`b64 ${encoded} end\n`)]);
    assert.equal(out.toString(), 'b64 **** end\n');
  });

  // Base64 of longer text: each value's characters are masked wherever the value sits in
  // a group, and whatever bytes come before and after it.
  for (const [name, before, after] of [
    ['followed by more bytes', '', ':'],
    ['with a newline after it, as echo writes it', '', '\n'],
    ['one byte into a group', 'u', 'x'],
    ['two bytes into a group', 'us', 'xy'],
    ['in an HTTP Basic credential', 'admin:', ''],
  ] as const) {
    for (const value of [SECRET, 'ZETA-secret-7Qpx', 'Tr0ub4dor&3x']) {
      it(`masks base64 ${name}, ${value.length} bytes`, async () => {
        const encoded = Buffer.from(before + value + after).toString('base64');
        const out = (await maskAll([value], [Buffer.from(`Basic ${encoded}\n`)])).toString();
        const parts = /^Basic ([A-Za-z0-9+/=]*)\*\*\*\*([A-Za-z0-9+/=]*)\n$/.exec(out);
        assert.ok(parts, out);
        // What stays visible encodes the bytes around the value, and a few bits of it.
        const around = Buffer.byteLength(before + after);
        const visible = (parts[1] ?? '').length + (parts[2] ?? '').length;
        assert.ok(
          visible <= 4 * Math.ceil(around / 3) + 4,
          `${visible} characters visible: ${out}`,
        );
      });
    }
  }

  it('masks base64url inside longer base64url', async () => {
    const value = 'a?b>c~d?e>f~g?h';
    const encoded = Buffer.from(`x${value}yz`).toString('base64url');
    const out = (await maskAll([value], [Buffer.from(`${encoded}\n`)])).toString();
    assert.match(out, /^[A-Za-z0-9_-]{0,3}\*\*\*\*[A-Za-z0-9_-]{0,4}\n$/);
  });

  it('masks base64 wrapped at 76 and 64 columns', async () => {
    const long = 'k'.repeat(20) + SECRET.repeat(8);
    for (const width of [76, 64]) {
      const lines = Buffer.from(long)
        .toString('base64')
        .match(new RegExp(`.{1,${width}}`, 'g'));
      const out = await maskAll([long], [Buffer.from(`${lines?.join('\n')}\n`)]);
      const visible = out
        .toString()
        .split('\n')
        .filter((line) => line !== '' && line !== '****');
      // Only a last line shorter than 16 characters may stay visible.
      assert.ok(
        visible.length <= 1 && (visible[0]?.length ?? 0) < 16,
        `width ${width}: ${visible}`,
      );
    }
  });

  it('masks a value split at every byte', async () => {
    const text = Buffer.from(`a ${SECRET} b`);
    for (let split = 1; split < text.length; split++) {
      const out = await maskAll([SECRET], [text.subarray(0, split), text.subarray(split)]);
      assert.equal(out.toString('utf8'), 'a **** b', `split at ${split}`);
    }
  });

  it('masks a value sent one byte at a time', async () => {
    const text = Buffer.from(`x${SECRET}${SECRET}y`);
    const chunks = [...text].map((byte) => Buffer.from([byte]));
    // Two values that touch are one match, as when the text comes in one read.
    assert.equal((await maskAll([SECRET], [text])).toString('utf8'), 'x****y');
    assert.equal((await maskAll([SECRET], chunks)).toString('utf8'), 'x****y');
  });

  it('passes binary output through unchanged', async () => {
    const binary = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256));
    const out = await maskAll(
      ['not-in-there-123'],
      [binary.subarray(0, 1000), binary.subarray(1000)],
    );
    assert.ok(out.equals(binary));
  });

  it('leaves values under the minimum', async () => {
    const { skippedShort } = buildMaskPatterns([Buffer.from('abc')], 6);
    assert.equal(skippedShort, 1);
    assert.equal((await maskAll(['abc'], [Buffer.from('abc abc')])).toString(), 'abc abc');
  });

  it('masks overlapping values as one', async () => {
    const out = await maskAll(['abcdefgh', 'efghijkl'], [Buffer.from('-abcdefghijkl-')]);
    assert.equal(out.toString(), '-****-');
  });

  it('masks a value that starts inside the held prefix of another', async () => {
    // "xa" is held back as the start of the first value; the second starts at its "a".
    const values = ['xaqqqqqq', 'abbbbbb'];
    const rest = `bbbbbb ${'-'.repeat(40)}`;
    const out = await maskAll(values, [Buffer.from('--xa'), Buffer.from(rest)]);
    assert.equal(out.toString(), `--x**** ${'-'.repeat(40)}`);
  });

  // A match that ends inside a held-back start of another must not cut that start off:
  // written at once, each of these is one merged match.
  for (const [name, values, chunks] of [
    [
      'values that overlap',
      ['PASSWORD_ONE_xyz', 'xyz_SECRET_TWO'],
      ['PASSWORD_ONE_xyz_SEC', 'RET_TWO'],
    ],
    ['a value that overlaps itself', ['k3y_pass_k3y'], ['k3y_pass_k3y_pa', 'ss_k3y']],
    [
      'values that touch',
      ['tok_4f9a2b7c', 'Pa55word', 'Pa55word-2024Q3-extra'],
      ['tok_4f9a2b7cPa55word', '-2024Q3-extra'],
    ],
    [
      'a chain of overlaps over many reads',
      ['k3y_pass_k3y'],
      `${'k3y_pass_'.repeat(40)}k3y`.match(/.{1,7}/g) ?? [],
    ],
  ] as const) {
    it(`masks ${name} split between reads as one`, async () => {
      const out = await maskAll(
        [...values],
        [...chunks, '\n'].map((chunk) => Buffer.from(chunk)),
      );
      assert.equal(out.toString(), '****\n');
    });
  }

  it('flushes a held prefix at the end', async () => {
    const out = await maskAll([SECRET], [Buffer.from(`tail ${SECRET.slice(0, 5)}`)]);
    assert.equal(out.toString(), `tail ${SECRET.slice(0, 5)}`);
  });
});

describe('tessera exec masking', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    const value = Buffer.from(SECRET).toString('base64');
    await request(server, 'POST', '/v1/tessera/data/mask/db', { fields: { value } });
    await request(server, 'POST', '/v1/tessera/data/mask/short', {
      fields: { value: Buffer.from('abc').toString('base64') },
    });
  });
  after(() => server.close());

  it('ends soon after the command while a background process holds its output', async () => {
    const task = shellTask('sleep 20 & echo "started $PW"', [envSecret('PW', '/mask/db')]);
    const dir = await writeTaskDir(task);
    const started = Date.now();
    try {
      const run = startExecCli(
        ['--task', dir.taskFile],
        execEnv(server.address, server.rootToken),
        dir.dir,
      );
      const result = await run.ended();
      assert.equal(result.code, 0, run.stderr());
      assert.ok(Date.now() - started < 10_000, 'tessera exec waited for the background process');
      assert.equal(run.stdout(), 'started ****\n');
      assert.match(run.stderr(), /a process it started still holds its output open/);
    } finally {
      await dir.cleanup();
    }
  });

  // Runs `script` through exec with the secret as a variable and a file on a tmpfs
  // directory of the test's own, and hands the run and the paths to `check`.
  async function withFileSecretRun(
    script: string,
    check: (run: ExecCli, paths: { dir: string; tmpfs: string }) => Promise<void>,
    stdout?: number,
  ): Promise<void> {
    const task = shellTask(
      script,
      [envSecret('PW', '/mask/db')],
      [fileSecret('secrets/db', '/mask/db')],
    );
    const dir = await writeTaskDir(task);
    const tmpfs = await mkdtemp(join('/dev/shm', 'tessera-mask-test-'));
    const run = startExecCli(
      ['--tmpfs-dir', tmpfs, '--task', dir.taskFile],
      execEnv(server.address, server.rootToken),
      dir.dir,
      stdout,
    );
    try {
      await check(run, { dir: dir.dir, tmpfs });
    } finally {
      // A failed check leaves the command running, and it may write without end.
      run.kill();
      await run.ended();
      await rm(tmpfs, { recursive: true, force: true });
      await dir.cleanup();
    }
  }

  it('cleans up when the output reader leaves', { timeout: 30_000 }, async () => {
    // Like `tessera exec ... | head -1`: the command writes without end, and the reader
    // of exec's output closes it after the first line.
    await withFileSecretRun('while :; do echo "$PW"; done', async (run, { dir, tmpfs }) => {
      await run.waitFor('****\n');
      run.child.stdout?.destroy();
      const result = await run.ended();
      // The command fails its next write, with EPIPE or, as the pipe is a socket pair,
      // ECONNRESET, and its failure is passed on.
      assert.notEqual(result.code, 0, run.stderr());
      assert.equal(result.signal, null);
      assert.deepEqual(await readdir(tmpfs), []);
      assert.equal(existsSync(join(dir, 'secrets', 'db')), false);
      assert.match(run.stderr(), /the reader of the command's output has closed it/);
      assert.ok(!run.stderr().includes(SECRET));
    });
  });

  // Like a task whose log reader hangs: exec's stdout is a FIFO that no process reads.
  // exec then ends as the command did, without waiting for its last write.
  for (const [name, script, ending] of [
    // The command exits while exec still has its output to pass on.
    [
      'after the exit',
      'head -c 250000 /dev/zero | tr "\\0" x; echo "$PW"; touch exited',
      { code: 0, signal: null },
    ],
    // exec has taken all the output, and its own stdout still waits for the reader.
    [
      'with the output in exec',
      'head -c 100000 /dev/zero | tr "\\0" x; echo "$PW"; touch exited; exit 5',
      { code: 5, signal: null },
    ],
    // The command blocks on its output, and the SIGTERM ends it.
    [
      'while the command blocks',
      'touch exited; exec head -c 4000000 /dev/zero',
      { code: null, signal: 'SIGTERM' },
    ],
  ] as const) {
    it(`stops with a stuck reader ${name}`, { timeout: 30_000 }, async () => {
      const fifoDir = await mkdtemp(join('/dev/shm', 'tessera-mask-fifo-'));
      const fifo = join(fifoDir, 'stdout');
      execFileSync('mkfifo', [fifo]);
      const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
      const writer = openSync(fifo, constants.O_WRONLY);
      try {
        await withFileSecretRun(
          script,
          async (run, { dir, tmpfs }) => {
            await until(
              () => existsSync(join(dir, 'exited')),
              'the command has written its output',
            );
            await sleep(500);
            // exec waits for the reader, with the secret's file still in place.
            assert.notDeepEqual(await readdir(tmpfs), []);
            run.child.kill('SIGTERM');
            await until(async () => (await readdir(tmpfs)).length === 0, 'the files are gone');
            assert.equal(existsSync(join(dir, 'secrets', 'db')), false);
            assert.match(
              run.stderr(),
              /exec is stopping, and the command's output did not all reach its reader within 2 s; the rest is dropped/,
            );
            assert.ok(!run.stderr().includes(SECRET));
            assert.deepEqual(await run.ended(10_000), ending);
          },
          writer,
        );
      } finally {
        closeSync(writer);
        closeSync(reader);
        await rm(fifoDir, { recursive: true, force: true });
      }
    });
  }

  it('runs on when its stderr reader leaves', { timeout: 30_000 }, async () => {
    // The reader of exec's diagnostics is gone before exec writes its first line.
    await withFileSecretRun('echo started > marker; exit 5', async (run, { dir, tmpfs }) => {
      run.child.stderr?.destroy();
      const result = await run.ended();
      assert.equal(result.code, 5);
      assert.equal(existsSync(join(dir, 'marker')), true);
      assert.deepEqual(await readdir(tmpfs), []);
      assert.equal(existsSync(join(dir, 'secrets', 'db')), false);
    });
  });

  it('masks every form in stdout and stderr', { timeout: 30_000 }, async () => {
    // The value is written in two parts with a pause between, so it reaches the masker
    // in two reads; then each encoding on stdout, and the raw value on stderr.
    const script = [
      'half=$(printf %s "$PW" | cut -c1-5); rest=$(printf %s "$PW" | cut -c6-)',
      'printf "split:%s" "$half"; sleep 0.3; printf "%s\\n" "$rest"',
      'printf "b64:%s\\n" "$(printf %s "$PW" | base64 -w0)"',
      'printf "b64url:%s\\n" "$(printf %s "$PW" | base64 -w0 | tr +/ -_ | tr -d =)"',
      'printf "json:%s\\n" "$(printf %s "$PW" | sed \'s/"/\\\\"/g\')"',
      'printf "err:%s\\n" "$PW" >&2',
      'printf "short:%s\\n" "$SHORT"',
    ].join('; ');
    const task = shellTask(script, [
      envSecret('PW', '/mask/db'),
      envSecret('SHORT', '/mask/short'),
    ]);
    const dir = await writeTaskDir(task);
    try {
      const run = startExecCli(
        ['--task', dir.taskFile],
        execEnv(server.address, server.rootToken),
        dir.dir,
      );
      const result = await run.ended();
      assert.equal(result.code, 0, run.stderr());
      const lines = run.stdout().trim().split('\n');
      assert.deepEqual(
        lines.slice(0, 4).map((line) => line.replace(/=+$/, '')),
        ['split:****', 'b64:****', 'b64url:****', 'json:****'],
      );
      assert.equal(lines[4], 'short:abc');
      assert.ok(run.stderr().includes('err:****'));
      assert.ok(!run.stdout().includes(SECRET));
      assert.ok(!run.stderr().includes(SECRET));
      assert.match(run.stderr(), /1 secret value\(s\) shorter than 6 bytes are not masked/);
    } finally {
      await dir.cleanup();
    }
  });

  it('counts only secrets as too short', { timeout: 30_000 }, async () => {
    // exec also masks its own token, which is shorter than 100 bytes too.
    const dir = await writeTaskDir(shellTask('true', [envSecret('PW', '/mask/db')]));
    try {
      const run = startExecCli(
        ['--task', dir.taskFile, '--mask-min-length', '100'],
        execEnv(server.address, server.rootToken),
        dir.dir,
      );
      const result = await run.ended();
      assert.equal(result.code, 0, run.stderr());
      assert.match(run.stderr(), /warning: 1 secret value\(s\) shorter than 100 bytes/);
    } finally {
      await dir.cleanup();
    }
  });
});
