import {
  envReferenceProblems,
  type MarathonEnv,
  type MarathonPod,
  pruneMovedSecrets,
  secretIdProblems,
  secretsMapProblems,
  throwProblems,
  unusedSecretsWarning,
} from './marathon.ts';
import { movedEnv, type PodContainer, planContainer } from './marathon-pod-plan.ts';
import { envNameProblems, envSecretIds, sourceProblems } from './marathon-rules.ts';
import { printable, variableDisplayName } from './secret-rules.ts';
import {
  formatSecretsVariable,
  LOGIN_ROLE_VARIABLE,
  SECRETS_VARIABLE,
} from './secrets-variable.ts';
import type { Problem } from './types.ts';
import { type SecretFile, secretFileProblems } from './volume-rules.ts';
import type { WrapOptions, WrapReport } from './wrap.ts';
import { checkWrapOptions, plainTokenWarning, TOKEN_VARIABLE } from './wrap-checks.ts';
import { DEFAULT_TESSERA_PROGRAM, wrapArgv, wrapShellCommand } from './wrap-command.ts';
import { execMemoryWarnings } from './wrap-memory.ts';

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
 * container does not set the name itself, or a mount of a secret volume) gets a
 * TESSERA_SECRETS variable with references to the secrets' `source`, and its
 * `exec.command` runs through `tessera exec`. A container that already runs through
 * `tessera exec` keeps its command, and the new secrets join its TESSERA_SECRETS. The
 * secret entries, secret volumes and their mounts are removed. Marathon sets
 * MESOS_TASK_ID, so no task id variable is added. Throws INVALID_TASK as
 * `checkMarathonPod` does, when a container with secrets has no command that wrap can run
 * through `tessera exec`, or when a TESSERA_SECRETS is invalid or already contains a
 * new entry. A pod that cannot be wrapped is left as it was.
 */
export function wrapMarathonPod(pod: MarathonPod, options: WrapOptions = {}): WrapReport {
  checkWrapOptions(options);
  checkMarathonPod(pod);
  const what = `Marathon pod '${printable(pod.id)}'`;
  if (typeof pod.environment?.[SECRETS_VARIABLE] === 'string') {
    throwProblems(what, [
      {
        path: `/environment/${SECRETS_VARIABLE}`,
        message:
          `is set for the whole pod, but each container that runs through tessera exec ` +
          `reads its own ${SECRETS_VARIABLE}; move it into the containers' environment`,
      },
    ]);
  }

  // Every check runs before the first change.
  const secrets = pod.secrets ?? {};
  const secretVolumes = secretVolumeNames(pod);
  const podEnv = movedEnv(pod.environment, '/environment', secrets);
  const plans = pod.containers.map((container, index) =>
    planContainer({ container, index, podEnv, secretVolumes, secrets, options }),
  );

  const warnings = podTokenWarnings(pod, options.loginRole);
  const unchanged = plans.every((plan) => plan.secrets === undefined);
  if (unchanged && podEnv.length === 0 && secretVolumes.size === 0) {
    if (setLoginRoles(pod, options.loginRole) > 0) {
      warnings.push(
        `pod '${printable(pod.id)}' has no secrets to move; only ${LOGIN_ROLE_VARIABLE} is set`,
      );
      return { warnings };
    }
    warnings.push(`pod '${printable(pod.id)}' has no secrets to move; left unchanged`);
    return { warnings };
  }
  warnings.push(...unseenSecretWarnings(pod, podEnv, secretVolumes));
  const movedIds = new Set([
    ...envSecretIds(pod.environment),
    ...pod.containers.flatMap((container) => envSecretIds(container.environment)),
    ...secretVolumes.values(),
  ]);
  const tessera = options.tessera ?? DEFAULT_TESSERA_PROGRAM;
  removeEnvSecrets(pod.environment);
  for (const [index, container] of pod.containers.entries()) {
    removeEnvSecrets(container.environment);
    const mounts = container.volumeMounts;
    if (mounts !== undefined) {
      const kept = mounts.filter((mount) => !secretVolumes.has(mount.name));
      mounts.splice(0, mounts.length, ...kept);
    }
    const plan = plans[index];
    if (plan?.secrets === undefined) continue;

    if (plan.wrapCommand) {
      wrapContainerCommand(container, tessera);
      const subject = `container '${printable(container.name)}' of pod '${printable(pod.id)}'`;
      const resources = container.resources as { mem?: unknown } | undefined;
      warnings.push(...execMemoryWarnings(subject, resources?.mem));
    }
    container.environment ??= {};
    container.environment[SECRETS_VARIABLE] = formatSecretsVariable(plan.secrets);
  }
  setLoginRoles(pod, options.loginRole);

  if (pod.volumes !== undefined) {
    const kept = pod.volumes.filter((volume) => volume.secret === undefined);
    pod.volumes.splice(0, pod.volumes.length, ...kept);
  }
  pruneSecrets(pod, movedIds, warnings);
  return { warnings };
}

