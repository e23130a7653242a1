import { variableDisplayName } from '../mesos/secret-rules.ts';
import { commandLineDetections } from './command-line.ts';
import { type Detection, MASK, STORE_ADVICE } from './finding.ts';
import { checkNamedValue } from './named-value.ts';
import { textDetections } from './value-forms.ts';

// Descriptions of the entries of an array under these keys, for messages. A Map, so that
// an input key such as `__proto__` finds nothing.
const PAIR_KINDS = new Map<string | number | undefined, string>([
  ['variables', 'environment variable'],
  ['labels', 'label'],
  ['parameters', 'parameter'],
]);

/**
 * Checks an entry `{name, value}` or `{key, value}` (a Mesos environment variable or
 * label, a Docker parameter) whose `value`, at `location`, is a string. `arrayKey` is the
 * key of the array that contains the entry. Returns undefined when `entry` has no such
 * form. A Docker parameter `env` has the value `NAME=value`, the form of `docker run -e`.
 */
export function pairDetections(
  entry: Record<string, unknown>,
  location: string,
  arrayKey: string | number | undefined,
): Detection[] | undefined {
  const name = typeof entry.name === 'string' ? entry.name : entry.key;
  const value = entry.value;
  if (typeof value !== 'string' || typeof name !== 'string') return undefined;

  if (entry.key === 'env') {
    const equals = value.indexOf('=');
    const found =
      equals === -1
        ? undefined
        : checkNamedValue(
            value.slice(0, equals),
            value.slice(equals + 1),
            location,
            'environment variable',
          );
    if (found === undefined) return textDetections(value, location);
    return [...textDetections(value, location, [value]), found];
  }

  // Mesos rejects a SECRET variable with a `value`, but a definition file may still carry one.
  const found =
    entry.type === 'SECRET' && value !== ''
      ? strayValue(name, location)
      : checkNamedValue(name, value, location, PAIR_KINDS.get(arrayKey) ?? 'field');
  if (found === undefined) return commandLineDetections(value, location);
  return [...commandLineDetections(value, location, [value]), found];
}

function strayValue(name: string, location: string): Detection {
  return {
    location,
    severity: 'high',
    kind: 'secret-value',
    message: `SECRET variable ${variableDisplayName(name)} also carries a plaintext value (${MASK}); remove the value, and ${STORE_ADVICE}`,
    redacted: MASK,
  };
}
