import { TesseraError } from '../errors.ts';
import { type MesosReadOptions, readMesosJson } from '../mesos/mesos-http.ts';
import { endpointUrl } from '../mesos/mesos-url.ts';
import type { Finding } from './finding.ts';
import { scanDocument } from './scan.ts';

/**
 * Reads a Mesos master's `/state` and `/flags` with the client of `tessera doctor` and
 * scans both. Each finding's source is the endpoint's URL without credentials. `/state`
 * repeats the master's flags under `flags`, so they are scanned once, from `/flags`. Throws
 * UNREACHABLE, with the client's message and fix, when either cannot be read.
 *
 * NOTE: a master that is not the leader responds to `/state` with 307, and this fails with
 * a message naming the leader. `tessera doctor` follows that redirect, but this does not.
 */
export async function scanMaster(master: URL, options: MesosReadOptions): Promise<Finding[]> {
  const stateUrl = endpointUrl(master, 'state');
  const flagsUrl = endpointUrl(master, 'flags');
  const [state, flags] = await Promise.all([
    readMesosJson(stateUrl, { role: 'master' }, options),
    readMesosJson(flagsUrl, { role: 'master' }, options),
  ]);
  for (const read of [state, flags]) {
    if (!read.ok) {
      throw new TesseraError(
        'UNREACHABLE',
        `failed to read the Mesos master: ${read.failure.message}`,
      );
    }
  }

  const stateBody = objectOf(state.ok ? state.body : undefined, '/state');
  const flagsBody = objectOf(flags.ok ? flags.body : undefined, '/flags');
  const { flags: _repeated, ...stateRest } = stateBody;
  return [
    ...scanDocument(stateRest, `${stateUrl.origin}${stateUrl.pathname}`),
    ...scanDocument(flagsBody, `${flagsUrl.origin}${flagsUrl.pathname}`),
  ];
}

// A master returns a JSON object from both endpoints; anything else is not a master.
function objectOf(body: unknown, endpoint: string): Record<string, unknown> {
  if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
    return body as Record<string, unknown>;
  }
  throw new TesseraError(
    'UNREACHABLE',
    `the master's ${endpoint} is not a JSON object; check that --master points at a Mesos master`,
  );
}
