import { TesseraError } from '../errors.ts';
import { parseJson } from './json.ts';
import { isMarathonDefinition, readMarathon } from './marathon.ts';
import { wrapMarathonApp } from './marathon-app.ts';
import { wrapMarathonPod } from './marathon-pod.ts';
import { snakeCaseHint } from './schema.ts';
import { readTasks } from './task.ts';
import { tasksOf, type WrapOptions, type WrapReport, wrapTaskInfo } from './wrap.ts';

/** A wrapped definition and what the wrap reported. */
export interface WrappedDefinition extends WrapReport {
  /** A copy of the input with the secrets moved; the input itself is not changed. */
  definition: unknown;
}

/**
 * Wraps any definition `tessera wrap` accepts: a TaskInfo, TaskGroupInfo, LAUNCH or
 * LAUNCH_GROUP operation, ACCEPT call (every task of it), or Marathon app or pod. Works on
 * a copy, so `input` is left as it was. Throws INVALID_TASK when the input is none of
 * these forms or a task cannot be wrapped.
 */
export function wrapDefinition(input: unknown, options: WrapOptions = {}): WrappedDefinition {
  const definition = structuredClone(input);
  if (isMarathonDefinition(definition)) {
    const parsed = readMarathon(definition);
    const report =
      parsed.kind === 'app'
        ? wrapMarathonApp(parsed.app, options)
        : wrapMarathonPod(parsed.pod, options);
    return { definition, ...report };
  }

  const tasks = tasksOf(definition) === undefined ? [] : readTasks(definition);
  if (tasks.length === 0) {
    throw new TesseraError(
      'INVALID_TASK',
      'The input carries no task: expected a TaskInfo, a TaskGroupInfo, a LAUNCH or ' +
        'LAUNCH_GROUP operation, an ACCEPT call, or a Marathon app or pod definition.' +
        snakeCaseHint(definition),
    );
  }
  const warnings = tasks.flatMap((task) => wrapTaskInfo(task, options).warnings);
  return { definition, warnings };
}

/**
 * Parses `text` as JSON, wraps it with `wrapDefinition` and returns the result as JSON
 * indented by two spaces. `source` names the text in errors.
 */
export function wrapDefinitionText(
  text: string,
  source: string,
  options: WrapOptions = {},
): { text: string; warnings: string[] } {
  // NOTE: JSON.parse turns integers above 2^53 into approximations, so an int64 field
  // of that size does not come out exactly as it went in.
  const input = parseJson(text, source);
  try {
    const { definition, warnings } = wrapDefinition(input, options);
    return { text: `${JSON.stringify(definition, null, 2)}\n`, warnings };
  } catch (error) {
    if (error instanceof TesseraError && error.code === 'INVALID_TASK') {
      throw new TesseraError('INVALID_TASK', `${source}: ${error.message}`, error.details);
    }
    throw error;
  }
}
