import { isTesseraError, TesseraError } from '../errors.ts';
import { referencePath, secretUses } from '../mesos/secrets.ts';
import type { Secret, SecretUse, TaskInfo } from '../mesos/types.ts';

/** A use of a secret in a TaskInfo, with the position of its bytes in the resolved batch. */
export type PlannedUse = SecretUse & { index: number };

/** The distinct secrets a task needs, and where each of them goes. */
export interface DeliveryPlan {
  secrets: Secret[];
  uses: PlannedUse[];
}

/** Resolves a batch of secrets to their bytes, in the order of the batch. */
export type ResolveSecrets = (secrets: Secret[]) => Promise<Buffer[]>;

/**
 * Collects the distinct secrets of a task, so that each is resolved once and a secret used
 * both as a variable and as a file gets the same bytes in both places. Two references are
 * the same secret when `referencePath` maps them to the same path and field. Two inline
 * values are the same secret when their bytes are equal.
 */
export function planDelivery(task: TaskInfo): DeliveryPlan {
  const secrets: Secret[] = [];
  const indexByIdentity = new Map<string, number>();
  const uses: PlannedUse[] = [];

  for (const use of secretUses(task)) {
    const identity = secretIdentity(use.secret, uses.length);
    let index = indexByIdentity.get(identity);
    if (index === undefined) {
      index = secrets.length;
      secrets.push(use.secret);
      indexByIdentity.set(identity, index);
    }
    uses.push({ ...use, index });
  }
  return { secrets, uses };
}

/**
 * Calls `resolve` once with the plan's secrets, or not at all when there are none, and
 * checks that it returned one buffer per secret.
 */
export async function resolvePlan(plan: DeliveryPlan, resolve: ResolveSecrets): Promise<Buffer[]> {
  if (plan.secrets.length === 0) {
    return [];
  }

  // Checked at run time because the resolver is another module's code.
  const values: unknown = await resolve(plan.secrets).catch((error: unknown) => {
    throw withUseNames(error, plan);
  });
  if (!Array.isArray(values) || values.length !== plan.secrets.length) {
    const count = Array.isArray(values) ? values.length : 'no array of';
    throw new TesseraError(
      'DELIVERY_FAILED',
      `the secret resolver returned ${count} values for ${plan.secrets.length} secrets; ` +
        'this is a bug in the resolver, report it with the task definition',
    );
  }

  return values.map((value, index) => {
    if (!(value instanceof Uint8Array)) {
      throw new TesseraError(
        'DELIVERY_FAILED',
        `the secret resolver returned no bytes for secret ${index} of the batch; ` +
          'this is a bug in the resolver, report it with the task definition',
        { index },
      );
    }
    return Buffer.isBuffer(value)
      ? value
      : Buffer.from(value.buffer, value.byteOffset, value.length);
  });
}

// Mesos's default resolver (src/secret/resolver.cpp) looks at which field is present and
// ignores `type`, so an UNKNOWN-typed secret is matched by its fields in the same way.
function secretIdentity(secret: Secret, position: number): string {
  if (secret.reference && secret.type !== 'VALUE') {
    const { path, field } = referencePath(secret.reference);
    return JSON.stringify(['reference', path, field]);
  }

  if (secret.value && secret.type !== 'REFERENCE') {
    const canonical = Buffer.from(secret.value.data, 'base64').toString('base64');
    return JSON.stringify(['value', canonical]);
  }

  // A secret with neither field cannot be resolved, and the resolver reports it.
  return JSON.stringify(['unmatched', position]);
}

/** One item of a RESOLVE_FAILED error: the item's position in the batch, and why. */
export interface ResolveFailure {
  index: number;
  code: string;
  message: string;
}

/** Returns the failed items of a RESOLVE_FAILED error, or undefined if it has none. */
export function resolveFailures(error: TesseraError): ResolveFailure[] | undefined {
  const errors = error.details?.errors;
  if (!Array.isArray(errors)) return undefined;
  const valid = errors.every(
    (item: Partial<ResolveFailure> | null) =>
      typeof item?.index === 'number' && typeof item.message === 'string',
  );
  return valid ? (errors as ResolveFailure[]) : undefined;
}

/** Describes a use of a secret for a message: the variable's name or the file's path. */
export function describeUse(use: SecretUse): string {
  return use.kind === 'env' ? `environment variable ${use.name}` : `file ${use.containerPath}`;
}

// The resolver numbers failed items by their position in the batch, which is not in the
// task's definition. So the message names each item's variables and files instead.
function withUseNames(error: unknown, plan: DeliveryPlan): unknown {
  if (!isTesseraError(error, 'RESOLVE_FAILED')) return error;
  const failures = resolveFailures(error);
  if (failures === undefined) return error;
  // A message is a fault and, after '; ', what to do. Advice that every failure shares is
  // given once, at the end, so that many missing secrets still make a readable line.
  const parts = failures.map((failure) => splitAdvice(failure.message));
  const advice = parts[0]?.advice;
  const shared = advice !== undefined && parts.every((part) => part.advice === advice);
  const lines = failures.map((failure, i) => {
    const uses = plan.uses.filter((use) => use.index === failure.index).map(describeUse);
    const name = uses.length > 0 ? uses.join(' and ') : `secret ${failure.index} of the batch`;
    return `${name}: ${shared ? parts[i]?.fault : failure.message}`;
  });
  const count = `${failures.length} of ${plan.secrets.length}`;
  return new TesseraError(
    error.code,
    `${count} secrets failed to resolve: ${lines.join('; ')}${shared ? `; ${advice}` : ''}`,
    error.details,
  );
}

function splitAdvice(message: string): { fault: string; advice: string | undefined } {
  const at = message.indexOf('; ');
  if (at === -1) return { fault: message, advice: undefined };
  return { fault: message.slice(0, at), advice: message.slice(at + 2) };
}
