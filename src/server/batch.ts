import { type ErrorCode, isTesseraError, TesseraError } from '../errors.ts';
import { parseSecretPath } from '../store/path.ts';
import type { SecretWrite } from '../store/secrets.ts';
import { checkFields } from '../store/secrets-input.ts';
import { decodeFields } from './base64-fields.ts';
import { checkSecretSize } from './limits.ts';

/** One write of a batch as the request body gives it. */
export interface BatchWriteInput {
  path: string;
  fields: Record<string, string>;
  cas?: number;
}

interface WriteError {
  index: number;
  code: ErrorCode;
  message: string;
}

/**
 * Validates every write of a batch before any is authorised: its path, fields and size,
 * and that no two writes name one path. Throws one error that lists each invalid write
 * by its index, with the code they share, or INVALID_ARGUMENT when their codes differ.
 */
export function parseBatchWrites(inputs: BatchWriteInput[], maxSecretBytes: number): SecretWrite[] {
  const writes: SecretWrite[] = [];
  const errors: WriteError[] = [];
  const seen = new Map<string, number>();
  for (const [index, input] of inputs.entries()) {
    try {
      const write = parseWrite(input, maxSecretBytes);
      rejectRepeatedPath(write.path, seen, index);
      writes.push(write);
    } catch (error) {
      if (!isTesseraError(error)) throw error;
      errors.push({ index, code: error.code, message: error.message });
    }
  }
  if (errors.length > 0) throw batchError(errors, inputs.length);
  return writes;
}

function parseWrite(input: BatchWriteInput, maxSecretBytes: number): SecretWrite {
  const path = parseSecretPath(input.path);
  const fields = decodeFields(input.fields, 'fields');
  checkFields(fields, path);
  checkSecretSize(path, fields, maxSecretBytes);
  return { path, fields, cas: input.cas };
}

// Two writes of one path in a batch would make the second an update that was authorised
// as a create, so a batch names each path once.
function rejectRepeatedPath(path: string, seen: Map<string, number>, index: number): void {
  const first = seen.get(path);
  if (first !== undefined) {
    throw new TesseraError(
      'INVALID_ARGUMENT',
      `repeats the path '${path}' of writes[${first}]; put all its fields in one write`,
    );
  }
  seen.set(path, index);
}

function batchError(errors: WriteError[], total: number): TesseraError {
  const codes = new Set(errors.map((error) => error.code));
  const code = codes.size === 1 ? [...codes][0] : undefined;
  const lines = errors.map((error) => `writes[${error.index}]: ${error.message}`).join('; ');
  return new TesseraError(
    code ?? 'INVALID_ARGUMENT',
    `${errors.length} of ${total} writes are invalid, so nothing was written: ${lines}`,
    { errors },
  );
}
