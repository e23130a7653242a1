import { TesseraError } from '../errors.ts';
import { absolutePathFindings } from './container-path.ts';
import {
  envReferenceProblems,
  type MarathonEnv,
  type MarathonPod,
  marathonReference,
  pruneMovedSecrets,
  secretIdProblems,
  secretsMapProblems,
  throwProblems,
  unusedSecretsWarning,
} from './marathon.ts';
import { envNameProblems, envSecretIds, sourceProblems } from './marathon-rules.ts';
import { printable } from './secret-rules.ts';
import {
  formatSecretsVariable,
  SECRETS_VARIABLE,
  type SecretsVariable,
  type SecretsVariableEnv,
} from './secrets-variable.ts';
import type { Problem } from './types.ts';
import { type SecretFile, secretFileProblems } from './volume-rules.ts';
import type { WrapOptions, WrapReport } from './wrap.ts';
import { plainTokenWarning, TOKEN_VARIABLE } from './wrap-checks.ts';
import { DEFAULT_TESSERA_PROGRAM, wrapArgv, wrapShellCommand } from './wrap-command.ts';

type PodContainer = MarathonPod['containers'][number];

/**
 * Checks the secrets of a Marathon pod and throws INVALID_TASK listing every use of an
 * undefined secret id (pod and container `environment`, `volumes`, `image.pullConfig`),
 * every empty id or source, every `volumeMounts` entry naming no volume, and the variable
 * names, secret file paths and store paths that `validateTask` would reject in a TaskInfo.
 */
export function checkMarathonPod(pod: MarathonPod): void {
  const secrets = pod.secrets ?? {};
  const defined = new Set(Object.keys(secrets));
  const problems: Problem[] = [
    ...secretsMapProblems(secrets),
    ...envReferenceProblems(pod.environment, '/environment', defined),
    ...envNameProblems(pod.environment, '/environment'),
  ];
  const usedIds = envSecretIds(pod.environment);
  for (const [index, volume] of (pod.volumes ?? []).entries()) {
    problems.push(...secretIdProblems(`/volumes/${index}/secret`, volume.secret, defined));
    if (volume.secret !== undefined) usedIds.push(volume.secret);
  }
  const names = new Set((pod.volumes ?? []).map((volume) => volume.name));
  const secretVolumes = secretVolumeNames(pod);
  for (const [index, container] of pod.containers.entries()) {
    const base = `/containers/${index}`;
    problems.push(...envReferenceProblems(container.environment, `${base}/environment`, defined));
    problems.push(...envNameProblems(container.environment, `${base}/environment`));
    problems.push(...secretFileProblems(secretMountFiles(container, base, secretVolumes)));
    usedIds.push(...envSecretIds(container.environment));
    const pull = container.image?.pullConfig;
    problems.push(...secretIdProblems(`${base}/image/pullConfig/secret`, pull?.secret, defined));
    for (const [mountIndex, mount] of (container.volumeMounts ?? []).entries()) {
      if (!names.has(mount.name)) {
        problems.push({
          path: `${base}/volumeMounts/${mountIndex}/name`,
          message: `names no volume of the pod ('${printable(mount.name)}'); add it to volumes`,
        });
      }
    }
  }
  problems.push(...sourceProblems(secrets, usedIds));
  throwProblems(`Marathon pod '${printable(pod.id)}'`, problems);
}

// Maps the name of each secret volume of the pod to its secret id.
function secretVolumeNames(pod: MarathonPod): Map<string, string> {
  const secretVolumes = new Map<string, string>();
  for (const volume of pod.volumes ?? []) {
    if (volume.secret !== undefined) secretVolumes.set(volume.name, volume.secret);
  }
  return secretVolumes;
}

// A mount of a secret volume is a secret file at its `mountPath`.
function secretMountFiles(
  container: PodContainer,
  base: string,
  secretVolumes: ReadonlyMap<string, string>,
): SecretFile[] {
  return (container.volumeMounts ?? []).flatMap((mount, index) =>
    secretVolumes.has(mount.name)
      ? [{ path: `${base}/volumeMounts/${index}/mountPath`, containerPath: mount.mountPath }]
      : [],
  );
}

/**
 * Rewrites a Marathon pod, in place, to run on agents without secret support. Each
 * container that uses a secret (its own `environment`, the pod's `environment` where the
 * container does not set the name itself, or a mount of a secret volume) gets a TESSERA_SECRETS variable with references to the
 * secrets' `source`, and its `exec.command` runs through `tessera exec`. The secret
 * entries, secret volumes and their mounts are removed. Marathon sets MESOS_TASK_ID, so
 * no task id variable is added. Throws INVALID_TASK as `checkMarathonPod` does, or when a
 * container with secrets has no `exec.command`.
 */
