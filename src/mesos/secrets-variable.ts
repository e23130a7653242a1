import { z } from 'zod';
import { TesseraError } from '../errors.ts';
import { parseJson } from './json.ts';
import { SecretSchema, shapeProblems } from './schema.ts';
import type { Secret, TaskInfo } from './types.ts';
import { validateTask } from './validate.ts';

/** Name of the environment variable that carries a wrapped task's secret references. */
export const SECRETS_VARIABLE = 'TESSERA_SECRETS';

/** Name of the variable that gives `tessera exec` the task id where Mesos sets none. */
export const TASK_ID_VARIABLE = 'TESSERA_TASK_ID';

/** The variable that names the login role of a task that logs in through the master. */
export const LOGIN_ROLE_VARIABLE = 'TESSERA_LOGIN_ROLE';

/** One environment secret of `TESSERA_SECRETS`: the variable to set and its `Secret`. */
export interface SecretsVariableEnv {
  name: string;
  secret: Secret;
}

/** One file secret of `TESSERA_SECRETS`, placed as a `SECRET` volume would be. */
export interface SecretsVariableFile {
  container_path: string;
  /** As `mesos.v1.Volume.mode`; anything but `RW` is read-only. */
  mode?: 'RO' | 'RW';
  secret: Secret;
}

/**
 * The content of `TESSERA_SECRETS`: version 1 of the format, then the secrets in the
 * order `tessera exec` delivers them. A `Secret` is in its Mesos v1 JSON form, and is a
 * `REFERENCE` unless the task was wrapped with inline values allowed.
 */
export interface SecretsVariable {
  version: 1;
  env: SecretsVariableEnv[];
  files: SecretsVariableFile[];
}

const SecretsVariableSchema = z.strictObject({
  version: z.literal(1),
  env: z.array(z.strictObject({ name: z.string(), secret: SecretSchema })),
  files: z.array(
    z.strictObject({
      container_path: z.string(),
      mode: z.enum(['RO', 'RW']).optional(),
      secret: SecretSchema,
    }),
  ),
});

/** Serializes the secrets of a wrapped task as the value of `TESSERA_SECRETS`. */
export function formatSecretsVariable(secrets: SecretsVariable): string {
  return JSON.stringify(secrets);
}

/**
 * Parses `TESSERA_SECRETS` and checks its shape. Throws INVALID_TASK naming each JSON
 * path that does not match, or INVALID_ARGUMENT when the text is not JSON. Messages never
 * quote the text, because it may carry an inline value.
 */
export function parseSecretsVariable(text: string): SecretsVariable {
  const input = parseJson(text, SECRETS_VARIABLE);
  const result = SecretsVariableSchema.safeParse(input);
  if (result.success) {
    return input as SecretsVariable;
  }

  const lines = shapeProblems(result.error, input).map((p) => `  ${p.path} ${p.message}`);
  throw new TesseraError(
    'INVALID_TASK',
    `${SECRETS_VARIABLE} does not match its format (version 1, env and files); wrap the ` +
      `task again with tessera wrap, or fix these fields:\n${lines.join('\n')}`,
  );
}

/**
 * Builds the TaskInfo that `tessera exec` delivers from `TESSERA_SECRETS`: one `SECRET`
 * variable per env entry and one `SECRET` volume per file entry, with `taskId` as its id.
 * It is validated with `validateTask`, so the same rules apply as to a `--task` file.
 */
export function taskFromSecretsVariable(secrets: SecretsVariable, taskId: string): TaskInfo {
  const task: TaskInfo = {
    name: taskId,
    task_id: { value: taskId },
    command: {
      environment: {
        variables: secrets.env.map((entry) => ({
          name: entry.name,
          type: 'SECRET',
          secret: entry.secret,
        })),
      },
    },
    container: {
      type: 'MESOS',
      volumes: secrets.files.map((file) => ({
        mode: file.mode ?? 'RO',
        container_path: file.container_path,
        source: { type: 'SECRET', secret: file.secret },
      })),
    },
  };
  validateTask(task);
  return task;
}

/**
 * Reads the task of a wrapped command from its environment: `TESSERA_SECRETS`, and the
 * id in `TESSERA_TASK_ID`, else `MESOS_TASK_ID` (set by Marathon), else `unknown`.
 * Returns undefined when `TESSERA_SECRETS` is not set.
 */
export function taskFromEnvironment(env: NodeJS.ProcessEnv): TaskInfo | undefined {
  const text = env[SECRETS_VARIABLE];
  if (text === undefined) {
    return undefined;
  }
  const taskId = taskIdFromEnvironment(env) ?? 'unknown';
  return taskFromSecretsVariable(parseSecretsVariable(text), taskId);
}

/** Returns the task id in `TESSERA_TASK_ID`, else `MESOS_TASK_ID`, or undefined. */
export function taskIdFromEnvironment(env: NodeJS.ProcessEnv): string | undefined {
  return env[TASK_ID_VARIABLE] || env.MESOS_TASK_ID || undefined;
}
