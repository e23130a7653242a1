import { z } from 'zod';
import { TesseraError } from '../errors.ts';
import { shapeProblems } from './schema.ts';
import { printable } from './secret-rules.ts';
import type { Problem, Secret } from './types.ts';

// Marathon app and pod definitions as `/v2/apps` and `/v2/pods` take them
// (mesosphere/marathon `docs/docs/secrets.md` and the RAML types). Only the members that
// carry secrets are modelled, and objects are loose, so every other field passes through.

const secretRefSchema = z.looseObject({ secret: z.string() });
const envSchema = z.record(z.string(), z.union([z.string(), secretRefSchema]));
const secretsSchema = z.record(z.string(), z.looseObject({ source: z.unknown() }));

const AppSchema = z.looseObject({
  id: z.string(),
  cmd: z.string().optional(),
  args: z.array(z.string()).optional(),
  env: envSchema.optional(),
  secrets: secretsSchema.optional(),
  container: z
    .looseObject({
      type: z.string().optional(),
      docker: z.looseObject({ pullConfig: secretRefSchema.optional() }).optional(),
      volumes: z
        .array(
          z.looseObject({ containerPath: z.string().optional(), secret: z.string().optional() }),
        )
        .optional(),
    })
    .optional(),
});

const PodSchema = z.looseObject({
  id: z.string(),
  environment: envSchema.optional(),
  secrets: secretsSchema.optional(),
  volumes: z.array(z.looseObject({ name: z.string(), secret: z.string().optional() })).optional(),
  containers: z.array(
    z.looseObject({
      name: z.string(),
      environment: envSchema.optional(),
      exec: z
        .looseObject({
          overrideEntrypoint: z.boolean().optional(),
          command: z.looseObject({
            shell: z.string().optional(),
            argv: z.array(z.string()).optional(),
          }),
        })
        .optional(),
      image: z.looseObject({ pullConfig: secretRefSchema.optional() }).optional(),
      volumeMounts: z.array(z.looseObject({ name: z.string(), mountPath: z.string() })).optional(),
    }),
  ),
});

/** A Marathon app definition; unmodelled fields are kept as they are. */
export type MarathonApp = z.output<typeof AppSchema>;

/** A Marathon pod definition; unmodelled fields are kept as they are. */
export type MarathonPod = z.output<typeof PodSchema>;

/** A Marathon environment map: plain strings, or `{"secret": id}` references. */
export type MarathonEnv = z.output<typeof envSchema>;

/** A parsed Marathon definition, tagged with its kind. */
export type MarathonDefinition =
  | { kind: 'app'; app: MarathonApp }
  | { kind: 'pod'; pod: MarathonPod };

/** Tells whether a JSON value looks like a Marathon app or pod rather than a Mesos message. */
export function isMarathonDefinition(input: unknown): boolean {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return false;
  }
  const fields = input as Record<string, unknown>;
  return typeof fields.id === 'string' && !('task_id' in fields);
}

/**
 * Reads a Marathon app (it has no `containers`) or pod (it has `containers`) and checks
 * its shape. The returned definition is `input` itself, so field order is kept and
 * serializing it gives back the same JSON. Throws INVALID_TASK naming each JSON path
 * whose shape is wrong.
 */
export function readMarathon(input: unknown): MarathonDefinition {
  const isPod = typeof input === 'object' && input !== null && 'containers' in (input as object);
  const schema: z.ZodType = isPod ? PodSchema : AppSchema;
  const result = schema.safeParse(input);
  if (!result.success) {
    const problems = shapeProblems(result.error, input, jsonPointer);
    const lines = problems.map((problem) => `  ${problem.path} ${problem.message}`);
    throw new TesseraError(
      'INVALID_TASK',
      `The input looks like a Marathon ${isPod ? 'pod' : 'app'} but does not match its ` +
        `JSON form; fix these fields:\n${lines.join('\n')}`,
    );
  }
  return isPod
    ? { kind: 'pod', pod: input as MarathonPod }
    : { kind: 'app', app: input as MarathonApp };
}

/**
 * Maps a Marathon secret id to the Mesos reference that Tessera resolves: the `source`
 * is the store path, as in the DC/OS secret store and the file backend.
 */
export function marathonReference(
  secrets: Record<string, { source: unknown }>,
  secretId: string,
): Secret {
  const source = secrets[secretId]?.source as string;
  // The `path@field` form of marathon-vault-plugin names one field of a secret; the part
  // after the last `@` is the field, as that plugin reads it.
  const at = source.lastIndexOf('@');
  if (at > 0 && at < source.length - 1) {
    return {
      type: 'REFERENCE',
      reference: { name: source.slice(0, at), key: source.slice(at + 1) },
    };
  }
  return { type: 'REFERENCE', reference: { name: source } };
}

