import { TesseraError } from '../errors.ts';
import { checkNesting, parseDefinitionJson } from './definition-json.ts';
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
 * these forms or a task cannot be wrapped, and INVALID_ARGUMENT when it nests more than
 * MAX_NESTING levels deep.
 */
export function wrapDefinition(input: unknown, options: WrapOptions = {}): WrappedDefinition {
  checkNesting(input, 'The definition');
  const definition = structuredClone(input);
  return { definition, warnings: wrapInPlace(definition, options) };
}

/**
 * Parses `text` as JSON, wraps it as `wrapDefinition` does and returns the result as JSON
 * indented by two spaces. `source` names the text in errors. A leading byte order mark is
 * ignored, a key that an object has twice is rejected, and numbers are written as they
 * were, also those that a JavaScript number cannot hold exactly.
 */
export function wrapDefinitionText(
  text: string,
  source: string,
  options: WrapOptions = {},
): { text: string; warnings: string[] } {
  const definition = parseDefinitionJson(text, source, { exactNumbers: true });
  try {
    // The parsed value is this function's own, so it is wrapped without a copy, which
    // would turn the kept number texts into objects.
    const warnings = wrapInPlace(definition, options);
    return { text: `${JSON.stringify(definition, null, 2)}\n`, warnings };
  } catch (error) {
    if (error instanceof TesseraError && error.code === 'INVALID_TASK') {
      throw new TesseraError('INVALID_TASK', `${source}: ${error.message}`, error.details);
    }
    throw error;
  }
}

function wrapInPlace(definition: unknown, options: WrapOptions): string[] {
  if (isMarathonDefinition(definition)) {
    const parsed = readMarathon(definition);
    const report =
      parsed.kind === 'app'
        ? wrapMarathonApp(parsed.app, options)
        : wrapMarathonPod(parsed.pod, options);
    return report.warnings;
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
  return tasks.flatMap((task) => wrapTaskInfo(task, options).warnings);
}
