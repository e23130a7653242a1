import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { RecordIoError, readRecords } from '../../src/mesos/recordio.ts';

function frame(text: string): string {
  return `${Buffer.byteLength(text)}\n${text}`;
}

async function collect(chunks: string[], maxRecordBytes?: number): Promise<string[]> {
  async function* source() {
    for (const chunk of chunks) yield Buffer.from(chunk);
  }
  const out: string[] = [];
  for await (const record of readRecords(source(), maxRecordBytes)) out.push(record.toString());
  return out;
}

describe('readRecords', () => {
  it('reads records split anywhere across chunks', async () => {
    const stream = frame('{"type":"SUBSCRIBED"}') + frame('{"a":"é"}') + frame('');
    for (let cut = 0; cut <= stream.length; cut++) {
      const records = await collect([stream.slice(0, cut), stream.slice(cut)]);
      assert.deepEqual(records, ['{"type":"SUBSCRIBED"}', '{"a":"é"}', ''], `cut at ${cut}`);
    }
  });

  it('reads several records from one chunk', async () => {
    const records = await collect([frame('one') + frame('two') + frame('three')]);
    assert.deepEqual(records, ['one', 'two', 'three']);
  });

  it('counts the length in bytes, not characters', async () => {
    const records = await collect([frame('ünïcödé') + frame('x')]);
    assert.deepEqual(records, ['ünïcödé', 'x']);
  });

  it('rejects a length that is not a number', async () => {
    await assert.rejects(collect(['12a\n{}']), RecordIoError);
  });

  it('rejects a length without an end', async () => {
    await assert.rejects(collect(['1'.repeat(30)]), /has no end/);
  });

  it('rejects a record over the limit', async () => {
    await assert.rejects(
      collect([frame('x'.repeat(100))], 50),
      /100 bytes is over the limit of 50/,
    );
  });

  it('rejects a stream that ends inside a record', async () => {
    await assert.rejects(collect(['10\n{"a"']), /ended inside a record/);
  });

  it('never quotes the bytes in an error', async () => {
    const canary = 'canary-recordio-4d1c';
    await assert.rejects(
      collect([`${canary}\n`]),
      (error: Error) => !error.message.includes(canary),
    );
  });
});
