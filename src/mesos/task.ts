import type { z } from 'zod';
import { isTesseraError, TesseraError } from '../errors.ts';
import { parseJson } from './json.ts';
import {
  type AcceptCall,
  AcceptCallSchema,
  type Operation,
  OperationSchema,
  shapeProblems,
  TaskGroupInfoSchema,
  TaskInfoSchema,
} from './schema.ts';
import type { TaskInfo } from './types.ts';
import { validateTask } from './validate.ts';

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
      return checkShape(input, TaskInfoSchema, kind);
    case 'task group':
      return onlyTask(checkShape(input, TaskGroupInfoSchema, kind).tasks, kind);
    case 'operation':
      return onlyTask(operationTasks(checkShape(input, OperationSchema, kind)), kind);
    case 'ACCEPT call':
      return taskOfCall(checkShape(input, AcceptCallSchema, kind));
  }
}

/**
 * Parses `text` as JSON, reads the one task it carries and validates it (`parseJson`,
 * `readTask`, then `validateTask`). `source` names the text in errors, such as a file
 * name; INVALID_TASK messages start with it.
 */
export function readTaskText(text: string, source: string): TaskInfo {
  const input = parseJson(text, source);
  try {
    const task = readTask(input);
    validateTask(task);
    return task;
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
      `launch_group field, and type is not ACCEPT, LAUNCH or LAUNCH_GROUP. Expected ${EXPECTED}.`,
  );
}

// The schemas transform nothing, so on success the input itself is returned: fields keep
// their order and identity.
function checkShape<T>(input: unknown, schema: z.ZodType<T>, kind: InputKind): T {
  const result = schema.safeParse(input);
  if (result.success) {
    return input as T;
  }

  const problems = shapeProblems(result.error, input);
  const lines = problems.map((problem) => `  ${problem.path} ${problem.message}`);
  throw new TesseraError(
    'INVALID_TASK',
    `The input looks like a Mesos ${kind} but does not match its v1 JSON form; fix these ` +
      `fields:\n${lines.join('\n')}`,
    { problems },
  );
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

function taskOfCall(call: AcceptCall): TaskInfo {
  const launches = call.accept.operations.filter(
    (operation) => operation.type === 'LAUNCH' || operation.type === 'LAUNCH_GROUP',
  );
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
