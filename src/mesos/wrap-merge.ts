import { isTesseraError } from '../errors.ts';
import { isInline, variableDisplayName } from './secret-rules.ts';
import {
  parseSecretsVariable,
  SECRETS_VARIABLE,
  type SecretsVariable,
  type SecretsVariableEnv,
  type SecretsVariableFile,
  taskFromSecretsVariable,
} from './secrets-variable.ts';
import type { Problem } from './types.ts';
import { secretFileProblems } from './volume-rules.ts';

// A definition that already runs through `tessera exec` carries its earlier secrets in
// TESSERA_SECRETS. Wrapping it again adds the new native secrets to that variable, so
// that both reach the one `tessera exec` that reads it.

/** An entry that a wrap moves into TESSERA_SECRETS, and the JSON path it came from. */
export interface MovedSecret<Entry> {
  entry: Entry;
  path: string;
}

/** The native secrets of a definition that a wrap moves into TESSERA_SECRETS. */
export interface MovedSecrets {
  env: MovedSecret<SecretsVariableEnv>[];
  files: MovedSecret<SecretsVariableFile>[];
}

/** Tells whether a wrap moves anything. */
export function hasMovedSecrets(moved: MovedSecrets): boolean {
  return moved.env.length > 0 || moved.files.length > 0;
}

/**
 * Reads the TESSERA_SECRETS value found at JSON path `where` and checks it as `tessera
 * exec` will, and also for inline values unless `allowInlineValues`. A definition whose
 * command does not run through `tessera exec` (`runsThroughExec` false) has a
 * TESSERA_SECRETS that nothing reads, which is a problem too. Returns the secrets, or
 * the problems, each at `where` and naming the entry, as in `env[0]`.
 */
export function readWrappedSecrets(
  text: string,
  where: string,
  options: { allowInlineValues: boolean; runsThroughExec: boolean },
): { wrapped?: WrappedSecrets; problems: Problem[] } {
  const unread = options.runsThroughExec ? [] : [unwrappedCommandProblem(where)];
  let secrets: SecretsVariable;
  try {
    secrets = parseSecretsVariable(text);
    taskFromSecretsVariable(secrets, 'wrapped');
  } catch (error) {
    if (isTesseraError(error, 'INVALID_TASK') || isTesseraError(error, 'INVALID_ARGUMENT')) {
      const problems = variableProblems(error.message, error.details?.problems, where);
      return { problems: [...problems, ...unread] };
    }
    throw error;
  }
  const inline = options.allowInlineValues ? [] : inlineProblems(secrets, where);
  const problems = [...inline, ...unread];
  return problems.length > 0 ? { problems } : { wrapped: { secrets, path: where }, problems };
}

function unwrappedCommandProblem(where: string): Problem {
  return {
    path: where,
    message:
      `sets ${SECRETS_VARIABLE}, but the command does not run through tessera exec, so ` +
      'nothing reads it; rename the variable, or remove it and wrap the definition again',
  };
}

/** A TESSERA_SECRETS that a definition already has, and its JSON path. */
export interface WrappedSecrets {
  secrets: SecretsVariable;
  path: string;
}

/**
 * Returns the TESSERA_SECRETS of a wrap: the entries of `wrapped`, if any, followed by
 * the moved ones. A moved variable that `wrapped` already sets, or a moved file at the
 * path of an earlier one or inside it, is a problem at the moved entry's path.
 */
export function mergeSecrets(
  wrapped: WrappedSecrets | undefined,
  moved: MovedSecrets,
): { secrets: SecretsVariable; problems: Problem[] } {
  const secrets: SecretsVariable = {
    version: 1,
    env: [...(wrapped?.secrets.env ?? []), ...moved.env.map((item) => item.entry)],
    files: [...(wrapped?.secrets.files ?? []), ...moved.files.map((item) => item.entry)],
  };
  if (wrapped === undefined) {
    return { secrets, problems: [] };
  }

  const { secrets: existing, path: where } = wrapped;

  const problems: Problem[] = [];
  const earlier = new Map(existing.env.map((entry, index) => [entry.name, index]));
  for (const { entry, path } of moved.env) {
    const index = earlier.get(entry.name);
    if (index !== undefined) {
      problems.push({
        path,
        message:
          `Environment variable '${variableDisplayName(entry.name)}' is already in ` +
          `${SECRETS_VARIABLE} (env[${index}] at ${where}); keep one of the two`,
      });
    }
  }
  const files = [
    ...existing.files.map((file, index) => ({
      path: `${SECRETS_VARIABLE} files[${index}] at ${where}`,
      containerPath: file.container_path,
    })),
    ...moved.files.map(({ entry, path }) => ({ path, containerPath: entry.container_path })),
  ];
  problems.push(...secretFileProblems(files));
  return { secrets, problems };
}

// `taskFromSecretsVariable` reports env[i] as command.environment.variables[i] and
// files[i] as container.volumes[i] of the task it builds.
function variableProblems(message: string, details: unknown, where: string): Problem[] {
  if (!Array.isArray(details)) {
    // The shape error lists its fields on lines of their own, indented under this one.
    return [{ path: where, message: message.replaceAll('\n', '\n  ') }];
  }
  return (details as Problem[]).map((problem) => ({
    path: where,
    message: `${SECRETS_VARIABLE} ${entryNames(problem.path)}: ${entryNames(problem.message)}`,
  }));
}

function entryNames(text: string): string {
  return text
    .replaceAll(/command\.environment\.variables\[(\d+)\]/g, 'env[$1]')
    .replaceAll(/container\.volumes\[(\d+)\]/g, 'files[$1]');
}

function inlineProblems(secrets: SecretsVariable, where: string): Problem[] {
  const fix = 'store the value in Tessera and use a REFERENCE, or pass --allow-inline-values';
  const problems: Problem[] = [];
  for (const [index, entry] of secrets.env.entries()) {
    if (isInline(entry.secret)) {
      problems.push({
        path: where,
        message: `${SECRETS_VARIABLE} env[${index}] has an inline VALUE secret; ${fix}`,
      });
    }
  }
  for (const [index, file] of secrets.files.entries()) {
    if (isInline(file.secret)) {
      problems.push({
        path: where,
        message: `${SECRETS_VARIABLE} files[${index}] has an inline VALUE secret; ${fix}`,
      });
    }
  }
  return problems;
}
