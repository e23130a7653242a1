import { checkPolicyName } from '../access/policy.ts';
import { TesseraError } from '../errors.ts';
import { absolutePathFindings, taskAbsolutePaths } from './container-path.ts';
import { isInline, printable, variableDisplayName } from './secret-rules.ts';
import { executorSecretNames } from './secrets.ts';
import type { CommandInfo, ContainerInfo, Problem, TaskInfo } from './types.ts';
import { validateTask } from './validate.ts';
import type { WrapOptions } from './wrap.ts';

/** The variable that gives `tessera exec` its token. */
export const TOKEN_VARIABLE = 'TESSERA_TOKEN';

/**
 * Checks the options of a wrap. Throws INVALID_ARGUMENT for a `loginRole` that is no
 * login role name, since the task's login would fail only once it runs.
 */
export function checkWrapOptions(options: WrapOptions): void {
  if (options.loginRole !== undefined) checkPolicyName(options.loginRole, '--login-role');
}

/**
 * Checks a TaskInfo before a wrap: `validateTask`, absolute container paths, and inline
 * values unless `allowInlineValues`. Throws INVALID_TASK listing every problem. Returns
 * warnings about what the wrapped task still does natively or leaves readable.
 */
export function checkTaskForWrap(task: TaskInfo, options: WrapOptions): string[] {
  checkWrapOptions(options);
  validateTask(task);

  const id = printable(task.task_id.value);
  const paths = absolutePathFindings(taskAbsolutePaths(task), options.pathExists);
  const inline = options.allowInlineValues ? [] : inlineValueProblems(task);
  throwTaskProblems(task, [...paths.errors, ...inline]);

  const warnings = paths.warnings.map((w) => `task '${id}' ${w.path}: ${w.message}`);
  for (const name of executorSecretNames(task)) {
    warnings.push(
      `task '${id}': executor secret ${name} is left in the executor; the agent resolves it`,
    );
  }
  const mesos = task.container?.mesos as { image?: { docker?: { config?: unknown } } } | undefined;
  if (mesos?.image?.docker?.config !== undefined) {
    warnings.push(
      `task '${id}': container.mesos.image.docker.config is left in place; the agent pulls ` +
        'the image before the task starts, so it needs a --secret_resolver module',
    );
  }
  for (const [index, variable] of (task.command?.environment?.variables ?? []).entries()) {
    if (variable.name === TOKEN_VARIABLE && variable.type !== 'SECRET') {
      const path = `command.environment.variables[${index}]`;
      warnings.push(plainTokenWarning(`task '${id}'`, path, options.loginRole));
    }
  }
  return warnings;
}

/** Throws INVALID_TASK listing every problem that stops a wrap of `task`, if there is one. */
export function throwTaskProblems(task: TaskInfo, problems: Problem[]): void {
  if (problems.length === 0) {
    return;
  }
  const lines = problems.map((problem) => `  ${problem.path}: ${problem.message}`);
  throw new TesseraError(
    'INVALID_TASK',
    `Task '${printable(task.task_id.value)}' cannot be wrapped; fix each problem:\n` +
      lines.join('\n'),
    { taskId: task.task_id.value, problems },
  );
}

/**
 * Formats the warning for a TESSERA_TOKEN written in plain text at `path` of a definition
 * (`what`, as in "task 'web.1'"). With `loginRole`, the warning says that the token wins
 * over the login.
 */
export function plainTokenWarning(what: string, path: string, loginRole?: string): string {
  const fix =
    loginRole === undefined
      ? 'give tessera exec its token from outside the definition, or log in as the task ' +
        'with --login-role'
      : `remove it: tessera exec uses a given token and does not log in under the login role ${loginRole}`;
  return (
    `${what}: ${path} sets ${TOKEN_VARIABLE} in plain text; a token in a definition is ` +
    `readable by anyone who can read the definition or the master's /state, so ${fix}`
  );
}

// A VALUE secret carries its bytes in the TaskInfo, and so in the master's `/state`;
// moving it into an environment variable would not hide it either. The executor's are
// rejected too, because the master's `/state` shows an executor's command in full.
function inlineValueProblems(task: TaskInfo): Problem[] {
  const fix = 'store the value in Tessera and use a REFERENCE, or pass --allow-inline-values';
  const executorFix =
    "remove it from the executor, whose command the master's /state shows in full, or " +
    'pass --allow-inline-values to leave it there';
  return [
    ...inlineVariables(task.command, 'command', 'Environment variable', fix),
    ...inlineVolumes(task.container, 'container', 'Secret volume', fix),
    ...inlineVariables(
      task.executor?.command,
      'executor.command',
      'Executor environment variable',
      executorFix,
    ),
    ...inlineVolumes(
      task.executor?.container,
      'executor.container',
      'Executor secret volume',
      executorFix,
    ),
  ];
}

function inlineVariables(
  command: CommandInfo | undefined,
  base: string,
  noun: string,
  fix: string,
): Problem[] {
  const problems: Problem[] = [];
  for (const [index, variable] of (command?.environment?.variables ?? []).entries()) {
    if (variable.type === 'SECRET' && variable.secret && isInline(variable.secret)) {
      problems.push({
        path: `${base}.environment.variables[${index}]`,
        message: `${noun} '${variableDisplayName(variable.name)}' has an inline VALUE secret; ${fix}`,
      });
    }
  }
  return problems;
}

function inlineVolumes(
  container: ContainerInfo | undefined,
  base: string,
  noun: string,
  fix: string,
): Problem[] {
  const problems: Problem[] = [];
  for (const [index, volume] of (container?.volumes ?? []).entries()) {
    const secret = volume.source?.type === 'SECRET' ? volume.source.secret : undefined;
    if (secret && isInline(secret)) {
      problems.push({
        path: `${base}.volumes[${index}]`,
        message: `${noun} '${printable(volume.container_path)}' has an inline VALUE secret; ${fix}`,
      });
    }
  }
  return problems;
}
