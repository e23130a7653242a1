import { TesseraError } from '../errors.ts';
import { type AgentReport, inspectAgent } from './doctor-agent.ts';
import {
  type MasterState,
  MasterStateSchema,
  stateFindings,
  type TaskFinding,
} from './doctor-state.ts';
import {
  describeRequest,
  LEADER_FIX,
  type MesosFailure,
  type MesosReadOptions,
  readMesosJson,
} from './mesos-http.ts';
import { baseOf, displayBase, endpointUrl, parseMasterUrl } from './mesos-url.ts';
import {
  checkAuthorization,
  DEFAULT_MAX_BODY_BYTES,
  MAX_BODY_MIB,
  MAX_TIMEOUT_MS,
  mibToBytes,
  parseCount,
} from './read-options.ts';
import { describeShape } from './schema.ts';

export type { AgentReport } from './doctor-agent.ts';

const MASTER = { role: 'master' } as const;

/** Options of `runDoctor`. */
export interface DoctorOptions {
  /**
   * The master's base URL, such as `http://master.example:5050`. Its path is kept, so
   * `https://dcos.example/mesos/` reads `https://dcos.example/mesos/state`.
   */
  master: URL | string;
  /** Time allowed for each HTTP request, in milliseconds, at most MAX_TIMEOUT_MS. */
  timeoutMs: number;
  /** Maximum size of each response body, in bytes; DEFAULT_MAX_BODY_BYTES when unset. */
  maxBodyBytes?: number;
  /** How many agents are read at the same time. */
  concurrency: number;
  /** The Authorization header for masters and agents with HTTP authentication. */
  authorization?: string;
  /** Called after each agent is read, with the count done and the total. */
  onProgress?: (done: number, total: number) => void;
}

/** The report of `runDoctor`, as `tessera doctor --format json` prints it. */
export interface DoctorReport {
  master: { url: string; version: string };
  /** Lines about the master itself, such as a redirect to the leader. */
  notes: string[];
  agents: AgentReport[];
  tasks: TaskFinding[];
}

/**
 * Reads the master's `/version` and `/state`, then every agent's `/flags` (at most
 * `concurrency` at a time, each within `timeoutMs`), and judges each agent's native
 * secret support. A master that answers 307 to either read is followed once, to the leader.
 * Only GET requests are sent. An agent that cannot be read gets a finding, not an error.
 * Throws INVALID_ARGUMENT, naming the option, for an invalid option, and UNREACHABLE
 * when the master's `/version` or `/state` cannot be read or `/state` is not a master's.
 */
export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const notes: string[] = [];
  const read: MesosReadOptions = {
    timeoutMs: parseCount(options.timeoutMs, 'timeoutMs', MAX_TIMEOUT_MS),
    maxBodyBytes: parseCount(
      options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      'maxBodyBytes',
      mibToBytes(MAX_BODY_MIB),
    ),
    authorization: checkAuthorization(options.authorization, 'authorization'),
  };
  const concurrency = parseCount(options.concurrency, 'concurrency');
  const initial = parseMasterUrl(options.master, 'master', 'send them in authorization');
  const { master, version, state } = await readMaster(initial, read, notes);
  const slaves = state.slaves.map((slave, index) => ({ slave, index }));
  const agents = await mapBounded(slaves, concurrency, options.onProgress, ({ slave, index }) =>
    inspectAgent(slave, index, master.protocol, read),
  );
  return {
    master: { url: displayBase(master), version },
    notes,
    agents,
    tasks: stateFindings(state),
  };
}

// Reads /version and /state, following one redirect to the leader, and checks that the
// state is a master's. Every Mesos process serves /version itself, so a non-leading master
// redirects only /state (`src/master/http.cpp`). Throws UNREACHABLE with the failure.
async function readMaster(
  initial: URL,
  read: MesosReadOptions,
  notes: string[],
): Promise<{ master: URL; version: string; state: MasterState }> {
  let master = initial;
  let result = await readVersionAndState(master, read);
  if (!result.ok && result.failure.kind === 'redirect' && result.failure.location) {
    notes.push(result.failure.message.replace(`; ${LEADER_FIX}`, '; using the leader'));
    master = baseOf(new URL(result.failure.location), result.endpoint);
    result = await readVersionAndState(master, read);
  }
  if (!result.ok) throw masterFailure(result.failure);

  const { stateUrl, body } = result;
  const parsed = MasterStateSchema.safeParse(body);
  if (!parsed.success) {
    throw new TesseraError(
      'UNREACHABLE',
      `the ${describeRequest(stateUrl, MASTER)} did not return a Mesos master's /state: ` +
        `${describeShape(parsed.error, body)}; point --master at a Mesos master ` +
        "(an agent's /state has no slaves)",
    );
  }
  return { master, version: result.version, state: parsed.data };
}

type MasterRead =
  | { ok: true; version: string; stateUrl: URL; body: unknown }
  | { ok: false; failure: MesosFailure; endpoint: string };

async function readVersionAndState(master: URL, read: MesosReadOptions): Promise<MasterRead> {
  const version = await readMesosJson(endpointUrl(master, 'version'), MASTER, read);
  if (!version.ok) return { ok: false, failure: version.failure, endpoint: 'version' };
  const stateUrl = endpointUrl(master, 'state');
  const state = await readMesosJson(stateUrl, MASTER, read);
  if (!state.ok) return { ok: false, failure: state.failure, endpoint: 'state' };
  return { ok: true, version: versionOf(version.body), stateUrl, body: state.body };
}

function masterFailure(failure: MesosFailure): TesseraError {
  return new TesseraError('UNREACHABLE', `failed to read the Mesos master: ${failure.message}`);
}

// /version is a JSON object with a string `version`, on masters and agents alike.
function versionOf(body: unknown): string {
  const version = (body as { version?: unknown } | null)?.version;
  return typeof version === 'string' ? version : 'unknown';
}

// A fixed number of workers take items in order, so no more than `concurrency` requests
// are open at once, however many agents the cluster has.
async function mapBounded<T, R>(
  items: readonly T[],
  concurrency: number,
  onProgress: DoctorOptions['onProgress'],
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
      done += 1;
      onProgress?.(done, items.length);
    }
  };
  const count = Math.max(1, Math.min(concurrency, items.length));
  await Promise.all(Array.from({ length: count }, worker));
  return results;
}
