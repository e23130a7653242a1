import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The cluster that a fake master reports in each `SUBSCRIBED` snapshot. */
export interface FakeOperatorState {
  tasks: unknown[];
  agents: unknown[];
  frameworks: unknown[];
}

/** A fake Mesos master that serves the v1 operator API's `SUBSCRIBE` event stream. */
export interface FakeOperator {
  url: string;
  state: FakeOperatorState;
  /** What the next SUBSCRIBE calls get instead of a stream, until set back to undefined. */
  answer: { status: 307; location: string } | { status: 401 | 403 | 503 } | undefined;
  /** The heartbeat interval that the snapshot announces, in seconds; none when undefined. */
  heartbeatSeconds: number | undefined;
  /** Authorization headers of the SUBSCRIBE calls, in order (undefined when none was sent). */
  authorizations: (string | undefined)[];
  /** Sends an event to every open stream, its RecordIO frame split in two writes. */
  send(event: unknown): void;
  /** Ends every open stream, as a master that loses its leadership does. */
  endStreams(): void;
  /** Resolves when `count` SUBSCRIBE calls have opened a stream. */
  subscribed(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

function frame(event: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(event));
  return Buffer.concat([Buffer.from(`${body.length}\n`), body]);
}

/** Starts a fake master on 127.0.0.1 with an empty cluster; close it in `after()`. */
export async function startFakeOperator(): Promise<FakeOperator> {
  const streams = new Set<ServerResponse>();
  let opened = 0;
  const fake: FakeOperator = {
    url: '',
    state: { tasks: [], agents: [], frameworks: [] },
    answer: undefined,
    heartbeatSeconds: undefined,
    authorizations: [],
    send(event) {
      const bytes = frame(event);
      const cut = Math.floor(bytes.length / 2);
      for (const stream of streams) {
        stream.write(bytes.subarray(0, cut));
        stream.write(bytes.subarray(cut));
      }
    },
    endStreams() {
      for (const stream of streams) stream.end();
      streams.clear();
    },
    subscribed: (count, timeoutMs = 10_000) =>
      new Promise((resolve, reject) => {
        const started = Date.now();
        const poll = setInterval(() => {
          if (opened >= count) {
            clearInterval(poll);
            resolve();
          } else if (Date.now() - started > timeoutMs) {
            clearInterval(poll);
            reject(new Error(`only ${opened} of ${count} subscriptions within ${timeoutMs} ms`));
          }
        }, 20);
      }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };

  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    request.on('end', () => {
      if (request.method !== 'POST' || request.url !== '/api/v1') {
        response.writeHead(404).end();
        return;
      }
      if ((JSON.parse(body) as { type?: string }).type !== 'SUBSCRIBE') {
        response.writeHead(400).end();
        return;
      }
      fake.authorizations.push(request.headers.authorization);
      const answer = fake.answer;
      if (answer?.status === 307) {
        response.writeHead(307, { location: answer.location }).end();
        return;
      }
      if (answer !== undefined) {
        response.writeHead(answer.status).end();
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      streams.add(response);
      response.on('close', () => streams.delete(response));
      opened++;
      response.write(frame(snapshot(fake)));
    });
  });
  server.on('connection', (socket) => socket.unref());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = fake.close;
  fake.close = async () => {
    fake.endStreams();
    await close();
  };
  return fake;
}

function snapshot(fake: FakeOperator): unknown {
  return {
    type: 'SUBSCRIBED',
    subscribed: {
      get_state: {
        get_tasks: { tasks: fake.state.tasks },
        get_agents: { agents: fake.state.agents },
        get_frameworks: { frameworks: fake.state.frameworks },
      },
      ...(fake.heartbeatSeconds === undefined
        ? {}
        : { heartbeat_interval_seconds: fake.heartbeatSeconds }),
    },
  };
}

/** The id of the one framework of `localCluster`. */
export const FAKE_FRAMEWORK = 'framework-0001';

/**
 * Makes `master` report two agents, `S-local` on this machine (where the tasks of tests
 * run) and `S-far` elsewhere, and one framework, Marathon.
 */
export function localCluster(master: FakeOperator) {
  master.state.agents = [
    {
      agent_info: { id: { value: 'S-local' }, hostname: 'localhost' },
      pid: 'slave(1)@127.0.0.1:5051',
    },
    { agent_info: { id: { value: 'S-far' }, hostname: 'far' }, pid: 'slave(1)@192.0.2.50:5051' },
  ];
  master.state.frameworks = [
    { framework_info: { id: { value: FAKE_FRAMEWORK }, name: 'marathon', principal: 'marathon' } },
  ];
}

/** Builds a running task of the framework, as the master reports it in `TASK_ADDED`. */
export function masterTask(
  taskId: string,
  agent = 'S-local',
  labels = [{ key: 'team', value: 'billing' }],
) {
  return {
    name: taskId,
    task_id: { value: taskId },
    framework_id: { value: FAKE_FRAMEWORK },
    agent_id: { value: agent },
    state: 'TASK_RUNNING',
    labels: { labels },
    statuses: [{ task_id: { value: taskId }, state: 'TASK_RUNNING', timestamp: Date.now() / 1000 }],
  };
}

/** Builds the `TASK_UPDATED` event of a task that finished. */
export function taskEnded(taskId: string) {
  return {
    type: 'TASK_UPDATED',
    task_updated: {
      framework_id: { value: FAKE_FRAMEWORK },
      status: { task_id: { value: taskId }, state: 'TASK_FINISHED', timestamp: Date.now() / 1000 },
      state: 'TASK_FINISHED',
    },
  };
}
