import type { FastifyRequest } from 'fastify';
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

/**
 * Parses the request body with `schema`; a missing body counts as `{}`, because Vault
 * clients send some calls with no body at all. Throws INVALID_ARGUMENT naming each bad
 * field.
 */
export function parseBody<T>(schema: z.ZodType<T>, request: FastifyRequest): T {
  const result = schema.safeParse(request.body ?? {});
  if (!result.success) throw inputError(result.error, 'request body');
  return result.data;
}
