import type { z } from 'zod';
import { TesseraError } from '../errors.ts';

/**
 * Turns a Zod failure into one INVALID_ARGUMENT error that names each bad field by its
 * JSON path. Zod's issue messages describe the expected shape, not the received value, so
 * no input (which may be a secret) is echoed.
 */
export function inputError(error: z.ZodError, what: string): TesseraError {
  const problems = error.issues.map((issue) => {
    const path = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
    return { path, message: issue.message };
  });
  const lines = problems.map((p) => `${p.path}: ${p.message}`);
  return new TesseraError('INVALID_ARGUMENT', `${what} is invalid: ${lines.join('; ')}`, {
    problems,
  });
}
