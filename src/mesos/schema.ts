import { z } from 'zod';
import { TesseraError } from '../errors.ts';
import { printable } from './secret-rules.ts';
import type {
  CommandInfo,
  ContainerInfo,
  Environment,
  EnvironmentVariable,
  Problem,
  Secret,
  TaskGroupInfo,
  TaskInfo,
  Volume,
  VolumeSource,
} from './types.ts';

// Schemas for the v1 JSON form of the messages in `include/mesos/v1/mesos.proto` and
// `include/mesos/v1/scheduler/scheduler.proto` that carry secrets. Objects are loose, so
// fields that Tessera does not model pass through untouched. Enums accept their names
// only, as Mesos's JSON parser does. Nothing here transforms a value, so a parsed object
// equals its input.

const idSchema = z.looseObject({ value: z.string() });

/** `mesos.v1.Secret`, with its `Reference` and `Value`. */
export const SecretSchema: z.ZodType<Secret> = z.looseObject({
  type: z.enum(['UNKNOWN', 'REFERENCE', 'VALUE']).optional(),
  reference: z.looseObject({ name: z.string(), key: z.string().optional() }).optional(),
  value: z.looseObject({ data: z.string() }).optional(),
});

/** `mesos.v1.Environment.Variable`. */
export const EnvironmentVariableSchema: z.ZodType<EnvironmentVariable> = z.looseObject({
  name: z.string(),
  type: z.enum(['UNKNOWN', 'VALUE', 'SECRET']).optional(),
  value: z.string().optional(),
  secret: SecretSchema.optional(),
});

/** `mesos.v1.Environment`. */
export const EnvironmentSchema: z.ZodType<Environment> = z.looseObject({
  variables: z.array(EnvironmentVariableSchema).optional(),
});

/** `mesos.v1.Volume.Source`; only its `secret` member is modelled. */
export const VolumeSourceSchema: z.ZodType<VolumeSource> = z.looseObject({
  type: z
    .enum(['UNKNOWN', 'DOCKER_VOLUME', 'SANDBOX_PATH', 'SECRET', 'HOST_PATH', 'CSI_VOLUME'])
    .optional(),
  secret: SecretSchema.optional(),
});

/** `mesos.v1.Volume`. */
export const VolumeSchema: z.ZodType<Volume> = z.looseObject({
  mode: z.enum(['RW', 'RO']).optional(),
  container_path: z.string(),
  host_path: z.string().optional(),
  image: z.looseObject({}).optional(),
  source: VolumeSourceSchema.optional(),
});

/** `mesos.v1.CommandInfo`. */
export const CommandInfoSchema: z.ZodType<CommandInfo> = z.looseObject({
  shell: z.boolean().optional(),
  value: z.string().optional(),
  arguments: z.array(z.string()).optional(),
  environment: EnvironmentSchema.optional(),
  user: z.string().optional(),
});

/** `mesos.v1.ContainerInfo`. */
export const ContainerInfoSchema: z.ZodType<ContainerInfo> = z.looseObject({
  type: z.enum(['DOCKER', 'MESOS']).optional(),
  volumes: z.array(VolumeSchema).optional(),
});

/** `mesos.v1.ExecutorInfo`, which has its own command and container. */
export const ExecutorInfoSchema = z.looseObject({
  type: z.enum(['UNKNOWN', 'DEFAULT', 'CUSTOM']).optional(),
  executor_id: idSchema,
  command: CommandInfoSchema.optional(),
  container: ContainerInfoSchema.optional(),
});

/** `mesos.v1.TaskInfo`. */
export const TaskInfoSchema: z.ZodType<TaskInfo> = z.looseObject({
  name: z.string(),
  task_id: idSchema,
  agent_id: idSchema.optional(),
  command: CommandInfoSchema.optional(),
  container: ContainerInfoSchema.optional(),
  executor: ExecutorInfoSchema.optional(),
});

/** `mesos.v1.TaskGroupInfo`. */
export const TaskGroupInfoSchema: z.ZodType<TaskGroupInfo> = z.looseObject({
  tasks: z.array(TaskInfoSchema),
});

/** `mesos.v1.Offer.Operation.Type`, as of Mesos 1.11. */
const OPERATION_TYPES = [
  'UNKNOWN',
  'LAUNCH',
  'LAUNCH_GROUP',
  'RESERVE',
  'UNRESERVE',
  'CREATE',
  'DESTROY',
  'GROW_VOLUME',
  'SHRINK_VOLUME',
  'CREATE_DISK',
  'DESTROY_DISK',
] as const;

/**
 * `mesos.v1.Offer.Operation`. Only LAUNCH and LAUNCH_GROUP are modelled, and each must
 * carry its member (`launch` or `launch_group`), as the master requires.
 */
export const OperationSchema = z
  .looseObject({
    type: z.enum(OPERATION_TYPES),
    launch: z.looseObject({ task_infos: z.array(TaskInfoSchema) }).optional(),
    launch_group: z
      .looseObject({ executor: ExecutorInfoSchema, task_group: TaskGroupInfoSchema })
      .optional(),
  })
  .superRefine((operation, context) => {
    if (operation.type === 'LAUNCH' && operation.launch === undefined) {
      context.addIssue({ code: 'custom', path: ['launch'], message: 'is missing' });
    }
    if (operation.type === 'LAUNCH_GROUP' && operation.launch_group === undefined) {
      context.addIssue({ code: 'custom', path: ['launch_group'], message: 'is missing' });
    }
  });

