import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';

/** Returns a pino logger at debug level that keeps its lines in memory. */
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
