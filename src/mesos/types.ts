// Mesos v1 messages in their JSON form (`include/mesos/v1/mesos.proto`): snake_case field
// names, enums as their names, `bytes` fields as base64 strings. Only the fields that
// carry or frame secrets are typed; parsers keep every other field untouched so that a
// TaskInfo can be written back exactly as it was read.

export type SecretType = 'UNKNOWN' | 'REFERENCE' | 'VALUE';

export interface SecretReference {
  name: string;
  key?: string;
}

export interface SecretValue {
  /** The secret's bytes, base64-encoded as protobuf JSON encodes `bytes`. */
  data: string;
}

/** `mesos.v1.Secret`. `type` is optional and then means UNKNOWN, as in the proto. */
export interface Secret {
  type?: SecretType;
  reference?: SecretReference;
  value?: SecretValue;
}

export type VariableType = 'UNKNOWN' | 'VALUE' | 'SECRET';

/** `mesos.v1.Environment.Variable`; `type` defaults to VALUE. */
export interface EnvironmentVariable {
  name: string;
  type?: VariableType;
  value?: string;
  secret?: Secret;
}

export interface Environment {
  variables?: EnvironmentVariable[];
}

export interface CommandInfo {
  /** Defaults to true: `value` runs under `/bin/sh -c`. */
  shell?: boolean;
  value?: string;
  arguments?: string[];
  environment?: Environment;
  user?: string;
  [field: string]: unknown;
}

export type VolumeSourceType =
  | 'UNKNOWN'
  | 'DOCKER_VOLUME'
  | 'SANDBOX_PATH'
  | 'SECRET'
  | 'HOST_PATH'
  | 'CSI_VOLUME';

export interface VolumeSource {
  type?: VolumeSourceType;
  secret?: Secret;
  [field: string]: unknown;
}

export interface Volume {
  mode?: 'RW' | 'RO';
  container_path: string;
  host_path?: string;
  image?: unknown;
  source?: VolumeSource;
  [field: string]: unknown;
}

export type ContainerType = 'MESOS' | 'DOCKER';

export interface ContainerInfo {
  type?: ContainerType;
  volumes?: Volume[];
  [field: string]: unknown;
}

/** `mesos.v1.ExecutorInfo`; only the members that can carry secrets are typed. */
export interface ExecutorInfo {
  command?: CommandInfo;
  container?: ContainerInfo;
  [field: string]: unknown;
}

export interface TaskInfo {
  name: string;
  task_id: { value: string };
  agent_id?: { value: string };
  command?: CommandInfo;
  container?: ContainerInfo;
  executor?: ExecutorInfo;
  [field: string]: unknown;
}

export interface TaskGroupInfo {
  tasks: TaskInfo[];
}

/** Where a secret sits in a TaskInfo, and how it must be delivered. */
export type SecretUse =
  | { kind: 'env'; name: string; secret: Secret }
  | { kind: 'file'; containerPath: string; secret: Secret; readOnly: boolean };

/** One finding of a shape check or of `validateTask`: the JSON path it concerns and why. */
export interface Problem {
  /** Dotted JSON path from the checked object, as in `command.environment.variables[2]`. */
  path: string;
  message: string;
}

/** One secret of a Mesos-style secrets file: a `Secret.Reference` and its decoded bytes. */
export interface SecretsFileEntry {
  /** `reference.name` as written, with its leading `/` if any. */
  name: string;
  key?: string;
  data: Buffer;
}