export function wrapMarathonPod(pod: MarathonPod, options: WrapOptions = {}): WrapReport {
  checkMarathonPod(pod);
  const secrets = pod.secrets ?? {};
  const secretVolumes = secretVolumeNames(pod);
  const movedIds = new Set([
    ...envSecretIds(pod.environment),
    ...pod.containers.flatMap((container) => envSecretIds(container.environment)),
    ...secretVolumes.values(),
  ]);
  const podEnv = takeEnvSecrets(pod.environment, secrets);

  const warnings = podTokenWarnings(pod);
  const tessera = options.tessera ?? DEFAULT_TESSERA_PROGRAM;
  for (const [index, container] of pod.containers.entries()) {
    // Marathon lets a container's own variable override the pod's of that name
    // (mesosphere/marathon `TaskGroupBuilder.scala`).
    const own = new Set(Object.keys(container.environment ?? {}));
    const moved: SecretsVariable = {
      version: 1,
      env: [
        ...podEnv.filter((entry) => !own.has(entry.name)),
        ...takeEnvSecrets(container.environment, secrets),
      ],
      files: takeMounts(container, secretVolumes, secrets, options, index),
    };
    if (moved.env.length === 0 && moved.files.length === 0) continue;

    wrapContainerCommand(container, index, tessera);
    container.environment ??= {};
    container.environment[SECRETS_VARIABLE] = formatSecretsVariable(moved);
  }

  if (pod.volumes !== undefined) {
    const kept = pod.volumes.filter((volume) => volume.secret === undefined);
    pod.volumes.splice(0, pod.volumes.length, ...kept);
  }
  pruneSecrets(pod, movedIds, warnings);
  return { warnings };
}

function podTokenWarnings(pod: MarathonPod): string[] {
  const what = `pod '${printable(pod.id)}'`;
  const warnings: string[] = [];
  if (typeof pod.environment?.[TOKEN_VARIABLE] === 'string') {
    warnings.push(plainTokenWarning(what, `/environment/${TOKEN_VARIABLE}`));
  }
  for (const [index, container] of pod.containers.entries()) {
    if (typeof container.environment?.[TOKEN_VARIABLE] === 'string') {
      warnings.push(plainTokenWarning(what, `/containers/${index}/environment/${TOKEN_VARIABLE}`));
    }
  }
  return warnings;
}

// Deleting keys keeps the order of the remaining ones.
function takeEnvSecrets(
  env: MarathonEnv | undefined,
  secrets: Record<string, { source: unknown }>,
): SecretsVariableEnv[] {
  const taken: SecretsVariableEnv[] = [];
  for (const [name, value] of Object.entries(env ?? {})) {
    if (typeof value === 'string') continue;
    taken.push({ name, secret: marathonReference(secrets, value.secret) });
    delete env?.[name];
  }
  return taken;
}

function takeMounts(
  container: PodContainer,
  secretVolumes: ReadonlyMap<string, string>,
  secrets: Record<string, { source: unknown }>,
  options: WrapOptions,
  index: number,
): SecretsVariable['files'] {
  const mounts = container.volumeMounts ?? [];
  const secretMounts = mounts.filter((mount) => secretVolumes.has(mount.name));
  const hasImage = container.image !== undefined;
  const findings = absolutePathFindings(
    secretMounts.map((mount) => ({
      path: `/containers/${index}/volumeMounts/${mounts.indexOf(mount)}`,
      containerPath: mount.mountPath,
      hasImage,
    })),
    options.pathExists,
  );
  throwProblems(`Marathon container '${printable(container.name)}'`, findings.errors);

  const kept = mounts.filter((mount) => !secretVolumes.has(mount.name));
  mounts.splice(0, mounts.length, ...kept);
  return secretMounts.map((mount) => ({
    container_path: mount.mountPath,
    mode: 'RO' as const,
    secret: marathonReference(secrets, secretVolumes.get(mount.name) as string),
  }));
}

function wrapContainerCommand(container: PodContainer, index: number, tessera: string): void {
  const command = container.exec?.command;
  if (command?.shell !== undefined) {
    command.shell = wrapShellCommand(command.shell, { tessera });
    return;
  }
  const what = `Marathon pod container /containers/${index} ('${printable(container.name)}')`;
  if (command?.argv !== undefined && command.argv.length > 0) {
    // Marathon sets CommandInfo.value to argv[0] only with exec.overrideEntrypoint; without
    // it, argv goes to the image's entrypoint (mesosphere/marathon `TaskGroupBuilder.scala`).
    if (container.exec?.overrideEntrypoint !== true) {
      throw new TesseraError(
        'INVALID_TASK',
        `${what} has exec.command.argv without exec.overrideEntrypoint, so Marathon passes ` +
          "argv to the container image's entrypoint, which cannot be run through tessera " +
          'exec; set exec.overrideEntrypoint to true with the program first in argv, or use ' +
          'exec.command.shell',
      );
    }
    command.argv = wrapArgv(command.argv, { tessera });
    return;
  }
  throw new TesseraError(
    'INVALID_TASK',
    `${what} uses secrets but has no exec.command to run through tessera exec; set ` +
      'exec.command.shell',
  );
}

function pruneSecrets(pod: MarathonPod, moved: ReadonlySet<string>, warnings: string[]): void {
  const pulls = new Set(
    pod.containers.flatMap((container) => container.image?.pullConfig?.secret ?? []),
  );
  const unused = pruneMovedSecrets(pod, moved, pulls);
  warnings.push(...unusedSecretsWarning(`pod '${printable(pod.id)}'`, unused));
  if (pulls.size > 0) {
    warnings.push(
      `pod '${printable(pod.id)}': image.pullConfig is left in place; the agent pulls the ` +
        'image before the task starts, so it needs a --secret_resolver module',
    );
  }
}