// A pod-level secret that every container overrides, or a secret volume that no container
// mounts, reaches no command, so the wrap removes it without a TESSERA_SECRETS entry.
function unseenSecretWarnings(
  pod: MarathonPod,
  podEnv: ReturnType<typeof movedEnv>,
  secretVolumes: ReadonlyMap<string, string>,
): string[] {
  const what = `pod '${printable(pod.id)}'`;
  const warnings: string[] = [];
  for (const { entry, path } of podEnv) {
    if (pod.containers.every((container) => entry.name in (container.environment ?? {}))) {
      warnings.push(
        `${what}: ${path} is a secret that every container overrides with its own ` +
          `${variableDisplayName(entry.name)}, so no command sees it; removed`,
      );
    }
  }
  const mounted = new Set(
    pod.containers.flatMap((container) => (container.volumeMounts ?? []).map((m) => m.name)),
  );
  for (const [index, volume] of (pod.volumes ?? []).entries()) {
    if (secretVolumes.has(volume.name) && !mounted.has(volume.name)) {
      warnings.push(
        `${what}: /volumes/${index} is a secret volume that no container mounts; removed`,
      );
    }
  }
  return warnings;
}

// Sets the login role in each container that runs through tessera exec, which reads its
// own TESSERA_SECRETS. Returns how many there are.
function setLoginRoles(pod: MarathonPod, loginRole: string | undefined): number {
  const wrapped = pod.containers.filter(
    (container) => typeof container.environment?.[SECRETS_VARIABLE] === 'string',
  );
  if (loginRole === undefined) return 0;
  for (const container of wrapped) {
    container.environment ??= {};
    container.environment[LOGIN_ROLE_VARIABLE] = loginRole;
  }
  return wrapped.length;
}

function podTokenWarnings(pod: MarathonPod, loginRole: string | undefined): string[] {
  const what = `pod '${printable(pod.id)}'`;
  const warnings: string[] = [];
  if (typeof pod.environment?.[TOKEN_VARIABLE] === 'string') {
    warnings.push(plainTokenWarning(what, `/environment/${TOKEN_VARIABLE}`, loginRole));
  }
  for (const [index, container] of pod.containers.entries()) {
    if (typeof container.environment?.[TOKEN_VARIABLE] === 'string') {
      const path = `/containers/${index}/environment/${TOKEN_VARIABLE}`;
      warnings.push(plainTokenWarning(what, path, loginRole));
    }
  }
  return warnings;
}

// Deleting keys keeps the order of the remaining ones.
function removeEnvSecrets(env: MarathonEnv | undefined): void {
  for (const [name, value] of Object.entries(env ?? {})) {
    if (typeof value !== 'string') delete env?.[name];
  }
}

// `checkContainerCommand` has passed, so the container has a shell command or an argv.
function wrapContainerCommand(container: PodContainer, tessera: string): void {
  const command = container.exec?.command;
  if (command?.shell !== undefined) {
    command.shell = wrapShellCommand(command.shell, { tessera });
  } else if (command?.argv !== undefined) {
    command.argv = wrapArgv(command.argv, { tessera });
  }
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
