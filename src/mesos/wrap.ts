import { TesseraError } from '../errors.ts';
import type { PathExists } from './container-path.ts';
import { printable } from './secret-rules.ts';
import {
  formatSecretsVariable,
  LOGIN_ROLE_VARIABLE,
  SECRETS_VARIABLE,
  TASK_ID_VARIABLE,
} from './secrets-variable.ts';
import type { CommandInfo, TaskInfo } from './types.ts';
import { checkTaskForWrap, throwTaskProblems } from './wrap-checks.ts';
import {
  DEFAULT_TESSERA_PROGRAM,
  isWrappedArgv,
  isWrappedShellCommand,
  wrapArgv,
  wrapShellCommand,
} from './wrap-command.ts';
import { execMemoryWarnings, taskMemory } from './wrap-memory.ts';
import {
  hasMovedSecrets,
  type MovedSecrets,
  mergeSecrets,
  readWrappedSecrets,
  type WrappedSecrets,
} from './wrap-merge.ts';

/** Options of `wrapTaskInfo` and `wrapDefinition`. */
export interface WrapOptions {
  /** The `tessera` program on the agent; `tessera` (looked up in PATH) by default. */
  tessera?: string;
  /** Moves inline `VALUE` secrets into TESSERA_SECRETS instead of rejecting them. */
  allowInlineValues?: boolean;
  /**
   * Sets TESSERA_LOGIN_ROLE to this login role, so that `tessera exec` logs in as the
   * Mesos task instead of needing a token.
   */
  loginRole?: string;
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
 * variable), and its command runs through `tessera exec`. A task that already runs
 * through `tessera exec` keeps its command, and the new secrets join its TESSERA_SECRETS.
 * Other fields keep their values and order. Throws INVALID_TASK when the task is invalid
 * (see `validateTask`), has an absolute container path that would fail on launch, has
 * no command to wrap, carries inline values that are not allowed, or has a
 * TESSERA_SECRETS that is invalid or already contains a new entry. A task that cannot be
 * wrapped is left as it was.
 */
export function wrapTaskInfo(task: TaskInfo, options: WrapOptions = {}): WrapReport {
  const warnings = checkTaskForWrap(task, options);
  const id = printable(task.task_id.value);
  const wrapped = wrappedSecrets(task, options);
  const moved = movedSecrets(task);
  if (!hasMovedSecrets(moved)) {
    if (wrapped !== undefined && task.command !== undefined && options.loginRole !== undefined) {
      setVariable(task.command, LOGIN_ROLE_VARIABLE, options.loginRole);
      warnings.push(`task '${id}' has no secrets to add; only ${LOGIN_ROLE_VARIABLE} is set`);
      return { warnings };
    }
    const state = wrapped === undefined ? 'has no secrets' : 'has no secrets to add';
    warnings.push(`task '${id}' ${state}; left unchanged`);
    return { warnings };
  }

  // Every check runs before the first change.
  const command = commandToWrap(task);
  const merged = mergeSecrets(wrapped, moved);
  throwTaskProblems(task, merged.problems);

  removeSecrets(task);
  if (wrapped === undefined) {
    wrapCommandInfo(command, options.tessera ?? DEFAULT_TESSERA_PROGRAM);
    warnings.push(...execMemoryWarnings(`task '${id}'`, taskMemory(task.resources)));
  }
  setVariable(command, SECRETS_VARIABLE, formatSecretsVariable(merged.secrets));
  if (options.loginRole !== undefined) {
    setVariable(command, LOGIN_ROLE_VARIABLE, options.loginRole);
  }
  const earlierId = setVariable(command, TASK_ID_VARIABLE, task.task_id.value);
  if (earlierId !== undefined && earlierId !== task.task_id.value) {
    warnings.push(
      `task '${id}': ${TASK_ID_VARIABLE} was '${printable(earlierId)}' and is now the task id`,
    );
  }
  return { warnings };
}

// A plain TESSERA_SECRETS variable marks a task that a wrap has already rewritten.
function wrappedSecrets(task: TaskInfo, options: WrapOptions): WrappedSecrets | undefined {
  const variables = task.command?.environment?.variables ?? [];
  const index = variables.findIndex(
    (variable) => variable.name === SECRETS_VARIABLE && variable.type !== 'SECRET',
  );
  const variable = variables[index];
  if (variable === undefined) {
    return undefined;
  }

  const path = `command.environment.variables[${index}]`;
  const read = readWrappedSecrets(variable.value ?? '', path, {
    allowInlineValues: options.allowInlineValues === true,
    runsThroughExec: runsThroughExec(task.command),
  });
  throwTaskProblems(task, read.problems);
  return read.wrapped;
}

function runsThroughExec(command: CommandInfo | undefined): boolean {
  if (command?.value === undefined) {
    return false;
  }
  if (command.shell !== false) {
    return isWrappedShellCommand(command.value);
  }
  const argv = command.arguments ?? [];
  return argv[0] === command.value && isWrappedArgv(argv);
}

// Sets a VALUE variable, where it is if the command has it, else at the end. Returns the
// value it had.
function setVariable(command: CommandInfo, name: string, value: string): string | undefined {
  command.environment ??= {};
  command.environment.variables ??= [];
  const variables = command.environment.variables;
  const existing = variables.find(
    (variable) => variable.name === name && variable.type !== 'SECRET',
  );
  if (existing === undefined) {
    variables.push({ name, type: 'VALUE', value });
    return undefined;
  }
  const earlier = existing.value;
  existing.value = value;
  return earlier;
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

function movedSecrets(task: TaskInfo): MovedSecrets {
  const moved: MovedSecrets = { env: [], files: [] };
  for (const [index, variable] of (task.command?.environment?.variables ?? []).entries()) {
    if (variable.type === 'SECRET' && variable.secret !== undefined) {
      moved.env.push({
        entry: { name: variable.name, secret: variable.secret },
        path: `command.environment.variables[${index}]`,
      });
    }
  }
  for (const [index, volume] of (task.container?.volumes ?? []).entries()) {
    const secret = volume.source?.type === 'SECRET' ? volume.source.secret : undefined;
    if (secret !== undefined) {
      const mode = volume.mode === 'RW' ? 'RW' : 'RO';
      moved.files.push({
        entry: { container_path: volume.container_path, mode, secret },
        path: `container.volumes[${index}]`,
      });
    }
  }
  return moved;
}

// Removes the SECRET entries from the arrays in place, so that every other entry keeps
// its position relative to the others.
function removeSecrets(task: TaskInfo): void {
  const variables = task.command?.environment?.variables;
  if (variables !== undefined) {
    const kept = variables.filter(
      (variable) => variable.type !== 'SECRET' || variable.secret === undefined,
    );
    variables.splice(0, variables.length, ...kept);
  }

  const volumes = task.container?.volumes;
  if (volumes !== undefined) {
    const kept = volumes.filter(
      (volume) => volume.source?.type !== 'SECRET' || volume.source.secret === undefined,
    );
    volumes.splice(0, volumes.length, ...kept);
  }
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
