import { TesseraError } from '../errors.ts';
import type { PathExists } from './container-path.ts';
import { printable } from './secret-rules.ts';
import { secretUses } from './secrets.ts';
import {
  formatSecretsVariable,
  SECRETS_VARIABLE,
  type SecretsVariable,
  TASK_ID_VARIABLE,
} from './secrets-variable.ts';
import type { CommandInfo, TaskInfo } from './types.ts';
import { checkTaskForWrap } from './wrap-checks.ts';
import { DEFAULT_TESSERA_PROGRAM, wrapArgv, wrapShellCommand } from './wrap-command.ts';

/** Options of `wrapTaskInfo` and `wrapDefinition`. */
export interface WrapOptions {
  /** The `tessera` program on the agent; `tessera` (looked up in PATH) by default. */
  tessera?: string;
  /** Moves inline `VALUE` secrets into TESSERA_SECRETS instead of rejecting them. */
  allowInlineValues?: boolean;
  /** Checks absolute container paths against a host; the local filesystem by default. */
  pathExists?: PathExists;
}

/** Summary of a wrap's changes; the task itself is edited in place, not returned. */
export interface WrapReport {
  /** Things the wrapped definition still does natively, or may not expect. */
  warnings: string[];
}

/**
 * Rewrites one TaskInfo, in place, to run on agents without secret support. Its `SECRET`
 * variables and volumes move into the TESSERA_SECRETS variable (references only, unless
 * `allowInlineValues`), TESSERA_TASK_ID is set to its task id (Mesos sets no task id
 * variable), and its command runs through `tessera exec`. Other fields keep their values
 * and order. Throws INVALID_TASK when the task is invalid (see `validateTask`), has an
 * absolute container path that would fail on launch, has no command to wrap, or carries
 * inline values that are not allowed.
 */
export function wrapTaskInfo(task: TaskInfo, options: WrapOptions = {}): WrapReport {
  const warnings = checkTaskForWrap(task, options);
  if (secretUses(task).length === 0) {
    warnings.push(`task '${printable(task.task_id.value)}' has no secrets; left unchanged`);
    return { warnings };
  }

  // Every check runs before the first change, so a task that cannot be wrapped is left
  // as it was.
  const command = commandToWrap(task);
  const secrets = takeSecrets(task);
  wrapCommandInfo(command, options.tessera ?? DEFAULT_TESSERA_PROGRAM);
  command.environment ??= {};
  command.environment.variables ??= [];
  command.environment.variables.push(
    { name: SECRETS_VARIABLE, type: 'VALUE', value: formatSecretsVariable(secrets) },
    { name: TASK_ID_VARIABLE, type: 'VALUE', value: task.task_id.value },
  );
  return { warnings };
}

/**
 * Lists every TaskInfo of a v1 JSON input: a TaskInfo, a TaskGroupInfo, a LAUNCH or
 * LAUNCH_GROUP operation, or an ACCEPT call (all of its launch operations). The tasks are
 * the input's own objects, so editing them edits the input. Returns undefined when the
 * input is none of these forms.
 */
export function tasksOf(input: unknown): TaskInfo[] | undefined {
  if (!isObject(input)) {
    return undefined;
  }
  if ('task_id' in input) {
    return [input as unknown as TaskInfo];
  }
  if (Array.isArray(input.tasks)) {
    return input.tasks as TaskInfo[];
  }
  const accept = input.accept;
  if (isObject(accept) && Array.isArray(accept.operations)) {
    return accept.operations.flatMap((operation) => operationTasks(operation) ?? []);
  }
  return operationTasks(input);
}

function operationTasks(operation: unknown): TaskInfo[] | undefined {
  if (!isObject(operation)) {
    return undefined;
  }
  const launch = operation.launch;
  if (isObject(launch) && Array.isArray(launch.task_infos)) {
    return launch.task_infos as TaskInfo[];
  }
  const group = operation.launch_group;
  if (isObject(group) && isObject(group.task_group) && Array.isArray(group.task_group.tasks)) {
    return group.task_group.tasks as TaskInfo[];
  }
  return undefined;
}

// Removes the SECRET entries from the arrays in place, so that every other entry keeps
// its position relative to the others.
function takeSecrets(task: TaskInfo): SecretsVariable {
  const secrets: SecretsVariable = { version: 1, env: [], files: [] };
  const variables = task.command?.environment?.variables;
  if (variables !== undefined) {
    const kept = variables.filter((variable) => {
      if (variable.type !== 'SECRET' || variable.secret === undefined) return true;
      secrets.env.push({ name: variable.name, secret: variable.secret });
      return false;
    });
    variables.splice(0, variables.length, ...kept);
  }

  const volumes = task.container?.volumes;
  if (volumes !== undefined) {
    const kept = volumes.filter((volume) => {
      const secret = volume.source?.type === 'SECRET' ? volume.source.secret : undefined;
      if (secret === undefined) return true;
      const mode = volume.mode === 'RW' ? 'RW' : 'RO';
      secrets.files.push({ container_path: volume.container_path, mode, secret });
      return false;
    });
    volumes.splice(0, volumes.length, ...kept);
  }
  return secrets;
}

// A custom executor starts its tasks itself, so the agent runs no command of the task that
// tessera exec could wrap, and TESSERA_SECRETS would reach no `tessera exec`.
function commandToWrap(task: TaskInfo): CommandInfo {
  const id = printable(task.task_id.value);
  if (task.command === undefined && task.executor !== undefined) {
    throw new TesseraError(
      'INVALID_TASK',
      `Task '${id}' has no command: its executor (executor.command) starts the task, so ` +
        'there is no command to run through tessera exec; deliver its secrets with a ' +
        '--secret_resolver module on the agent, or have the executor start the task ' +
        'through tessera exec',
    );
  }
  const command = task.command;
  if (command?.value === undefined || command.value === '') {
    throw new TesseraError(
      'INVALID_TASK',
      `Task '${id}' has no command.value, so there is no command to run through tessera ` +
        "exec; set command.value (a container image's entrypoint cannot be wrapped)",
    );
  }
  return command;
}

// `CommandInfo.shell` defaults to true in mesos.proto. Without the shell, `value` is the
// program and `arguments` the whole argv, argv[0] included.
function wrapCommandInfo(command: CommandInfo, tessera: string): void {
  const value = command.value as string;
  if (command.shell !== false) {
    command.value = wrapShellCommand(value, { tessera });
    return;
  }

  // NOTE: tessera exec runs the program with argv[0] equal to its path, so an argv[0]
  // that differs from `value` is lost.
  const [, ...rest] = command.arguments ?? [];
  const argv = wrapArgv([value, ...rest], { tessera });
  command.value = tessera;
  command.arguments = argv;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
