import type { z } from 'zod';
import { isTesseraError, TesseraError } from '../errors.ts';
import { parseDefinitionJson } from './definition-json.ts';
import {
  type AcceptCall,
  AcceptCallSchema,
  checkShape,
  type Operation,
  OperationSchema,
  snakeCaseHint,
  TaskGroupInfoSchema,
  TaskInfoSchema,
} from './schema.ts';
import type { ExecutorInfo, Problem, TaskInfo } from './types.ts';
import { taskRuleProblems, validateTask } from './validate.ts';

const EXPECTED =
  'a TaskInfo, a TaskGroupInfo with one task, a LAUNCH or LAUNCH_GROUP operation with one ' +
  'task, or an ACCEPT call with one launch operation holding one task';

type InputKind = 'task' | 'task group' | 'operation' | 'ACCEPT call';

/**
 * Reads one Mesos v1 TaskInfo from any of the JSON forms that carry one: a TaskInfo, a
 * TaskGroupInfo, a LAUNCH or LAUNCH_GROUP operation, or an ACCEPT scheduler call. The
 * task is returned as found in `input`, with every field it had. Throws INVALID_TASK
 * when the shape is wrong (naming each JSON path) or when the input contains
 * zero or several tasks. Runs no validation rule beyond the shape: see `validateTask`.
 */
export function readTask(input: unknown): TaskInfo {
  const kind = inputKind(input);
  switch (kind) {
    case 'task':
      return checkTaskShape(input, TaskInfoSchema, kind);
    case 'task group':
      return onlyTask(checkTaskShape(input, TaskGroupInfoSchema, kind).tasks, kind);
    case 'operation':
      return onlyTask(operationTasks(checkTaskShape(input, OperationSchema, kind)), kind);
    case 'ACCEPT call':
      return taskOfCall(checkTaskShape(input, AcceptCallSchema, kind));
  }
}

/**
 * Reads every TaskInfo of a v1 JSON input: a TaskInfo, a TaskGroupInfo, a LAUNCH or
 * LAUNCH_GROUP operation, or an ACCEPT call (the tasks of all its launch operations).
 * The tasks are the input's own objects. Throws INVALID_TASK as `readTask` does, but
 * accepts any number of tasks.
 */
export function readTasks(input: unknown): TaskInfo[] {
  const kind = inputKind(input);
  switch (kind) {
    case 'task':
      return [checkTaskShape(input, TaskInfoSchema, kind)];
    case 'task group':
      return checkTaskShape(input, TaskGroupInfoSchema, kind).tasks;
    case 'operation':
      return operationTasks(checkTaskShape(input, OperationSchema, kind));
    case 'ACCEPT call':
      return launchOperations(checkTaskShape(input, AcceptCallSchema, kind)).flatMap(
        operationTasks,
      );
  }
}

/**
 * Parses `text` as JSON, reads the one task it carries and validates it
 * (`parseDefinitionJson`, `readTask`, then `validateTask`). `source` names the text in
 * errors, such as a file name; INVALID_TASK messages start with it.
 */
export function readTaskText(text: string, source: string): TaskInfo {
  return readTaskAndExecutor(text, source).task;
}

/** A task read by `readTaskAndExecutor`, and the executor of the LAUNCH_GROUP that holds it. */
export interface TaskAndExecutor {
  task: TaskInfo;
  groupExecutor: ExecutorInfo | undefined;
}

/**
 * Reads and validates the one task of `text` as `readTaskText` does, and returns it with
 * the `executor` of the LAUNCH_GROUP operation that holds it, when the input is one or an
 * ACCEPT call with one. Tasks of a group have no executor of their own.
 */
export function readTaskAndExecutor(text: string, source: string): TaskAndExecutor {
  const input = parseDefinitionJson(text, source);
  try {
    const task = readTask(input);
    validateTask(task);
    return { task, groupExecutor: launchGroupExecutor(input) };
  } catch (error) {
    if (isTesseraError(error, 'INVALID_TASK')) {
      throw new TesseraError('INVALID_TASK', `${source}: ${error.message}`, {
        ...error.details,
        source,
      });
    }
    throw error;
  }
}

// Called after `readTask` accepted the input, so its shape is known to be right.
function launchGroupExecutor(input: unknown): ExecutorInfo | undefined {
  const kind = inputKind(input);
  let operation: Operation | undefined;
  if (kind === 'operation') {
    operation = input as Operation;
  } else if (kind === 'ACCEPT call') {
    operation = (input as AcceptCall).accept.operations.find(
      (item) => item.type === 'LAUNCH_GROUP',
    );
  }
  return operation?.type === 'LAUNCH_GROUP'
    ? (operation.launch_group?.executor as ExecutorInfo | undefined)
    : undefined;
}

