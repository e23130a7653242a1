// Checks the fast search and the chunked masking against a plain reference: every
// occurrence found with `indexOf`, merged where matches overlap or touch, over seeded
// random data, patterns and chunk sizes. The search reads the data at a fixed stride, so
// matches are planted at the very start and end, and the shortest patterns vary.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { LongPatternTails } from '../../src/delivery/long-tails.ts';
import { MASK, MaskStream } from '../../src/delivery/mask.ts';
import { PatternMatcher, type Range } from '../../src/delivery/pattern-matcher.ts';

// mulberry32: a small seeded generator, so that a failure can be replayed from its seed.
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Small alphabets make partial matches common, and so the slow paths. With two letters,
// patterns often overlap one another and themselves.
const ALPHABETS = [Buffer.from('ab'), Buffer.from('abcde')];

function randomBytesFrom(random: () => number, alphabet: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++)
    out[i] = alphabet[Math.floor(random() * alphabet.length)] as number;
  return out;
}

function referenceRanges(data: Buffer, patterns: readonly Buffer[]): Range[] {
  const found: Range[] = [];
  for (const pattern of patterns) {
    for (let at = data.indexOf(pattern); at !== -1; at = data.indexOf(pattern, at + 1)) {
      found.push([at, at + pattern.length]);
    }
  }
  found.sort((a, b) => a[0] - b[0]);
  const merged: Range[] = [];
  for (const [start, end] of found) {
    const last = merged.at(-1);
    if (last !== undefined && start <= last[1]) last[1] = Math.max(last[1], end);
    else merged.push([start, end]);
  }
  return merged;
}

function referenceMask(data: Buffer, patterns: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [];
  let written = 0;
  for (const [start, end] of referenceRanges(data, patterns)) {
    parts.push(data.subarray(written, start), MASK);
    written = end;
  }
  parts.push(data.subarray(written));
  return Buffer.concat(parts);
}

interface Sample {
  data: Buffer;
  patterns: Buffer[];
}

function sample(seed: number, length: number): Sample {
  const random = generator(seed);
  const alphabet = ALPHABETS[seed % ALPHABETS.length] as Buffer;
  const count = 1 + Math.floor(random() * 12);
  const patterns = Array.from({ length: count }, () =>
    randomBytesFrom(random, alphabet, 6 + Math.floor(random() * 40)),
  );
  const data = randomBytesFrom(random, alphabet, length);
  const plant = (at: number) => {
    const pattern = patterns[Math.floor(random() * patterns.length)] as Buffer;
    const start = Math.max(0, Math.min(length - pattern.length, at));
    pattern.copy(data, start);
  };
  plant(0);
  plant(length);
  for (let i = 0; i < 20; i++) plant(Math.floor(random() * length));
  return { data, patterns };
}

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, byte) => byte));

// A shortest pattern of three to nine bytes, so also the three-byte grams and strides of a
// single byte, and bytes of every value, which make negative grams.
function shortPatternSample(seed: number): Sample {
  const random = generator(seed);
  const alphabet = seed % 3 === 0 ? ALL_BYTES : (ALPHABETS[seed % 2] as Buffer);
  const shortest = 3 + Math.floor(random() * 7);
  const patterns = Array.from({ length: 1 + Math.floor(random() * 8) }, (_, i) =>
    randomBytesFrom(random, alphabet, shortest + (i === 0 ? 0 : Math.floor(random() * 30))),
  );
  const length = Math.floor(random() * 600);
  const data = randomBytesFrom(random, alphabet, length);
  for (const at of [0, length, Math.floor(random() * length), Math.floor(random() * length)]) {
    const pattern = patterns[Math.floor(random() * patterns.length)] as Buffer;
    if (pattern.length <= length) pattern.copy(data, Math.min(at, length - pattern.length));
  }
  return { data, patterns };
}

// Patterns cut from one random text, and output made of pieces of that text, so that
// matches often overlap or touch one another, also across reads.
function overlappingSample(seed: number, length: number): Sample {
  const random = generator(seed);
  const text = randomBytesFrom(random, Buffer.from('abcdefgh'), 200);
  const piece = (min: number, max: number) => {
    const size = min + Math.floor(random() * (max - min));
    const start = Math.floor(random() * (text.length - size));
    return text.subarray(start, start + size);
  };
  const patterns = Array.from({ length: 3 + Math.floor(random() * 6) }, () => piece(6, 30));
  const parts: Buffer[] = [];
  for (let total = 0; total < length; total += (parts.at(-1) as Buffer).length) {
    parts.push(random() < 0.8 ? piece(5, 60) : randomBytesFrom(random, ALPHABETS[1] as Buffer, 20));
  }
  return { data: Buffer.concat(parts).subarray(0, length), patterns };
}

