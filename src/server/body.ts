import type { FastifyInstance } from 'fastify';
import { TesseraError } from '../errors.ts';
import { parseJson } from '../mesos/json.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses every request body as JSON, whatever its Content-Type: Vault accepts
 * `curl --data` (which sends application/x-www-form-urlencoded), and so do its clients'
 * users. Bytes that are not UTF-8 are rejected instead of being turned into U+FFFD, which
 * would store a different secret from the one sent. Keys named `__proto__`, and
 * `constructor` holding `prototype`, are rejected by Fastify's parser, which guards
 * against prototype pollution.
 */
export function registerJsonBodies(app: FastifyInstance) {
  const parseSecurely = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => {
    let text: string;
    try {
      text = utf8.decode(body as Buffer);
    } catch {
      done(
        new TesseraError('INVALID_ARGUMENT', 'request body is not valid UTF-8; send JSON text'),
        undefined,
      );
      return;
    }
    parseSecurely(request, text, (error, parsed) => {
      done(error ? bodyError(error, text) : null, parsed);
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

function prototypeKeyError(): TesseraError {
  return new TesseraError(
    'INVALID_ARGUMENT',
    'request body has a key named __proto__, or constructor.prototype, which the server does not accept; rename that key (a field of a secret cannot have that name)',
  );
}
