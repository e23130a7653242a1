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
    const lines = shapeProblems(result.error, input).map((p) => `  ${p.path} ${p.message}`);
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
    if (typeof value !== 'string' && !defined.has(value.secret)) {
      problems.push(undefinedSecret(`${base}/${pointerSegment(name)}/secret`, value.secret));
    }
  }
  return problems;
}

/** A use of an id that the `secrets` map does not define, in Marathon's wording. */
export function undefinedSecret(path: string, secretId: string): Problem {
  return {
    path,
    message:
      `references an undefined secret '${printable(secretId)}'; add it under secrets ` +
      'or correct the id',
  };
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
