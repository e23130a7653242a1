import { SECRETS_VARIABLE, type SecretsVariable } from '../mesos/secrets-variable.ts';
import { readSecretsVariable } from './inline-secrets.ts';
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
 * `command`), Marathon volumes `{containerPath, secret}`, Mesos SECRET volumes, and the
 * entries of a `TESSERA_SECRETS` variable that `tessera wrap` wrote. Secrets from
 * `inherited` (the enclosing pod or app) are kept.
 */
export function collectSecrets(object: Fields, path: string, inherited: TaskSecrets): TaskSecrets {
  const variables = new Set(inherited.variables);
  const files = [...inherited.files, ...secretFiles(object, path)];
  const commandPath = childPath(path, 'command');
  const environments: [unknown, string][] = [
    [object.env, childPath(path, 'env')],
    [object.environment, childPath(path, 'environment')],
    [commandOf(object)?.environment, childPath(commandPath, 'environment')],
  ];
  for (const [environment, location] of environments) {
    for (const name of secretVariables(environment)) variables.add(name);
    const wrapped = wrappedSecrets(environment, location);
    if (wrapped === undefined) continue;
    for (const entry of wrapped.secrets.env) variables.add(entry.name);
    for (const file of wrapped.secrets.files) {
      files.push({ containerPath: file.container_path, location: wrapped.location });
    }
  }
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

// Finds and parses the TESSERA_SECRETS variable of an environment: a member of a Marathon
// `env` or pod `environment`, or an entry of Mesos `variables`.
function wrappedSecrets(
  environment: unknown,
  location: string,
): { secrets: SecretsVariable; location: string } | undefined {
  if (!isRecord(environment)) return undefined;
  let value = environment[SECRETS_VARIABLE];
  let variableLocation = childPath(location, SECRETS_VARIABLE);
  if (Array.isArray(environment.variables)) {
    const index = environment.variables.findIndex(
      (variable) => isRecord(variable) && variable.name === SECRETS_VARIABLE,
    );
    if (index === -1) return undefined;
    value = (environment.variables[index] as Fields).value;
    variableLocation = childPath(childPath(location, 'variables'), index);
  }
  if (typeof value !== 'string') return undefined;
  const secrets = readSecretsVariable(value);
  return secrets === undefined ? undefined : { secrets, location: variableLocation };
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
