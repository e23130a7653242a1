import { variableDisplayName } from './secret-rules.ts';
import type { ExecutorInfo, SecretReference, SecretUse, TaskInfo } from './types.ts';

/**
 * Lists the secrets a task asks for, in TaskInfo order: `SECRET` environment variables of
 * its command, then `SECRET` volumes of its container. A volume is read-only unless its
 * mode is `RW`, as in `mesos.v1.Volume`.
 */
export function secretUses(task: TaskInfo): SecretUse[] {
  const uses: SecretUse[] = [];
  for (const variable of task.command?.environment?.variables ?? []) {
    if (variable.type === 'SECRET' && variable.secret) {
      uses.push({ kind: 'env', name: variable.name, secret: variable.secret });
    }
  }

  for (const volume of task.container?.volumes ?? []) {
    const secret = volume.source?.type === 'SECRET' ? volume.source.secret : undefined;
    if (secret) {
      uses.push({
        kind: 'file',
        containerPath: volume.container_path,
        secret,
        readOnly: volume.mode !== 'RW',
      });
    }
  }
  return uses;
}

/**
 * Maps a Mesos `Secret.Reference` to a Tessera path and field. One leading `/` of `name`
 * is dropped, because Mesos and Marathon examples write both `/db/password` and
 * `db/password`; without `key`, the field `value` is meant.
 */
export function referencePath(reference: SecretReference): { path: string; field: string } {
  const path = reference.name.startsWith('/') ? reference.name.slice(1) : reference.name;
  return { path, field: reference.key ?? 'value' };
}

/**
 * Lists the `SECRET` environment variables of a task's executor (`executor.command`), and
 * of `groupExecutor`, the executor of the LAUNCH_GROUP that holds the task, by their
 * display names. The agent starts the executor, so `tessera exec` never delivers them.
 */
export function executorSecretNames(task: TaskInfo, groupExecutor?: ExecutorInfo): string[] {
  const variables = [
    ...(task.executor?.command?.environment?.variables ?? []),
    ...(groupExecutor?.command?.environment?.variables ?? []),
  ];
  return variables
    .filter((variable) => variable.type === 'SECRET')
    .map((variable) => variableDisplayName(variable.name));
}
