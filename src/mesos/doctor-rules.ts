import { printable } from './secret-rules.ts';

/** One thing doctor found, and the change that addresses it. */
export interface Finding {
  /** `error`: native secrets cannot work; `leak`: a known exposure applies; `info`. */
  severity: 'error' | 'leak' | 'info';
  message: string;
  fix: string;
}

/** Whether a kind of native secret delivery works on an agent. */
export type Support = 'yes' | 'no' | 'unknown';

/** What an agent can do natively, from its version and `/flags`. */
export interface AgentSupport {
  envSecrets: Support;
  fileSecrets: Support;
  findings: Finding[];
}

const WRAP_FIX = 'or start its tasks through tessera exec (tessera wrap rewrites a definition)';

/**
 * Parses a Mesos version such as `1.4.0`, `1.11` or `1.11.0-rc1` into numbers (a missing
 * patch counts as 0). Returns undefined for anything else, such as `1.x` or an empty string.
 */
export function parseVersion(version: string): [number, number, number] | undefined {
  const match = /^(\d+)\.(\d+)(?:\.(\d+))?(?:[-+][0-9A-Za-z.+-]*)?$/.exec(version);
  if (match === null) return undefined;
  return [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)];
}

/** Tells whether the parsed `version` is `major.minor` or later. */
export function isAtLeast(
  version: [number, number, number],
  major: number,
  minor: number,
): boolean {
  const [actualMajor, actualMinor] = version;
  return actualMajor > major || (actualMajor === major && actualMinor >= minor);
}

/**
 * Judges an agent's native secret support from its Mesos version and flags (`/flags`,
 * where unset optional flags are absent). `flags` is undefined when they could not be
 * read. `versionSource` names where the version came from. A version that is missing or
 * is not a version number makes the support unknown, with a finding that names the source.
 * The rules: the SecretResolver, the `environment_secret` isolator and the
 * `volume/secret` isolator came in Mesos 1.4.0. A REFERENCE needs a `--secret_resolver`
 * module, since the default resolver fails on references (`src/secret/resolver.cpp`).
 * File secrets also need `volume/secret` with `filesystem/linux` in `--isolation` and
 * `--launcher=linux`. The Docker containerizer delivers no secret at all
 * (`src/docker/docker.cpp`).
 */
export function judgeAgent(
  version: unknown,
  flags: Record<string, string> | undefined,
  versionSource: string,
): AgentSupport {
  const parts = typeof version === 'string' ? parseVersion(version) : undefined;
  if (typeof version !== 'string' || parts === undefined) {
    return {
      envSecrets: 'unknown',
      fileSecrets: 'unknown',
      findings: [versionFinding(version, versionSource)],
    };
  }
  if (!isAtLeast(parts, 1, 4)) {
    return {
      envSecrets: 'no',
      fileSecrets: 'no',
      findings: [
        {
          severity: 'error',
          message: `Mesos ${printable(version)} has no secret resolver and no secret isolators (both came in 1.4.0)`,
          fix: `upgrade the agent to Mesos 1.4 or later, ${WRAP_FIX}`,
        },
      ],
    };
  }
  if (flags === undefined) {
    return { envSecrets: 'unknown', fileSecrets: 'unknown', findings: [] };
  }

  const containerizers = (flags.containerizers ?? 'mesos').split(',').map((name) => name.trim());
  if (!containerizers.includes('mesos')) {
    return { envSecrets: 'no', fileSecrets: 'no', findings: [dockerOnlyFinding()] };
  }

  const findings: Finding[] = [];
  if (containerizers.includes('docker')) {
    findings.push({
      severity: 'info',
      message:
        'tasks with container type DOCKER get no secrets: the Docker containerizer passes secret variables as empty strings and skips secret volumes',
      fix: 'give tasks that use secrets container type MESOS',
    });
  }
  const resolver = resolverFindings(flags);
  const files = fileFindings(flags);
  findings.push(...resolver, ...files, ...leakFindings());
  return {
    envSecrets: resolver.length === 0 ? 'yes' : 'no',
    fileSecrets: resolver.length === 0 && files.length === 0 ? 'yes' : 'no',
    findings,
  };
}

function versionFinding(version: unknown, source: string): Finding {
  let problem: string;
  if (version === undefined) {
    problem = `no Mesos version is given in ${source}`;
  } else if (typeof version !== 'string') {
    problem = `the Mesos version in ${source} is not a string`;
  } else {
    problem = `the Mesos version '${printable(version)}' in ${source} is not a version number such as 1.11.0`;
  }
  return {
    severity: 'error',
    message: `${problem}, so the agent's support is unknown`,
    fix: "read the agent's version from its /version endpoint; native secrets need Mesos 1.4.0 or later",
  };
}

function dockerOnlyFinding(): Finding {
  return {
    severity: 'error',
    message: `the agent runs only the Docker containerizer (--containerizers=docker), which passes secret variables as empty strings and skips secret volumes`,
    fix: `add mesos to --containerizers and give tasks container type MESOS, ${WRAP_FIX}`,
  };
}

function resolverFindings(flags: Record<string, string>): Finding[] {
  if (flags.secret_resolver !== undefined && flags.secret_resolver !== '') {
    return [];
  }
  return [
    {
      severity: 'error',
      message:
        'no --secret_resolver is set, so the default resolver passes inline VALUE secrets and fails every REFERENCE',
      fix: `load a resolver module with --modules and name it in --secret_resolver, ${WRAP_FIX}`,
    },
  ];
}

function fileFindings(flags: Record<string, string>): Finding[] {
  const isolation = (flags.isolation ?? '').split(',').map((name) => name.trim());
  const missing = ['filesystem/linux', 'volume/secret'].filter((name) => !isolation.includes(name));
  const findings: Finding[] = [];
  if (missing.length > 0) {
    findings.push({
      severity: 'error',
      message: `--isolation lacks ${missing.join(' and ')}, so secret volumes are not placed`,
      fix: `add ${missing.join(',')} to --isolation (with --launcher=linux), ${WRAP_FIX}`,
    });
  }
  if (flags.launcher !== 'linux') {
    const shown = flags.launcher === undefined ? 'is not reported' : `is ${flags.launcher}`;
    findings.push({
      severity: 'error',
      message: `--launcher ${shown}; the volume/secret isolator needs the linux launcher`,
      fix: `set --launcher=linux, ${WRAP_FIX}`,
    });
  }
  return findings;
}

// Both apply wherever the Mesos containerizer resolves secrets, which it does from 1.4 on
// even without a module, for inline values.
function leakFindings(): Finding[] {
  return [
    {
      severity: 'leak',
      message:
        'for a plain LAUNCH task, the agent passes the resolved environment secrets to ' +
        'mesos-executor as --task_environment, visible to every user in ps, and checkpoints ' +
        'them in the container launch_info',
      fix: `launch with LAUNCH_GROUP (default executor) instead of LAUNCH, ${WRAP_FIX}`,
    },
    {
      severity: 'leak',
      message:
        "inline VALUE secrets are accepted and shown, base64-encoded, in the master's /state",
      fix: 'use REFERENCE secrets only; tessera wrap rejects inline values',
    },
  ];
}
