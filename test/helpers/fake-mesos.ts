import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Response of a fake endpoint: a JSON body, or a bare status (307 with a Location, if given). */
export type FakeAnswer =
  | { status: 200; body: unknown }
  | { status: 401 | 403 | 404 | 503 }
  | { status: 307; location?: string };

/** A fake Mesos agent: its version, its `/flags` (unset optional flags absent), or a failure. */
export interface FakeAgentSpec {
  id: string;
  /** The version in `/state` and `/version`; undefined leaves it out of `/state`. */
  version: unknown;
  flags: Record<string, string>;
  /** Replaces the `/flags` body, for an agent whose flags are not a Mesos agent's. */
  flagsBody?: unknown;
  /** Replaces the `/flags` response, for 401, 403, 503, or 307 to a closed port. */
  flagsStatus?: 307 | 401 | 403 | 503;
  /** Reports the agent in `/state` but starts no server, so it is unreachable. */
  down?: boolean;
}

/** A running fake master and its agents, all on 127.0.0.1. */
export interface FakeCluster {
  masterUrl: string;
  /** Paths each server was asked for, in order, keyed by `master` or agent id. */
  requests: Map<string, string[]>;
  close(): Promise<void>;
}

/** Options of `startFakeCluster`. */
export interface FakeClusterSpec {
  masterVersion: string;
  agents: FakeAgentSpec[];
  /** Frameworks to put in `/state`, with their tasks and executors. */
  frameworks?: unknown[];
  /** Makes the master respond to every request with this status (307 needs `location`). */
  masterAnswer?: FakeAnswer;
  /** Replaces the `/state` response only, as a non-leading master redirects it. */
  stateAnswer?: FakeAnswer;
  /** Replaces the real-shaped `/state` body, for a server that is not a master. */
  stateBody?: unknown;
  /** Replaces the real-shaped `/version` body. */
  versionBody?: unknown;
  /** Serves the master's endpoints under this path, such as `/mesos`, and 404 elsewhere. */
  pathPrefix?: string;
}

/**
 * Starts HTTP servers that play a Mesos master and agents with real-shaped `/version`,
 * `/state` (with `slaves[]`, each agent's `pid` pointing at its fake server) and `/flags`
 * answers. Close it in `after()`.
 */
export async function startFakeCluster(spec: FakeClusterSpec): Promise<FakeCluster> {
  const requests = new Map<string, string[]>();
  const servers: Server[] = [];
  const slaves: unknown[] = [];
  for (const agent of spec.agents) {
    const port = agent.down
      ? await unusedPort()
      : await listen(servers, agentHandler(agent, requests));
    slaves.push(slaveEntry(agent, port));
  }

  const state = 'stateBody' in spec ? spec.stateBody : masterState(spec, slaves);
  const prefix = spec.pathPrefix ?? '';
  const masterPort = await listen(servers, (request, response) => {
    record(requests, 'master', request);
    if (spec.masterAnswer !== undefined) return answer(response, spec.masterAnswer);
    const path = request.url ?? '';
    if (!path.startsWith(`${prefix}/`)) return answer(response, { status: 404 });
    const endpoint = path.slice(prefix.length);
    if (endpoint === '/version') {
      const body = 'versionBody' in spec ? spec.versionBody : versionBody(spec.masterVersion);
      return answer(response, { status: 200, body });
    }
    if (endpoint === '/state')
      return answer(response, spec.stateAnswer ?? { status: 200, body: state });
    return answer(response, { status: 200, body: {} });
  });

  return {
    masterUrl: `http://127.0.0.1:${masterPort}${prefix === '' ? '' : `${prefix}/`}`,
    requests,
    close: async () => {
      await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    },
  };
}

function agentHandler(agent: FakeAgentSpec, requests: Map<string, string[]>) {
  return (request: IncomingMessage, response: ServerResponse) => {
    record(requests, agent.id, request);
    if (request.url === '/flags') {
      const status = agent.flagsStatus;
      if (status === undefined) {
        const body = 'flagsBody' in agent ? agent.flagsBody : { flags: agent.flags };
        return answer(response, { status: 200, body });
      }
      if (status === 307) return answer(response, { status, location: 'http://127.0.0.1:1/flags' });
      return answer(response, { status });
    }
    if (request.url === '/version')
      return answer(response, { status: 200, body: versionBody(agent.version) });
    return answer(response, { status: 200, body: {} });
  };
}

function slaveEntry(agent: FakeAgentSpec, port: number): unknown {
  return {
    id: agent.id,
    hostname: `${agent.id.toLowerCase()}.example.invalid`,
    port,
    attributes: {},
    pid: `slave(1)@127.0.0.1:${port}`,
    registered_time: 1_700_000_000.5,
    resources: { cpus: 4, mem: 8192, disk: 100_000 },
    used_resources: {},
    offered_resources: {},
    reserved_resources: {},
    unreserved_resources: {},
    active: true,
    deactivated: false,
    version: agent.version,
    capabilities: ['MULTI_ROLE', 'HIERARCHICAL_ROLE'],
  };
}

function masterState(spec: FakeClusterSpec, slaves: unknown[]): unknown {
  return {
    ...versionBody(spec.masterVersion),
    start_time: 1_700_000_000.1,
    elected_time: 1_700_000_000.2,
    id: 'master-0001',
    pid: 'master@127.0.0.1:5050',
    hostname: 'master.example.invalid',
    capabilities: ['AGENT_UPDATE'],
    activated_slaves: slaves.length,
    deactivated_slaves: 0,
    unreachable_slaves: 0,
    slaves,
    recovered_slaves: [],
    frameworks: spec.frameworks ?? [],
    completed_frameworks: [],
    orphan_tasks: [],
    unregistered_frameworks: [],
  };
}

function versionBody(version: unknown) {
  return {
    version,
    build_date: '2020-11-16 12:00:00',
    build_time: 1_605_528_000,
    build_user: 'builder',
  };
}

function answer(response: ServerResponse, reply: FakeAnswer): void {
  if (reply.status === 200) {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(reply.body));
    return;
  }
  const headers =
    reply.status === 307 && reply.location !== undefined ? { location: reply.location } : {};
  response.writeHead(reply.status, headers);
  response.end();
}

function record(requests: Map<string, string[]>, who: string, request: IncomingMessage): void {
  const list = requests.get(who) ?? [];
  list.push(request.url ?? '');
  requests.set(who, list);
}

async function listen(
  servers: Server[],
  handler: (request: IncomingMessage, response: ServerResponse) => void,
): Promise<number> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** Returns a port that was free a moment ago and is now closed, so a connection to it fails. */
export async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
