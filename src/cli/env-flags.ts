import type { Command } from 'commander';

const TRUE_WORDS: ReadonlySet<string> = new Set(['1', 'true', 'yes']);
const FALSE_WORDS: ReadonlySet<string> = new Set(['0', 'false', 'no']);

/** What the environment twin of a boolean flag accepts, for help and error messages. */
export const BOOLEAN_VARIABLE_VALUES =
  '1, true or yes to set it, 0, false or no or empty to unset it';

/**
 * Parses the value of a boolean flag's environment variable: true for 1, true or yes,
 * false for 0, false or no (in any case), and undefined for an empty value, which counts
 * as unset. Returns the string `invalid` for anything else.
 */
export function parseBooleanVariable(value: string): boolean | undefined | 'invalid' {
  const word = value.trim().toLowerCase();
  if (word === '') return undefined;
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  return 'invalid';
}

/**
 * Makes Commander skip the environment twin of each option of `program` and its
 * subcommands when that variable is empty, because an empty variable counts as unset.
 * Otherwise Commander hands the empty value to the option's parser, which rejects it for
 * a number. The help then does not name that variable. Call it once every subcommand is
 * added.
 */
export function skipEmptyVariables(program: Command): void {
  for (const option of program.options) {
    if (option.envVar !== undefined && process.env[option.envVar] === '') {
      option.envVar = undefined;
    }
  }
  for (const command of program.commands) skipEmptyVariables(command);
}

/**
 * Makes the environment twin of every boolean flag read by its value, before any action
 * runs. Commander sets a boolean flag when its variable is defined at all, so that
 * `TESSERA_NO_MASK=false` would turn masking off. Here a false value leaves the flag
 * unset, and a value other than those of `BOOLEAN_VARIABLE_VALUES` is a usage error (exit
 * status 1) that names the variable but not the value.
 */
export function readEnvironmentByValue(program: Command): void {
  program.hook('preAction', (_program, action) => {
    for (const option of action.options) {
      const name = option.envVar;
      const key = option.attributeName();
      if (name === undefined || action.getOptionValueSource(key) !== 'env') continue;

      // An option that takes a value gets the variable's value as it is.
      if (option.required || option.optional) continue;
      const parsed = parseBooleanVariable(process.env[name] ?? '');
      if (parsed === 'invalid') {
        action.error(`error: ${name} must be ${BOOLEAN_VARIABLE_VALUES}`, {
          code: 'tessera.invalidVariable',
        });
      }
      if (parsed !== true) {
        // For `--no-x`, Commander's default is true, and the variable turns it off.
        const unset = option.negate ? (option.defaultValue ?? true) : option.defaultValue;
        action.setOptionValueWithSource(key, unset, 'default');
      }
    }
  });
}