// Long patterns that start with many repeats of one short text, and output that repeats
// it too, with some of the patterns whole: the held-back tails are long.
function longSample(seed: number, length: number): Sample {
  const random = generator(seed);
  const unit = randomBytesFrom(random, Buffer.from('abc'), 5 + Math.floor(random() * 30));
  const patterns = Array.from({ length: 3 }, () =>
    Buffer.concat([
      Buffer.alloc(unit.length * (3 + Math.floor(random() * 60)), unit),
      randomBytesFrom(random, Buffer.from('abc'), 1 + Math.floor(random() * 40)),
    ]),
  );
  const parts: Buffer[] = [];
  for (let total = 0; total < length; total += (parts.at(-1) as Buffer).length) {
    const pick = random();
    if (pick < 0.1) parts.push(patterns[Math.floor(random() * patterns.length)] as Buffer);
    else if (pick < 0.2) parts.push(randomBytesFrom(random, Buffer.from('abc'), 50));
    else parts.push(Buffer.alloc(unit.length * Math.floor(random() * 80), unit));
  }
  return { data: Buffer.concat(parts).subarray(0, length), patterns };
}

// Values that repeat one short unit, some ending inside it, and output made of long runs
// of that unit with breaks: matches of a value overlap it by every multiple of its period.
function periodicSample(seed: number, length: number): Sample {
  const random = generator(seed);
  const unit = randomBytesFrom(random, ALPHABETS[seed % 2] as Buffer, 1 + Math.floor(random() * 4));
  const periodic = (size: number) => Buffer.alloc(size, unit);
  const patterns = Array.from({ length: 1 + Math.floor(random() * 3) }, () =>
    periodic(6 + Math.floor(random() * 200)),
  );
  const parts: Buffer[] = [];
  for (let total = 0; total < length; total += (parts.at(-1) as Buffer).length) {
    parts.push(
      random() < 0.7
        ? periodic(Math.floor(random() * 2000))
        : randomBytesFrom(random, ALPHABETS[1] as Buffer, 1 + Math.floor(random() * 5)),
    );
  }
  return { data: Buffer.concat(parts).subarray(0, length), patterns };
}

async function maskInChunks(sample: Sample, random: () => number): Promise<Buffer> {
  const stream = new MaskStream(sample.patterns);
  const out: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => out.push(chunk));
  const ended = new Promise((resolve) => stream.once('end', resolve));
  for (let at = 0; at < sample.data.length; ) {
    // Mostly large chunks, as a pipe gives them, with tiny ones in between.
    const size = random() < 0.3 ? 1 + Math.floor(random() * 60) : 1 + Math.floor(random() * 20000);
    stream.write(sample.data.subarray(at, at + size));
    at += size;
  }
  stream.end();
  await ended;
  return Buffer.concat(out);
}

describe('PatternMatcher against a reference search', () => {
  for (const length of [100, 5000, 70000]) {
    it(`finds every match in ${length} bytes`, () => {
      for (let seed = 1; seed <= 40; seed++) {
        const { data, patterns } = sample(seed, length);
        const ranges = new PatternMatcher(patterns).findRanges(data);
        assert.deepEqual(ranges, referenceRanges(data, patterns), `seed ${seed}`);
      }
    });
  }

  it('finds every match of periodic patterns', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const { data, patterns } = periodicSample(seed, 6000);
      const ranges = new PatternMatcher(patterns).findRanges(data);
      assert.deepEqual(ranges, referenceRanges(data, patterns), `seed ${seed}`);
    }
  });

  it('finds every match of patterns from three bytes up', () => {
    for (let seed = 1; seed <= 600; seed++) {
      const { data, patterns } = shortPatternSample(seed);
      const ranges = new PatternMatcher(patterns).findRanges(data);
      assert.deepEqual(ranges, referenceRanges(data, patterns), `seed ${seed}`);
    }
  });
});

// The longest tail of `data` that starts a pattern, shorter than it, tried length by length.
function referenceTail(data: Buffer, patterns: readonly Buffer[]): number {
  let best = 0;
  for (const pattern of patterns) {
    for (let k = Math.min(pattern.length - 1, data.length); k > best; k--) {
      if (data.subarray(data.length - k).equals(pattern.subarray(0, k))) best = k;
    }
  }
  return best;
}

