import { childPath, isRecord } from './json-path.ts';

/** A secret file that a definition mounts, and the JSON path of its volume. */
export interface SecretFile {
  containerPath: string;
  location: string;
}

/** The secrets a task receives by reference: variable names and mounted files. */
export interface TaskSecrets {
  variables: ReadonlySet<string>;
  files: readonly SecretFile[];
}

/** The command of a definition and its JSON path. */
export interface DefinitionCommand {
  text: string;
  location: string;
}

export const NO_SECRETS: TaskSecrets = { variables: new Set(), files: [] };

type Fields = Record<string, unknown>;

/**
 * Collects the secrets that `object` gives its task: Marathon `env` or `environment`
 * entries `{"secret": "id"}`, Mesos `environment.variables` of type SECRET (also inside
 * `command`), Marathon volumes `{containerPath, secret}` and Mesos SECRET volumes.
 * Secrets from `inherited` (the enclosing pod or app) are kept.
 */
export function collectSecrets(object: Fields, path: string, inherited: TaskSecrets): TaskSecrets {
  const variables = new Set(inherited.variables);
  for (const environment of [object.env, object.environment, commandOf(object)?.environment]) {
    for (const name of secretVariables(environment)) variables.add(name);
  }
  const files = [...inherited.files, ...secretFiles(object, path)];
  return { variables, files };
}

/**
 * Returns the shell command of a Marathon app (`cmd`), a Mesos TaskInfo or ExecutorInfo
 * (`command.value`), or a Marathon pod container's `exec` (`command.shell`). A Mesos
 * command with `shell: false` runs its `arguments` directly. They are joined with spaces,
 * which loses their quoting but keeps their words.
 */
export function definitionCommand(object: Fields, path: string): DefinitionCommand | undefined {
  if (typeof object.cmd === 'string') return { text: object.cmd, location: childPath(path, 'cmd') };
  const command = commandOf(object);
  if (command === undefined) return undefined;
  const location = childPath(path, 'command');
  if (typeof command.shell === 'string') {
    return { text: command.shell, location: childPath(location, 'shell') };
  }
  if (typeof command.value !== 'string') return undefined;
  const words = Array.isArray(command.arguments) ? command.arguments : [];
  const text =
    command.shell === false && words.length > 0 ? words.map(String).join(' ') : command.value;
  return { text, location: childPath(location, 'value') };
}

function commandOf(object: Fields): Fields | undefined {
  return isRecord(object.command) ? object.command : undefined;
}

function secretVariables(environment: unknown): string[] {
  if (!isRecord(environment)) return [];
  if (Array.isArray(environment.variables)) {
    return environment.variables
      .filter((variable) => isRecord(variable) && variable.type === 'SECRET')
      .map((variable) => String((variable as Fields).name));
  }
  return Object.entries(environment)
    .filter(([, value]) => isRecord(value) && typeof value.secret === 'string')
    .map(([name]) => name);
}

function secretFiles(object: Fields, path: string): SecretFile[] {
  const container = isRecord(object.container) ? object.container : undefined;
  const volumes = Array.isArray(container?.volumes) ? container.volumes : [];
  const volumesPath = childPath(childPath(path, 'container'), 'volumes');
  const files: SecretFile[] = [];
  for (const [index, volume] of volumes.entries()) {
    const containerPath = secretVolumePath(volume);
    if (containerPath !== undefined) {
      files.push({ containerPath, location: childPath(volumesPath, index) });
    }
  }
  return files;
}

function secretVolumePath(volume: unknown): string | undefined {
  if (!isRecord(volume)) return undefined;
  if (typeof volume.secret === 'string' && typeof volume.containerPath === 'string') {
    return volume.containerPath;
  }
  const source = isRecord(volume.source) ? volume.source : undefined;
  if (source?.type === 'SECRET' && typeof volume.container_path === 'string') {
    return volume.container_path;
  }
  return undefined;
}
