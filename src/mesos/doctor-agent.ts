import { z } from 'zod';
import { type AgentSupport, type Finding, judgeAgent } from './doctor-rules.ts';
import type { MasterState } from './doctor-state.ts';
import {
  describeRequest,
  type MesosFailure,
  type MesosRead,
  type MesosReadOptions,
  readMesosJson,
} from './mesos-http.ts';
import { agentUrl, endpointUrl } from './mesos-url.ts';
import { describeShape } from './schema.ts';
import { printable } from './secret-rules.ts';

/** The findings of doctor about one agent. */
export interface AgentReport extends AgentSupport {
  id: string;
  hostname: string;
  /** `host:port` of the agent's HTTP endpoints, from its pid. */
  address: string;
  version: string;
}

// An agent's /flags is `{"flags": {"<name>": "<string value>", ...}}`, where unset
// optional flags are absent.
const FlagsSchema = z.looseObject({ flags: z.record(z.string(), z.string()) });

type Slave = MasterState['slaves'][number];

/**
 * Reads the `/flags` of the agent at `slaves[index]` of the master's `/state` and judges
 * its native secret support. An agent whose version, address or flags are missing,
 * unreadable or invalid gets a finding that names the problem, and support `unknown`
 * unless its version alone settles it.
 */
export async function inspectAgent(
  slave: Slave,
  index: number,
  scheme: string,
  read: MesosReadOptions,
): Promise<AgentReport> {
  const url = agentUrl(slave.pid ?? '', scheme);
  const base = {
    id: slave.id ?? 'unknown',
    hostname: slave.hostname ?? 'unknown',
    address: url?.host ?? 'unknown',
    version: typeof slave.version === 'string' ? slave.version : 'unknown',
  };
  const versionSource = `the master's /state (field slaves[${index}].version)`;
  const judge = (flags: Record<string, string> | undefined) =>
    judgeAgent(slave.version, flags, versionSource);
  if (url === undefined) {
    const message = `agent ${printable(base.id)} has no address in its pid in /state; check the master's /state`;
    return { ...base, ...judge(undefined), findings: [unreadable(message)] };
  }

  const flags = await readFlags(endpointUrl(url, 'flags'), base.id, read);
  if (flags.ok) {
    return { ...base, ...judge(flags.body) };
  }
  const judged = judge(undefined);
  return { ...base, ...judged, findings: [...judged.findings, failureFinding(flags.failure)] };
}

// Reads /flags and checks its shape, so that a body without a `flags` object is a failure
// rather than an agent with every flag unset.
async function readFlags(
  url: URL,
  id: string,
  read: MesosReadOptions,
): Promise<MesosRead<Record<string, string>>> {
  const peer = { role: 'agent', id } as const;
  const flags = await readMesosJson(url, peer, read);
  if (!flags.ok) return flags;
  const parsed = FlagsSchema.safeParse(flags.body);
  if (parsed.success) return { ok: true, body: parsed.data.flags };
  return {
    ok: false,
    failure: {
      kind: 'invalid',
      message:
        `${describeRequest(url, peer)} did not return a Mesos agent's /flags: ` +
        `${describeShape(parsed.error, flags.body)}; check that the agent's pid in the ` +
        "master's /state names a Mesos agent",
    },
  };
}

function failureFinding(failure: MesosFailure): Finding {
  return unreadable(`could not read the agent's flags: ${failure.message}`);
}

function unreadable(message: string): Finding {
  return {
    severity: 'error',
    message,
    fix: 'fix the access to the agent and run tessera doctor again',
  };
}
