import {
  hasControlCharacter,
  inlineSecretBytes,
  mesosSecretError,
  printable,
  strictSecretProblems,
  VOLUME_PREFIX,
} from './secret-rules.ts';
import type { Problem, TaskInfo, Volume } from './types.ts';

// The Source member that each source type requires, from Mesos's `validateVolume`.
const SOURCE_MEMBERS: Record<string, string> = {
  DOCKER_VOLUME: 'docker_volume',
  HOST_PATH: 'host_path',
  SANDBOX_PATH: 'sandbox_path',
  SECRET: 'secret',
};

/** A secret file and the JSON path of the field that sets its container path. */
export interface SecretFile {
  /** JSON path that problems name, as in `container.volumes[0]`. */
  path: string;
  containerPath: string;
}

/** A secret file whose container path passed the path checks. */
interface PlacedFile {
  path: string;
  display: string;
  key: string;
}

/**
 * Checks the volumes of a task's ContainerInfo. Mesos's `validateVolume` runs first, with
 * the master's prefix, then the `volume/secret` isolator's secret check. Tessera's stricter
 * checks on SECRET volumes follow: strict base64, a secret type, a non-empty reference
 * name, and a container path that names one file inside the sandbox, used by no other
 * secret volume.
 */
export function volumeProblems(task: TaskInfo): Problem[] {
  const problems: Problem[] = [];
  const files: SecretFile[] = [];
  for (const [index, volume] of (task.container?.volumes ?? []).entries()) {
    const path = `container.volumes[${index}]`;
    const mesosError = mesosVolumeError(volume);
    if (mesosError !== undefined) {
      problems.push({ path, message: VOLUME_PREFIX + mesosError });
      continue;
    }

    const secret = volume.source?.type === 'SECRET' ? volume.source.secret : undefined;
    if (secret === undefined) {
      continue;
    }

    // The `volume/secret` isolator runs `validateSecret` at launch, with this wording.
    const isolatorError = mesosSecretError(secret);
    if (isolatorError !== undefined) {
      problems.push({ path, message: `Invalid secret specified in volume: ${isolatorError}` });
      continue;
    }

    const subject = `Secret volume '${printable(volume.container_path)}'`;
    const messages = strictSecretProblems(secret, subject);
    const { problem } = inlineSecretBytes(secret, subject);
    if (problem !== undefined) {
      messages.unshift(problem);
    }
    for (const message of messages) {
      problems.push({ path, message });
    }
    files.push({ path, containerPath: volume.container_path });
  }
  problems.push(...secretFileProblems(files));
  return problems;
}

/**
 * Checks the container paths of a container's secret files: each must name one file
 * inside the sandbox, used by no other secret file and not inside one. Problems are
 * reported in the order of `files`.
 */
export function secretFileProblems(files: readonly SecretFile[]): Problem[] {
  const problems: Problem[] = [];
  const placed: PlacedFile[] = [];
  for (const file of files) {
    const display = printable(file.containerPath);
    const messages = containerPathProblems(file.containerPath, `Secret volume '${display}'`);
    if (messages.length === 0) {
      placed.push({ path: file.path, display, key: pathKey(file.containerPath) });
    }
    for (const message of messages) {
      problems.push({ path: file.path, message });
    }
  }
  problems.push(...overlapProblems(placed));
  return problems;
}

/** Applies Mesos's `validateVolume` (`src/common/validation.cpp`) and returns its message. */
function mesosVolumeError(volume: Volume): string | undefined {
  const members = [volume.host_path, volume.image, volume.source];
  if (members.filter((member) => member !== undefined).length !== 1) {
    return "Only one of them should be set: 'host_path', 'image' and 'source'";
  }

  const source = volume.source;
  if (source === undefined) {
    return undefined;
  }
  const type = source.type ?? 'UNKNOWN';
  if (type === 'CSI_VOLUME') {
    return csiVolumeError(source.csi_volume);
  }

  const member = SOURCE_MEMBERS[type];
  if (member === undefined) {
    return "'source.type' is unknown";
  }
  if (source[member] === undefined) {
    return `'source.${member}' is not set for ${type} volume`;
  }
  return undefined;
}

function csiVolumeError(csiVolume: unknown): string | undefined {
  if (csiVolume === undefined) {
    return "'source.csi_volume' is not set for CSI volume";
  }
  const provisioning = (csiVolume as Record<string, unknown> | null)?.static_provisioning;
  if (provisioning === undefined) {
    return "'source.csi_volume.static_provisioning' is not set for CSI volume";
  }
  return undefined;
}

// Mesos makes no check of `container_path` ("TODO(jieyu): Add a validation for path" in
// `validateVolume`), and the isolator joins a relative path to the sandbox as given, so
// `..` can reach outside it. Absolute paths are judged at delivery, where the container's
// root filesystem is known.
function containerPathProblems(containerPath: string, subject: string): string[] {
  if (containerPath === '') {
    return [
      'Secret volume container_path is empty; set a path relative to the sandbox, ' +
        'as in secrets/db-password',
    ];
  }

  const problems: string[] = [];
  if (hasControlCharacter(containerPath)) {
    problems.push(`${subject} has a control character in container_path; remove it`);
  }
  if (containerPath.endsWith('/')) {
    problems.push(
      `${subject} ends with '/', which names a directory, but a secret volume is a file; ` +
        "remove the trailing '/'",
    );
  }
  if (containerPath.split('/').includes('..')) {
    problems.push(
      `${subject} has a '..' segment, which can escape the sandbox; write the path ` +
        "without '..'",
    );
  }
  if (problems.length === 0 && pathKey(containerPath).replace(/^\//, '') === '') {
    problems.push(`${subject} names a directory, not a file; add a file name`);
  }
  return problems;
}

// Empty and '.' segments name the same place as none, so `a//b` and `./a/b` equal `a/b`.
function pathKey(containerPath: string): string {
  const segments = containerPath.split('/').filter((segment) => segment !== '' && segment !== '.');
  const root = containerPath.startsWith('/') ? '/' : '';
  return root + segments.join('/');
}

// Two secret files cannot share a path, and a file cannot sit inside another file. Each
// path's proper prefixes are looked up in a map, so the check is linear in total length.
function overlapProblems(placed: PlacedFile[]): Problem[] {
  const problems: Problem[] = [];
  const byKey = new Map<string, PlacedFile>();
  for (const file of placed) {
    const first = byKey.get(file.key);
    if (first === undefined) {
      byKey.set(file.key, file);
      continue;
    }
    problems.push({
      path: file.path,
      message:
        `Secret volume '${file.display}' uses the same container_path as ` +
        `${first.path}; give each secret volume its own path`,
    });
  }

  for (const file of placed) {
    for (let end = file.key.indexOf('/', 1); end !== -1; end = file.key.indexOf('/', end + 1)) {
      const outer = byKey.get(file.key.slice(0, end));
      if (outer !== undefined) {
        problems.push({
          path: file.path,
          message:
            `Secret volume '${file.display}' is inside '${outer.display}' ` +
            `(${outer.path}), which is also a secret file; move one of them`,
        });
      }
    }
  }
  return problems;
}
