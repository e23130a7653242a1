// The package's public surface for framework authors: build secret references, validate
// and wrap TaskInfos and Marathon definitions, and resolve secrets through a Tessera
// server. The `tessera` CLI uses these same functions.

export { TesseraClient } from './client/client.ts';
export { isTesseraError, TesseraError } from './errors.ts';
export { type DoctorOptions, type DoctorReport, runDoctor } from './mesos/doctor.ts';
export { readMarathon } from './mesos/marathon.ts';
export { checkMarathonApp, wrapMarathonApp } from './mesos/marathon-app.ts';
export { checkMarathonPod, wrapMarathonPod } from './mesos/marathon-pod.ts';
export { referencePath, secretUses } from './mesos/secrets.ts';
export {
  formatSecretsVariable,
  parseSecretsVariable,
  SECRETS_VARIABLE,
  type SecretsVariable,
  TASK_ID_VARIABLE,
  taskFromSecretsVariable,
} from './mesos/secrets-variable.ts';
export { readTask, readTaskText } from './mesos/task.ts';
export type { Secret, SecretReference, TaskInfo } from './mesos/types.ts';
export { validateTask } from './mesos/validate.ts';
export { tasksOf, type WrapOptions, wrapTaskInfo } from './mesos/wrap.ts';
export { wrapDefinition, wrapDefinitionText } from './mesos/wrap-definition.ts';

/**
 * Builds a Mesos `Secret` of type REFERENCE, as a TaskInfo carries it: `name` is the
 * Tessera path, and `key` the field (without it, the field `value` is meant).
 */
export function secretReference(name: string, key?: string): import('./mesos/types.ts').Secret {
  return { type: 'REFERENCE', reference: key === undefined ? { name } : { name, key } };
}
