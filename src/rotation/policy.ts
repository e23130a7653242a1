import { z } from 'zod';
import { TesseraError } from '../errors.ts';
import { generatorSchema } from './generators.ts';
import { parseCron, parseInterval, type Schedule } from './schedule.ts';

/** The steps of a rotation, in order, as AWS Secrets Manager's rotation functions name them. */
export const ROTATION_STEPS = ['create', 'set', 'test', 'finish'] as const;

/** One step of a rotation. */
export type RotationStep = (typeof ROTATION_STEPS)[number];

/** Maximum time a hook step may run, in seconds. */
export const MAX_HOOK_TIMEOUT_SECONDS = 600;

/** How many rotation outcomes a secret's state keeps for `tessera history`. */
export const KEPT_EVENTS = 20;

/**
 * A rotation policy as the API takes it and the store keeps it. Without a generator, the
 * hook's `create` step writes the pending value itself, for values that only the target
 * system can issue, such as API keys.
 */
export const rotationPolicySchema = z
  .strictObject({
    schedule: z.union([
      z.strictObject({ interval: z.string().min(1).max(64) }),
      z.strictObject({ cron: z.string().min(1).max(200) }),
    ]),
    generator: generatorSchema.optional(),
    hook: z
      .strictObject({
        /** The program and its arguments, run without a shell. */
        command: z.array(z.string().min(1).max(4096)).min(1).max(64),
        timeout_seconds: z.number().int().min(1).max(MAX_HOOK_TIMEOUT_SECONDS).default(30),
      })
      .optional(),
  })
  .refine((policy) => policy.generator !== undefined || policy.hook !== undefined, {
    path: ['generator'],
    message:
      'give a generator, or a hook whose create step writes the pending value through ' +
      'POST /v1/tessera/pending/PATH',
  });

/** A validated rotation policy. */
export type RotationPolicy = z.infer<typeof rotationPolicySchema>;

/** One finished rotation, kept in the state for `tessera history`. */
export interface RotationEvent {
  time: string;
  outcome: 'succeeded' | 'failed' | 'interrupted';
  /** The step that failed or was interrupted; null for a success. */
  step: RotationStep | null;
  /** The pending version the rotation wrote, or null when it wrote none. */
  version: number | null;
  message: string;
}

/** State of a secret's rotation; `step` is recorded before the step runs. */
export interface RotationState {
  step: RotationStep | 'idle';
  pendingVersion: number | null;
  /** The accessor of the hook's token while a rotation runs, so a restart can revoke it. */
  tokenAccessor: string | null;
  startedTime: string | null;
  events: RotationEvent[];
}

/** The state of a secret that has never rotated. */
export const IDLE_STATE: RotationState = Object.freeze({
  step: 'idle',
  pendingVersion: null,
  tokenAccessor: null,
  startedTime: null,
  events: [],
}) as RotationState;

/** Validates a rotation policy from the API or the store. Throws INVALID_ARGUMENT. */
export function parseRotationPolicy(input: unknown): RotationPolicy {
  const result = rotationPolicySchema.safeParse(input);
  if (!result.success) {
    // Zod's messages describe the expected shape, never the received value.
    const problems = result.error.issues.map((issue) => {
      const path = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
      return `${path}: ${issue.message}`;
    });
    throw new TesseraError(
      'INVALID_ARGUMENT',
      `rotation policy is invalid: ${problems.join('; ')}`,
    );
  }
  scheduleOf(result.data);
  return result.data;
}

/** Parses the schedule of a validated policy. Throws INVALID_ARGUMENT. */
export function scheduleOf(policy: RotationPolicy): Schedule {
  return 'interval' in policy.schedule
    ? parseInterval(policy.schedule.interval)
    : parseCron(policy.schedule.cron);
}

/** Reads a stored state document; an unreadable one counts as idle with no history. */
export function parseRotationState(text: string): RotationState {
  try {
    const state = JSON.parse(text) as RotationState;
    if (typeof state === 'object' && state !== null && typeof state.step === 'string') {
      return { ...IDLE_STATE, ...state, events: state.events ?? [] };
    }
  } catch {
    // Falls through to the idle state.
  }
  return { ...IDLE_STATE, events: [] };
}

/** Appends an event, keeping the newest `KEPT_EVENTS`. */
export function withEvent(state: RotationState, event: RotationEvent): RotationEvent[] {
  return [...state.events, event].slice(-KEPT_EVENTS);
}
