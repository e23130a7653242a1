// How the masker's output reaches the destination. Plain output goes out as one buffer a
// chunk, with the held bytes of the chunk in it. Nothing waits past the turn of the event
// loop in which it came, but for bytes that may start a secret.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';

import { buildMaskPatterns, MASK, MaskStream } from '../../src/delivery/mask.ts';
import { CoalescedOutput } from '../../src/delivery/mask-output.ts';

const SECRET = 'Tr0ub4dor&3-horse';

function maskStream(values: string[]): { stream: MaskStream; pushed: Buffer[] } {
  const { patterns } = buildMaskPatterns(
    values.map((value) => Buffer.from(value)),
    6,
  );
  const stream = new MaskStream(patterns);
  const pushed: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => pushed.push(chunk));
  return { stream, pushed };
}

function collect(): { output: CoalescedOutput; pushed: Buffer[] } {
  const pushed: Buffer[] = [];
  return { output: new CoalescedOutput((chunk) => pushed.push(chunk)), pushed };
}

describe('CoalescedOutput', () => {
  it('pushes adjacent spans as the chunk itself', () => {
    const { output, pushed } = collect();
    const chunk = Buffer.from('first line\nsecond line\n');
    output.span(chunk, 0, 11);
    output.span(chunk, 11, chunk.length);
    output.flush();
    assert.equal(pushed.length, 1);
    assert.equal(pushed[0], chunk);
  });

  it('pushes a span of another chunk apart', () => {
    const { output, pushed } = collect();
    const first = Buffer.from('aaaa');
    const second = Buffer.from('bbbb');
    output.span(first, 0, 2);
    output.span(second, 0, 4);
    output.flush();
    assert.deepEqual(
      pushed.map((chunk) => chunk.toString()),
      ['aa', 'bbbb'],
    );
  });

  it('keeps one match uncopied', () => {
    const { output, pushed } = collect();
    const chunk = Buffer.from('keep-drop-keep');
    output.span(chunk, 0, 5);
    output.insert(MASK);
    output.span(chunk, 9, chunk.length);
    output.flush();
    assert.deepEqual(
      pushed.map((part) => part.toString()),
      ['keep-', '****', '-keep'],
    );
    assert.equal(pushed[0]?.buffer, chunk.buffer);
  });

  it('joins many matches into one buffer', () => {
    const { output, pushed } = collect();
    const chunk = Buffer.from('drop-keep-drop-keep');
    output.insert(MASK);
    output.span(chunk, 4, 10);
    output.insert(MASK);
    output.span(chunk, 14, chunk.length);
    output.flush();
    assert.deepEqual(
      pushed.map((part) => part.toString()),
      ['****-keep-****-keep'],
    );
  });

  it('flushes in the next turn by itself', async () => {
    const { output, pushed } = collect();
    output.span(Buffer.from('waiting'), 0, 7);
    output.flushLater();
    assert.equal(pushed.length, 0);
    await nextTurn();
    assert.deepEqual(
      pushed.map((chunk) => chunk.toString()),
      ['waiting'],
    );
  });

  it('drops the waiting span on cancel', async () => {
    const { output, pushed } = collect();
    output.span(Buffer.from('dropped'), 0, 7);
    output.flushLater();
    output.cancel();
    await nextTurn();
    assert.equal(pushed.length, 0);
  });
});

describe('MaskStream output', () => {
  it('sends a chunk without held bytes at once', () => {
    const { stream, pushed } = maskStream([SECRET]);
    const chunk = Buffer.from(`nothing held here ${'-'.repeat(60)}\n`);
    stream.write(chunk);
    assert.equal(pushed.length, 1);
    assert.equal(pushed[0], chunk);
  });

  it('sends held bytes with their chunk', async () => {
    const { stream, pushed } = maskStream([SECRET]);
    // Each chunk ends with the first byte of the value, which is held until the next one.
    // The chunks are longer than every form of the value, as pipe reads of busy output are.
    const texts = ['one', 'two', 'three'].map((word) => `line ${word} ${'-'.repeat(60)} T`);
    const chunks = texts.map((text) => Buffer.from(text));
    for (const chunk of chunks) stream.write(chunk);
    stream.end();
    await new Promise((resolve) => stream.once('end', resolve));
    assert.equal(Buffer.concat(pushed).toString(), texts.join(''));
    assert.equal(pushed.length, 3);
    assert.equal(pushed[0], chunks[0]);
    assert.equal(pushed[1], chunks[1]);
    assert.equal(pushed[2], chunks[2]);
  });

  it('sends dense matches as one buffer', () => {
    const { stream, pushed } = maskStream([SECRET]);
    const chunk = Buffer.from(`password=${SECRET} ok\n`.repeat(500));
    stream.write(chunk);
    assert.equal(pushed.length, 1);
    assert.equal(pushed[0]?.toString(), 'password=**** ok\n'.repeat(500));
  });

  it('sends plain output without more input', async () => {
    const { stream, pushed } = maskStream([SECRET]);
    stream.write(Buffer.from('Password for db: T'));
    await nextTurn();
    await nextTurn();
    // Only the byte that could start the value waits for more output.
    assert.equal(Buffer.concat(pushed).toString(), 'Password for db: ');
    stream.end(Buffer.from('oo late\n'));
    await new Promise((resolve) => stream.once('end', resolve));
    assert.equal(Buffer.concat(pushed).toString(), 'Password for db: Too late\n');
  });

  it('masks a value split across a sent chunk', async () => {
    const { stream, pushed } = maskStream([SECRET]);
    const text = `start ${SECRET} end\n`;
    stream.write(Buffer.from(text.slice(0, 10)));
    await nextTurn();
    stream.end(Buffer.from(text.slice(10)));
    await new Promise((resolve) => stream.once('end', resolve));
    assert.equal(Buffer.concat(pushed).toString(), 'start **** end\n');
  });

  it('sends nothing after destroy', async () => {
    const { stream, pushed } = maskStream([SECRET]);
    // The chunk waits, because its last byte may start the value.
    stream.write(Buffer.from('never sent T'));
    stream.destroy();
    await nextTurn();
    await nextTurn();
    assert.equal(pushed.length, 0);
  });
});
