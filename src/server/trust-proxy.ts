import { isIP } from 'node:net';

import { TesseraError } from '../errors.ts';
import { printable } from '../mesos/secret-rules.ts';

// The named ranges that @fastify/proxy-addr expands, through which Fastify reads `trustProxy`.
const NAMED_RANGES: ReadonlySet<string> = new Set(['loopback', 'linklocal', 'uniquelocal']);

// The maximum length of an entry that an error quotes in full.
const MAX_QUOTED_ENTRY = 64;

/**
 * Checks one entry of Fastify's `trustProxy` list: an IP address, an address with a prefix
 * length (`10.0.0.0/8`, `fd00::/8`) or, for IPv4, a netmask (`10.0.0.0/255.0.0.0`), or one
 * of the named ranges loopback, linklocal and uniquelocal. Throws INVALID_ARGUMENT naming
 * `what` and the entry.
 *
 * Fastify compiles the list with @fastify/proxy-addr 5 when the server is built, and that
 * throws a TypeError on an entry it cannot read. It reads every entry accepted here. It
 * also reads IPv4 forms such as `127.1` and `0x7f.0.0.1`, which node:net's isIP, and so
 * this check, rejects.
 */
export function checkTrustedProxy(entry: string, what: string): void {
  if (NAMED_RANGES.has(entry)) return;

  const slash = entry.lastIndexOf('/');
  const address = slash === -1 ? entry : entry.slice(0, slash);
  const version = isIP(address);
  if (version === 0) {
    throw invalidEntry(
      entry,
      what,
      'is not an IP address, a CIDR range such as 10.0.0.0/8, or loopback, linklocal or ' +
        'uniquelocal',
    );
  }
  if (slash === -1) return;

  const range = entry.slice(slash + 1);
  const bits = version === 4 ? 32 : 128;
  // proxy-addr rejects a prefix length of 0, which would trust every address.
  if (/^\d{1,3}$/.test(range) && Number(range) >= 1 && Number(range) <= bits) return;
  if (version === 4 && isNetmask(range)) return;
  const netmask = version === 4 ? ', or a netmask such as 255.0.0.0' : '';
  throw invalidEntry(entry, what, `has an invalid prefix length; give 1 to ${bits}${netmask}`);
}

// A netmask is a dotted IPv4 address whose bits are ones, then zeros, with at least one 1.
function isNetmask(text: string): boolean {
  if (isIP(text) !== 4) return false;
  const mask = text.split('.').reduce((value, part) => value * 256 + Number(part), 0);
  const hostBits = 2 ** 32 - 1 - mask;
  return mask !== 0 && (hostBits & (hostBits + 1)) === 0;
}

function invalidEntry(entry: string, what: string, problem: string): TesseraError {
  const cut = entry.length > MAX_QUOTED_ENTRY ? `${entry.slice(0, MAX_QUOTED_ENTRY)}...` : entry;
  return new TesseraError('INVALID_ARGUMENT', `${what} entry '${printable(cut)}' ${problem}`);
}
