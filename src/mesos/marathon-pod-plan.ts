import { TesseraError } from '../errors.ts';
import { absolutePathFindings } from './container-path.ts';
import {
  type MarathonEnv,
  type MarathonPod,
  marathonReference,
  pointerSegment,
  throwProblems,
} from './marathon.ts';
import { printable } from './secret-rules.ts';
import { SECRETS_VARIABLE, type SecretsVariable } from './secrets-variable.ts';
import type { WrapOptions } from './wrap.ts';
import { isWrappedArgv, isWrappedShellCommand } from './wrap-command.ts';
import {
  hasMovedSecrets,
  type MovedSecrets,
  mergeSecrets,
  readWrappedSecrets,
  type WrappedSecrets,
} from './wrap-merge.ts';

// The checks and the plan of a pod wrap for one container, made before the pod changes.

/** One container of a Marathon pod. */
export type PodContainer = MarathonPod['containers'][number];

/** A container to plan, with what the pod gives every container. */
export interface ContainerInput {
  container: PodContainer;
  index: number;
  podEnv: MovedSecrets['env'];
  secretVolumes: ReadonlyMap<string, string>;
  secrets: Record<string, { source: unknown }>;
  options: WrapOptions;
}

/** The changes a wrap makes to one container: its new TESSERA_SECRETS, if any, and its command. */
export interface ContainerPlan {
  secrets?: SecretsVariable;
  wrapCommand: boolean;
}

/**
 * Checks a container and works out its TESSERA_SECRETS, changing nothing. Throws
 * INVALID_TASK when the container cannot be wrapped.
 */
export function planContainer(input: ContainerInput): ContainerPlan {
  const { container, index, options } = input;
  const base = `/containers/${index}`;
  const what = `Marathon pod container ${base} ('${printable(container.name)}')`;
  const wrapped = containerWrappedSecrets(container, base, what, options);

  // Marathon lets a container's own variable override the pod's of that name
  // (mesosphere/marathon `TaskGroupBuilder.scala`).
  const own = new Set(Object.keys(container.environment ?? {}));
  const moved: MovedSecrets = {
    env: [
      ...input.podEnv.filter(({ entry }) => !own.has(entry.name)),
      ...movedEnv(container.environment, `${base}/environment`, input.secrets),
    ],
    files: movedMounts(input, base, what),
  };
  if (!hasMovedSecrets(moved)) {
    return { wrapCommand: false };
  }

  if (wrapped === undefined) {
    checkContainerCommand(container, what);
  }
  const merged = mergeSecrets(wrapped, moved);
  throwProblems(what, merged.problems);
  return { secrets: merged.secrets, wrapCommand: wrapped === undefined };
}

// A plain TESSERA_SECRETS variable marks a container that a wrap has already rewritten.
function containerWrappedSecrets(
  container: PodContainer,
  base: string,
  what: string,
  options: WrapOptions,
): WrappedSecrets | undefined {
  const text = container.environment?.[SECRETS_VARIABLE];
  if (typeof text !== 'string') {
    return undefined;
  }

  const path = `${base}/environment/${SECRETS_VARIABLE}`;
  const command = container.exec?.command;
  const read = readWrappedSecrets(text, path, {
    allowInlineValues: options.allowInlineValues === true,
    runsThroughExec:
      command?.shell !== undefined
        ? isWrappedShellCommand(command.shell)
        : isWrappedArgv(command?.argv ?? []),
  });
  throwProblems(what, read.problems);
  return read.wrapped;
}

/** Lists the secret variables of an environment map at JSON pointer `base`. */
export function movedEnv(
  env: MarathonEnv | undefined,
  base: string,
  secrets: Record<string, { source: unknown }>,
): MovedSecrets['env'] {
  return Object.entries(env ?? {}).flatMap(([name, value]) =>
    typeof value === 'string'
      ? []
      : [
          {
            entry: { name, secret: marathonReference(secrets, value.secret) },
            path: `${base}/${pointerSegment(name)}`,
          },
        ],
  );
}

function movedMounts(input: ContainerInput, base: string, what: string): MovedSecrets['files'] {
  const { container, secretVolumes, secrets, options } = input;
  const mounts = (container.volumeMounts ?? []).flatMap((mount, index) => {
    const secretId = secretVolumes.get(mount.name);
    return secretId === undefined
      ? []
      : [{ mount, secretId, path: `${base}/volumeMounts/${index}` }];
  });
  const hasImage = container.image !== undefined;
  const findings = absolutePathFindings(
    mounts.map(({ mount, path }) => ({ path, containerPath: mount.mountPath, hasImage })),
    options.pathExists,
  );
  throwProblems(what, findings.errors);

  return mounts.map(({ mount, secretId, path }) => ({
    entry: {
      container_path: mount.mountPath,
      mode: 'RO' as const,
      secret: marathonReference(secrets, secretId),
    },
    path: `${path}/mountPath`,
  }));
}

function checkContainerCommand(container: PodContainer, what: string): void {
  const command = container.exec?.command;
  if (command?.shell !== undefined) {
    return;
  }
  if (command?.argv === undefined || command.argv.length === 0) {
    throw new TesseraError(
      'INVALID_TASK',
      `${what} uses secrets but has no exec.command to run through tessera exec; set ` +
        'exec.command.shell',
    );
  }
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
}
