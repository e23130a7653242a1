import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';

/** Reads a case file copied under test/fixtures/cases/. */
export function readCase(name: string): any {
  return JSON.parse(
    readFileSync(join(import.meta.dirname, '..', 'fixtures', 'cases', name), 'utf8'),
  );
}

/** A pino logger that keeps its lines in memory. */
export function capturedLogger(): { logger: Logger; text(): string } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), text: () => chunks.join('') };
}