/** Formats a path as a JSON pointer (RFC 6901), as Marathon names fields in its errors. */
export function jsonPointer(segments: readonly PropertyKey[]): string {
  if (segments.length === 0) {
    return '(root)';
  }
  return segments.map((segment) => `/${pointerSegment(String(segment))}`).join('');
}

/** Formats one segment of a JSON pointer (RFC 6901). */
export function pointerSegment(segment: string | number): string {
  return String(segment).replaceAll('~', '~0').replaceAll('/', '~1');
}

/** Checks the `secrets` map: ids and sources must be non-empty, as Marathon requires. */
export function secretsMapProblems(secrets: Record<string, { source: unknown }>): Problem[] {
  const problems: Problem[] = [];
  for (const [id, entry] of Object.entries(secrets)) {
    if (id === '') {
      problems.push({ path: '/secrets', message: 'has an empty secret id; name the secret' });
    }
    if (typeof entry.source !== 'string' || entry.source === '') {
      problems.push({
        path: `/secrets/${pointerSegment(id)}/source`,
        message: 'must be a non-empty string naming the secret in the store',
      });
    }
  }
  return problems;
}

/** Reports each `{"secret": id}` of an environment map whose id is not in `secrets`. */
export function envReferenceProblems(
  env: MarathonEnv | undefined,
  base: string,
  defined: ReadonlySet<string>,
): Problem[] {
  const problems: Problem[] = [];
  for (const [name, value] of Object.entries(env ?? {})) {
    if (typeof value !== 'string') {
      problems.push(
        ...secretIdProblems(`${base}/${pointerSegment(name)}/secret`, value.secret, defined),
      );
    }
  }
  return problems;
}

/**
 * Checks one use of a secret id, at JSON pointer `path`: the id must not be empty, and
 * the `secrets` map must define it (in Marathon's wording, "references an undefined
 * secret"). Returns no problem or one.
 */
export function secretIdProblems(
  path: string,
  secretId: string | undefined,
  defined: ReadonlySet<string>,
): Problem[] {
  if (secretId === undefined) {
    return [];
  }
  if (secretId === '') {
    return [{ path, message: 'must not be empty; set it to an id defined under secrets' }];
  }
  if (defined.has(secretId)) {
    return [];
  }
  return [
    {
      path,
      message:
        `references an undefined secret '${printable(secretId)}'; add it under secrets ` +
        'or correct the id',
    },
  ];
}

/**
 * Removes from a definition's `secrets` each id in `moved` that `keep` does not name, and
 * then `secrets` itself when it is empty, because Marathon rejects a `secrets` map while
 * its secrets feature is off. Ids that are in neither set stay, since a field that wrap
 * does not model may use them. Returns those ids.
 */
export function pruneMovedSecrets(
  definition: { secrets?: Record<string, unknown> },
  moved: ReadonlySet<string>,
  keep: ReadonlySet<string>,
): string[] {
  const secrets = definition.secrets ?? {};
  const unused: string[] = [];
  for (const id of Object.keys(secrets)) {
    if (moved.has(id) && !keep.has(id)) {
      delete secrets[id];
    } else if (!moved.has(id) && !keep.has(id)) {
      unused.push(id);
    }
  }
  if (definition.secrets !== undefined && Object.keys(definition.secrets).length === 0) {
    delete definition.secrets;
  }
  return unused;
}

/** Formats the warning for secret ids that nothing used before the wrap. */
export function unusedSecretsWarning(what: string, ids: readonly string[]): string[] {
  if (ids.length === 0) {
    return [];
  }
  const list = ids.map((id) => `'${printable(id)}'`).join(', ');
  if (ids.length === 1) {
    return [
      `${what}: secret ${list} is used by no field that tessera wrap knows and stays in ` +
        'secrets; remove it if nothing needs it',
    ];
  }
  return [
    `${what}: secrets ${list} are used by no field that tessera wrap knows and stay in ` +
      'secrets; remove them if nothing needs them',
  ];
}

/** Throws INVALID_TASK listing every problem, one per line, each after its JSON pointer. */
export function throwProblems(what: string, problems: Problem[]): void {
  if (problems.length === 0) {
    return;
  }
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  const lines = problems.map((problem) => `  ${problem.path} ${problem.message}`);
  throw new TesseraError(
    'INVALID_TASK',
    `${what} is invalid (${count}); fix each one:\n${lines.join('\n')}`,
    { problems },
  );
}
