import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { printable } from './secret-rules.ts';
import type { Problem, TaskInfo } from './types.ts';

/** Tells whether a path exists on the host that runs the check. */
export type PathExists = (path: string) => boolean;

/** Problems that stop a launch, and warnings about what a launch would do. */
export interface PathFindings {
  errors: Problem[];
  warnings: Problem[];
}

/** A secret file's absolute container path, and whether its container has an image. */
export interface AbsoluteSecretPath {
  /** JSON path of the volume, as in `container.volumes[0]`. */
  path: string;
  containerPath: string;
  hasImage: boolean;
}

/**
 * Applies the `volume/secret` isolator's rule for absolute container paths
 * (`src/slave/containerizer/mesos/isolators/volume/secret.cpp`). With an image, the file
 * is created inside the container's root filesystem, so any path works. Without one, the
 * path must already exist on the host and the secret is mounted over it: a missing path
 * fails the launch with "Absolute container path '<p>' does not exist", and an existing
 * one is hidden by the secret, which earns a warning.
 */
export function absolutePathFindings(
  paths: readonly AbsoluteSecretPath[],
  pathExists: PathExists = existsSync,
): PathFindings {
  const findings: PathFindings = { errors: [], warnings: [] };
  for (const entry of paths) {
    if (!isAbsolute(entry.containerPath) || entry.hasImage) {
      continue;
    }

    const shown = printable(entry.containerPath);
    if (!pathExists(entry.containerPath)) {
      findings.errors.push({
        path: entry.path,
        message:
          `Absolute container path '${shown}' does not exist: without a container image, ` +
          'Mesos mounts a secret only over an existing host path, so the launch would fail; ' +
          'use a path relative to the sandbox, or give the container an image',
      });
      continue;
    }
    findings.warnings.push({
      path: entry.path,
      message:
        `Absolute container path '${shown}' exists on this host, and the secret would be ` +
        'mounted over it, hiding the original file from the task; use a path relative to ' +
        'the sandbox unless that is intended',
    });
  }
  return findings;
}

/** Lists the absolute container paths of a TaskInfo's `SECRET` volumes. */
export function taskAbsolutePaths(task: TaskInfo): AbsoluteSecretPath[] {
  const mesos = task.container?.mesos as { image?: unknown } | undefined;
  const hasImage = mesos?.image !== undefined;
  const paths: AbsoluteSecretPath[] = [];
  for (const [index, volume] of (task.container?.volumes ?? []).entries()) {
    if (volume.source?.type === 'SECRET' && isAbsolute(volume.container_path)) {
      paths.push({
        path: `container.volumes[${index}]`,
        containerPath: volume.container_path,
        hasImage,
      });
    }
  }
  return paths;
}
