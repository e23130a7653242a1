import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export { capturedLogger } from '../helpers/log.ts';

/** Reads a case file copied under test/fixtures/cases/. */
export function readCase(name: string): any {
  return JSON.parse(
    readFileSync(join(import.meta.dirname, '..', 'fixtures', 'cases', name), 'utf8'),
  );
}