describe('LongPatternTails against a reference', () => {
  it('finds the longest tail that starts a long pattern', () => {
    for (let seed = 1; seed <= 500; seed++) {
      const random = generator(seed);
      const alphabet = ALPHABETS[seed % ALPHABETS.length] as Buffer;
      const unit = randomBytesFrom(random, alphabet, 1 + Math.floor(random() * 6));
      // Half the patterns repeat a short unit, the other half are random over the alphabet.
      const pattern =
        seed % 4 < 2
          ? Buffer.concat([
              Buffer.alloc(unit.length * (2 + Math.floor(random() * 30)), unit),
              randomBytesFrom(random, alphabet, 1 + Math.floor(random() * 20)),
              Buffer.alloc(unit.length * Math.floor(random() * 10), unit),
            ])
          : randomBytesFrom(random, Buffer.from('ab'), 10 + Math.floor(random() * 50));
      const data = Buffer.concat([
        randomBytesFrom(random, Buffer.from('ab'), Math.floor(random() * 50)),
        pattern.subarray(0, Math.floor(random() * pattern.length)),
        random() < 0.5 ? Buffer.alloc(0) : randomBytesFrom(random, Buffer.from('ab'), 8),
      ]);
      const expected = referenceTail(data, [pattern]);
      const found = new LongPatternTails([pattern], 4).longestTail(data);
      assert.equal(found, expected > 4 ? expected : 0, `seed ${seed}`);
    }
  });
});

describe('PatternMatcher tails against a reference', () => {
  it('finds the longest tail that starts a pattern', () => {
    for (let seed = 1; seed <= 500; seed++) {
      const random = generator(seed);
      const alphabet = ALPHABETS[seed % ALPHABETS.length] as Buffer;
      // Short and long patterns, so that both the byte-pair table and the long tails serve.
      const patterns = Array.from({ length: 1 + Math.floor(random() * 6) }, () =>
        randomBytesFrom(random, alphabet, 3 + Math.floor(random() * (seed % 2 ? 20 : 90))),
      );
      const pattern = patterns[Math.floor(random() * patterns.length)] as Buffer;
      const data = Buffer.concat([
        randomBytesFrom(random, alphabet, Math.floor(random() * 40)),
        pattern.subarray(0, Math.floor(random() * pattern.length)),
      ]);
      const found = new PatternMatcher(patterns).pendingTailLength(data);
      assert.equal(found, referenceTail(data, patterns), `seed ${seed}`);
    }
  });
});

describe('MaskStream against a reference masker', () => {
  it('masks overlapping and touching matches whatever the chunk sizes', async () => {
    for (let seed = 1; seed <= 30; seed++) {
      const input = overlappingSample(seed, 20000);
      const out = await maskInChunks(input, generator(seed * 104729));
      assert.ok(out.equals(referenceMask(input.data, input.patterns)), `seed ${seed}`);
    }
  });

  it('masks long values whose start the output repeats', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const input = longSample(seed, 60000);
      const out = await maskInChunks(input, generator(seed * 7));
      assert.ok(out.equals(referenceMask(input.data, input.patterns)), `seed ${seed}`);
    }
  });

  it('masks periodic values whatever the chunk sizes', async () => {
    for (let seed = 1; seed <= 50; seed++) {
      const input = periodicSample(seed, 20000);
      const out = await maskInChunks(input, generator(seed * 13));
      assert.ok(out.equals(referenceMask(input.data, input.patterns)), `seed ${seed}`);
    }
  });

  // Each position of such output starts a match, so comparing the whole value at each one
  // took the value's length per byte: hours for these 16 MiB.
  it('masks a long run of a periodic value in time', { timeout: 60_000 }, async () => {
    const value = Buffer.alloc(64 * 1024);
    const zeros = Buffer.alloc(8 * 1024 * 1024);
    const input = { data: Buffer.concat([zeros, Buffer.from('x'), zeros]), patterns: [value] };
    const out = await maskInChunks(input, generator(5));
    assert.equal(out.toString('latin1'), '****x****');
  });

  it('masks patterns from three bytes up whatever the chunk sizes', async () => {
    for (let seed = 1; seed <= 100; seed++) {
      const input = shortPatternSample(seed);
      const out = await maskInChunks(input, generator(seed * 31));
      assert.ok(out.equals(referenceMask(input.data, input.patterns)), `seed ${seed}`);
    }
  });

  it('masks the same bytes whatever the chunk sizes', async () => {
    for (let seed = 1; seed <= 30; seed++) {
      const input = sample(seed, 60000);
      const out = await maskInChunks(input, generator(seed * 7919));
      assert.ok(out.equals(referenceMask(input.data, input.patterns)), `seed ${seed}`);
    }
  });
});
