import type { FastifyInstance } from 'fastify';
import { TesseraError } from '../errors.ts';
import { checkDuplicateKeys } from '../mesos/definition-json.ts';
import { parseJson } from '../mesos/json.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses every request body as JSON, whatever its Content-Type: Vault accepts
 * `curl --data` (which sends application/x-www-form-urlencoded), and so do its clients'
 * users. Bytes that are not UTF-8 are rejected instead of being turned into U+FFFD, which
 * would store a different secret from the one sent. Keys named `__proto__`, and
 * `constructor` holding `prototype`, are rejected by Fastify's parser, which guards
 * against prototype pollution. An object with the same key twice is rejected too, because
 * the parser would keep the second value and drop the first unseen.
 */
export function registerJsonBodies(app: FastifyInstance) {
  const parseSecurely = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = body as Buffer;
    // A Content-Type without a body, as some clients send on DELETE, is no body.
    if (bytes.length === 0) {
      done(null, undefined);
      return;
    }
    const text = bodyText(bytes, request.headers['content-encoding']);
    if (text instanceof TesseraError) {
      done(text, undefined);
      return;
    }
    parseSecurely(request, text, (error, parsed) => {
      done(error ? bodyError(error, text) : duplicateKeyError(text), parsed);
    });
  });
}

// Fastify's parser reports JSON with a forbidden key as invalid JSON. A syntax error is
// reported again by line and column, never with the text, and text that JSON.parse
// accepts was refused for such a key.
function bodyError(error: Error, text: string): Error {
  if (text.trim() === '') return error;
  try {
    parseJson(text, 'request body');
  } catch (syntaxError) {
    return syntaxError as Error;
  }
  return prototypeKeyError();
}

// Decodes the body as UTF-8 text. Fastify does not decompress bodies, so one with a
// Content-Encoding is rejected, naming the encoding only when it is a short token.
function bodyText(bytes: Buffer, encoding: string | string[] | undefined): string | TesseraError {
  const value = (Array.isArray(encoding) ? encoding.join(', ') : (encoding ?? '')).trim();
  if (value !== '' && value.toLowerCase() !== 'identity') {
    const shown = /^[A-Za-z0-9-]{1,20}$/.test(value) ? ` '${value}'` : '';
    return new TesseraError(
      'INVALID_ARGUMENT',
      `request body has Content-Encoding${shown}, which the server does not decode; send the JSON uncompressed, without Content-Encoding`,
    );
  }
  try {
    return utf8.decode(bytes);
  } catch {
    return new TesseraError('INVALID_ARGUMENT', 'request body is not valid UTF-8; send JSON text');
  }
}

// The key is not quoted: a body's keys include the field names of secrets, which errors
// never show, since a value pasted as a name would come back in the message.
function duplicateKeyError(text: string): Error | null {
  try {
    checkDuplicateKeys(text, 'request body', { quoteKey: false });
    return null;
  } catch (error) {
    return error as Error;
  }
}

function prototypeKeyError(): TesseraError {
  return new TesseraError(
    'INVALID_ARGUMENT',
    'request body has a key named __proto__, or constructor.prototype, which the server does not accept; rename that key (a field of a secret cannot have that name)',
  );
}
