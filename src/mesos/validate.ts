import { TesseraError } from '../errors.ts';
import { checkShape, TaskInfoSchema } from './schema.ts';
import {
  COMMAND_PREFIX,
  inlineSecretBytes,
  invalidNameMessage,
  isValidVariableName,
  mesosSecretError,
  printable,
  strictSecretProblems,
  variableDisplayName,
} from './secret-rules.ts';
import type { EnvironmentVariable, Problem, TaskInfo } from './types.ts';
import { volumeProblems } from './volume-rules.ts';

/**
 * Validates the secrets of a task and throws INVALID_TASK listing every problem found,
 * one per line, with `details.problems` as `{path, message}` objects. The shape is checked
 * first, as `readTask` checks it, so a value that is no TaskInfo gets an error naming each
 * field that does not match. Mesos's own rules come next, in Mesos's words and with the
 * master's prefixes (`validateEnvironment` and `validateVolume` in
 * `src/common/validation.cpp`). Tessera's stricter rules follow. They require strict
 * base64 data, typed secrets, valid reference names, valid and unique variable names,
 * safe and distinct secret volume paths, and no secrets in a DOCKER container.
 * Messages name variables, paths and indexes, never a secret's data or a stray value.
 */
export function validateTask(task: TaskInfo): void {
  checkShape(task, TaskInfoSchema, 'task');
  const problems = taskRuleProblems(task);
  if (problems.length === 0) {
    return;
  }

  const taskId = printable(task.task_id.value);
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  const lines = problems.map((problem) => `  ${problem.path}: ${problem.message}`);
  throw new TesseraError(
    'INVALID_TASK',
    `Task '${taskId}' is invalid (${count}); fix each one and submit the task again:\n` +
      lines.join('\n'),
    { taskId: task.task_id.value, problems },
  );
}

/**
 * Lists the problems that Mesos's rules and Tessera's find in the secrets of a task whose
 * shape was checked, without throwing; see `validateTask`.
 */
export function taskRuleProblems(task: TaskInfo): Problem[] {
  return [...environmentProblems(task), ...volumeProblems(task), ...dockerProblems(task)];
}

function environmentProblems(task: TaskInfo): Problem[] {
  const variables = task.command?.environment?.variables ?? [];
  const problems: Problem[] = [];
  for (const [index, variable] of variables.entries()) {
    const path = `command.environment.variables[${index}]`;
    const mesosError = mesosVariableError(variable);
    const messages =
      mesosError === undefined ? secretVariableProblems(variable) : [COMMAND_PREFIX + mesosError];
    if (!isValidVariableName(variable.name)) {
      const subject = `Environment variable ${index} ('${variableDisplayName(variable.name)}')`;
      messages.push(invalidNameMessage(subject));
    }
    for (const message of messages) {
      problems.push({ path, message });
    }
  }
  problems.push(...duplicateNameProblems(variables));
  return problems;
}

// Mesos's `validateEnvironment`, for one variable. The null-byte rule needs the decoded
// bytes, so it runs in `secretVariableProblems`.
function mesosVariableError(variable: EnvironmentVariable): string | undefined {
  const subject = `Environment variable '${variableDisplayName(variable.name)}'`;
  switch (variable.type ?? 'VALUE') {
    case 'SECRET': {
      if (variable.secret === undefined) {
        return `${subject} of type 'SECRET' must have a secret set`;
      }
      if (variable.value !== undefined) {
        return `${subject} of type 'SECRET' must not have a value set`;
      }
      const secretError = mesosSecretError(variable.secret);
      return secretError === undefined
        ? undefined
        : `${subject} specifies an invalid secret: ${secretError}`;
    }
    case 'VALUE':
      if (variable.value === undefined) {
        return `${subject} of type 'VALUE' must have a value set`;
      }
      if (variable.secret !== undefined) {
        return `${subject} of type 'VALUE' must not have a secret set`;
      }
      return undefined;
    default:
      return "Environment variable of type 'UNKNOWN' is not allowed";
  }
}

function secretVariableProblems(variable: EnvironmentVariable): string[] {
  if (variable.type !== 'SECRET' || variable.secret === undefined) {
    return [];
  }

  const subject = `Environment variable '${variableDisplayName(variable.name)}'`;
  const problems: string[] = [];
  const { bytes, problem } = inlineSecretBytes(variable.secret, subject);
  if (problem !== undefined) {
    problems.push(problem);
  }
  // An environment entry is a C string, so a NUL would cut the value short.
  if (bytes?.includes(0)) {
    problems.push(
      `${COMMAND_PREFIX}${subject} specifies a secret containing null bytes, which is not ` +
        'allowed in the environment',
    );
  }
  problems.push(...strictSecretProblems(variable.secret, subject));
  return problems;
}

// Mesos accepts a name twice, and only one of the values reaches the task. Invalid names
// are reported on their own.
function duplicateNameProblems(variables: EnvironmentVariable[]): Problem[] {
  const problems: Problem[] = [];
  const firstIndex = new Map<string, number>();
  for (const [index, variable] of variables.entries()) {
    if (!isValidVariableName(variable.name)) {
      continue;
    }
    const first = firstIndex.get(variable.name);
    if (first === undefined) {
      firstIndex.set(variable.name, index);
      continue;
    }
    const name = variableDisplayName(variable.name);
    problems.push({
      path: `command.environment.variables[${index}]`,
      message:
        `Environment variable '${name}' is set more than once (first at ` +
        `command.environment.variables[${first}]); keep one definition`,
    });
  }
  return problems;
}

// Mesos's Docker containerizer (`src/docker/docker.cpp`) passes every variable as
// `variable.value()`, so a SECRET variable arrives as an empty string, and it skips every
// volume whose source is not DOCKER_VOLUME. Neither is reported to the framework.
function dockerProblems(task: TaskInfo): Problem[] {
  if (task.container?.type !== 'DOCKER') {
    return [];
  }

  const problems: Problem[] = [];
  for (const [index, variable] of (task.command?.environment?.variables ?? []).entries()) {
    if (variable.type === 'SECRET') {
      const name = variableDisplayName(variable.name);
      problems.push({
        path: `command.environment.variables[${index}]`,
        message:
          `Environment variable '${name}' is of type SECRET, but the container type is ` +
          "DOCKER: Mesos's Docker containerizer delivers secret variables as empty strings. " +
          'Use container type MESOS.',
      });
    }
  }
  for (const [index, volume] of (task.container.volumes ?? []).entries()) {
    if (volume.source?.type === 'SECRET') {
      problems.push({
        path: `container.volumes[${index}]`,
        message:
          `Secret volume '${printable(volume.container_path)}' is in a container of type ` +
          "DOCKER: Mesos's Docker containerizer skips secret volumes. Use container type MESOS.",
      });
    }
  }
  return problems;
}