function inputKind(input: unknown): InputKind {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new TesseraError('INVALID_TASK', `Expected a JSON object: ${EXPECTED}.`);
  }

  const fields = input as Record<string, unknown>;
  if ('task_id' in fields) {
    return 'task';
  }
  if ('tasks' in fields) {
    return 'task group';
  }
  if (fields.type === 'ACCEPT' || 'accept' in fields) {
    return 'ACCEPT call';
  }
  if (fields.type === 'LAUNCH' || fields.type === 'LAUNCH_GROUP') {
    return 'operation';
  }
  if ('launch' in fields || 'launch_group' in fields) {
    return 'operation';
  }
  throw new TesseraError(
    'INVALID_TASK',
    `The input is not a form that carries a task: no task_id, tasks, accept, launch or ` +
      `launch_group field, and type is not ACCEPT, LAUNCH or LAUNCH_GROUP. Expected ${EXPECTED}.` +
      snakeCaseHint(input),
  );
}

function checkTaskShape<T>(input: unknown, schema: z.ZodType<T>, kind: InputKind): T {
  return checkShape(input, schema, kind, ruleProblems);
}

// With a shape error, Mesos's rules still run on the task where it can be found, so that
// every problem is reported at once. Rules that trip over a misshapen field add nothing.
function ruleProblems(input: unknown): Problem[] {
  const found = findRawTask(input);
  if (found === undefined) return [];
  try {
    const problems = taskRuleProblems(found.task as TaskInfo);
    return problems.map((problem) => ({ ...problem, path: found.prefix + problem.path }));
  } catch {
    return [];
  }
}

// Finds the one task object of an input that failed its shape check, with the JSON path
// to it, without trusting any field's type.
function findRawTask(input: unknown, prefix = ''): { task: unknown; prefix: string } | undefined {
  const fields = asRecord(input);
  if (fields === undefined) return undefined;
  if ('task_id' in fields) return { task: fields, prefix };

  const single = (list: unknown, path: string) =>
    Array.isArray(list) && list.length === 1
      ? { task: list[0], prefix: `${prefix}${path}[0].` }
      : undefined;
  if ('tasks' in fields) return single(fields.tasks, 'tasks');
  const launch = asRecord(fields.launch);
  if (launch !== undefined) return single(launch.task_infos, 'launch.task_infos');
  const group = asRecord(asRecord(fields.launch_group)?.task_group);
  if (group !== undefined) return single(group.tasks, 'launch_group.task_group.tasks');

  const operations = asRecord(fields.accept)?.operations;
  if (!Array.isArray(operations)) return undefined;
  const launches = operations
    .map((operation, index) => ({ operation: asRecord(operation), index }))
    .filter(({ operation }) => operation?.type === 'LAUNCH' || operation?.type === 'LAUNCH_GROUP');
  const [only] = launches;
  if (only === undefined || launches.length > 1) return undefined;
  return findRawTask(only.operation, `${prefix}accept.operations[${only.index}].`);
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function operationTasks(operation: Operation): TaskInfo[] {
  if (operation.type === 'LAUNCH') {
    return operation.launch?.task_infos ?? [];
  }
  if (operation.type === 'LAUNCH_GROUP') {
    return operation.launch_group?.task_group.tasks ?? [];
  }
  throw new TesseraError(
    'INVALID_TASK',
    `The operation has type ${operation.type}, which launches no task. Expected ${EXPECTED}.`,
  );
}

function launchOperations(call: AcceptCall): Operation[] {
  return call.accept.operations.filter(
    (operation) => operation.type === 'LAUNCH' || operation.type === 'LAUNCH_GROUP',
  );
}

function taskOfCall(call: AcceptCall): TaskInfo {
  const launches = launchOperations(call);
  const [launch] = launches;
  if (launch === undefined || launches.length > 1) {
    throw new TesseraError(
      'INVALID_TASK',
      `The ACCEPT call has ${launches.length} LAUNCH or LAUNCH_GROUP operations in ` +
        `accept.operations. Expected ${EXPECTED}.`,
    );
  }
  return onlyTask(operationTasks(launch), 'ACCEPT call');
}

function onlyTask(tasks: TaskInfo[], kind: InputKind): TaskInfo {
  const [task] = tasks;
  if (task === undefined) {
    throw new TesseraError('INVALID_TASK', `The ${kind} contains no task. Expected ${EXPECTED}.`);
  }
  if (tasks.length > 1) {
    throw new TesseraError(
      'INVALID_TASK',
      `The ${kind} contains ${tasks.length} tasks. Expected ${EXPECTED}; ` +
        'check each task separately.',
    );
  }
  return task;
}