/** A v1 scheduler `Call` of type ACCEPT, the call that launches tasks. */
export const AcceptCallSchema = z.looseObject({
  type: z.literal('ACCEPT'),
  accept: z.looseObject({ operations: z.array(OperationSchema) }),
});

/** The parsed form of `OperationSchema`. */
export type Operation = z.output<typeof OperationSchema>;

/** The parsed form of `AcceptCallSchema`. */
export type AcceptCall = z.output<typeof AcceptCallSchema>;

/**
 * Checks `input` against the v1 JSON form of a Mesos message and returns it, the same
 * object, typed. Throws INVALID_TASK naming each JSON path whose shape is wrong, and
 * each problem that `moreProblems` finds in the input away from those paths, so that
 * every problem is reported at once. `kind` names the message in the error, as in `task`
 * or `ACCEPT call`.
 */
export function checkShape<T>(
  input: unknown,
  schema: z.ZodType<T>,
  kind: string,
  moreProblems: (input: unknown) => Problem[] = () => [],
): T {
  const result = schema.safeParse(input);
  if (result.success) {
    return input as T;
  }

  const shape = shapeProblems(result.error, input);
  const more = moreProblems(input).filter((rule) => !shape.some((item) => overlaps(item, rule)));
  const lines = [
    ...shape.map((problem) => `  ${problem.path} ${problem.message}`),
    ...more.map((problem) => `  ${problem.path}: ${problem.message}`),
  ];
  throw new TesseraError(
    'INVALID_TASK',
    `The input looks like a Mesos ${kind} but does not match its v1 JSON form; fix these ` +
      `fields:\n${lines.join('\n')}`,
    { problems: [...shape, ...more] },
  );
}

function overlaps(a: Problem, b: Problem): boolean {
  return a.path.startsWith(b.path) || b.path.startsWith(a.path);
}

/**
 * Turns the issues of a failed parse into problems that name the JSON path and the rule,
 * and never the value found there: issue messages from Zod are not used, because a
 * future message might quote the input. `format` writes a path: dotted JSON access by
 * default, as Mesos messages are named.
 */
export function shapeProblems(
  error: z.ZodError,
  input: unknown,
  format: (segments: readonly PropertyKey[]) => string = formatPath,
): Problem[] {
  return error.issues.map((issue) => ({
    path: format(issue.path),
    message: describeIssue(issue, input),
  }));
}

/**
 * Describes the first problem of a failed parse in one phrase, such as `field slaves is
 * missing` or `the body must be an object`, with the count of any others. Like
 * `shapeProblems`, it never quotes the value.
 */
export function describeShape(error: z.ZodError, input: unknown): string {
  const [first, ...others] = shapeProblems(error, input);
  if (first === undefined) return 'its shape is invalid';
  const subject = first.path === '(root)' ? 'the body' : `field ${first.path}`;
  const more = others.length === 0 ? '' : ` (and ${others.length} more problems)`;
  return `${subject} ${first.message}${more}`;
}

/**
 * Returns a sentence that names the snake_case field for each camelCase key of `input`,
 * such as `taskId`, or '' when there is none. Mesos's v1 JSON form uses the proto field
 * names, which are snake_case.
 */
export function snakeCaseHint(input: unknown): string {
  if (input === null || typeof input !== 'object') {
    return '';
  }
  const renames = Object.keys(input)
    .filter((key) => /^[a-z]+[A-Z]/.test(key))
    .map((key) => `${snakeCase(key)} for ${key}`);
  if (renames.length === 0) {
    return '';
  }
  return ` The v1 JSON form uses snake_case field names: write ${renames.join(', ')}.`;
}

function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

/** Formats a path as dotted JSON access: `accept.operations[0].launch`. */
export function formatPath(segments: readonly PropertyKey[]): string {
  let path = '';
  for (const segment of segments) {
    if (typeof segment === 'number') {
      path += `[${segment}]`;
    } else if (typeof segment === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(segment)) {
      path += path === '' ? segment : `.${segment}`;
    } else {
      path += `[${JSON.stringify(String(segment))}]`;
    }
  }
  return path === '' ? '(root)' : path;
}

function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
  const found = valueAt(input, issue.path);
  switch (issue.code) {
    case 'invalid_type':
      if (found !== undefined) {
        return `must be ${withArticle(issue.expected)}`;
      }
      return `is missing${camelCaseTwin(input, issue.path)}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map(String).join(', ')}`;
    case 'unrecognized_keys':
      return unknownKeys(issue.keys);
    case 'custom':
      return issue.message;
    default:
      return `is invalid (${issue.code})`;
  }
}

// A key is a field name, not a value, so it is shown, with its control characters escaped.
function unknownKeys(keys: readonly string[]): string {
  const quoted = keys.map((key) => `'${printable(key)}'`).join(', ');
  const noun = keys.length === 1 ? 'field' : 'fields';
  return `has unknown ${noun} ${quoted}; remove ${keys.length === 1 ? 'it' : 'them'}`;
}

// A missing `task_id` next to a `taskId` is a camelCase copy of the v1 JSON form.
function camelCaseTwin(input: unknown, path: readonly PropertyKey[]): string {
  const field = path.at(-1);
  if (typeof field !== 'string' || !field.includes('_')) {
    return '';
  }
  const camel = field.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase());
  const parent = valueAt(input, path.slice(0, -1));
  if (parent === null || typeof parent !== 'object' || !(camel in parent)) {
    return '';
  }
  return ` (found ${camel}: the v1 JSON form uses snake_case field names; rename it to ${field})`;
}

function withArticle(expected: string): string {
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current = input;
  for (const segment of path) {
    if (current === null || typeof current !== 'object') {
      return undefined;
    }
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return current;
}
