import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { TesseraError } from '../errors.ts';
import { describeInputIssue, inputProblems, invalidInput } from '../input-issues.ts';

/**
 * Turns a Zod failure into one INVALID_ARGUMENT error that names each bad field by its
 * JSON path, as in `writes[1].path must be a string`. The messages describe the expected
 * shape, not the received value, so no input (which may be a secret) is echoed.
 */
export function inputError(error: z.ZodError, what: string): TesseraError {
  return invalidInput(what, inputProblems(error));
}

/**
 * Parses `input` with `schema`, with messages in the terms of the JSON document. Throws
 * INVALID_ARGUMENT naming `what` and each bad field.
 */
export function parseInput<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const result = schema.safeParse(input, { error: describeInputIssue });
  if (!result.success) throw inputError(result.error, what);
  return result.data;
}

/**
 * Parses the request body with `schema`; a missing body counts as `{}`, because Vault
 * clients send some calls with no body at all. Throws INVALID_ARGUMENT naming each bad
 * field.
 */
export function parseBody<T>(schema: z.ZodType<T>, request: FastifyRequest): T {
  return parseInput(schema, request.body ?? {}, 'request body');
}
