import { z } from 'zod';
import { printable } from './secret-rules.ts';
import type { Secret } from './types.ts';
import { isInline } from './wrap.ts';

/** A task or executor in the master's `/state` whose secrets are exposed or lost. */
export interface TaskFinding {
  frameworkId: string;
  /** The task id, or the executor id for an executor's own secrets. */
  id: string;
  kind: 'task' | 'executor';
  /** JSON path inside the task or executor, as in `container.volumes[0]`. */
  location: string;
  problem: 'inline-value' | 'docker-secret-volume';
  message: string;
}

// The parts of /state that doctor reads, with the types Mesos writes them in
// (`src/master/readonly_handler.cpp`, `src/common/http.cpp`). Objects are loose, so every
// other field passes; a field of another type makes the whole /state invalid.
const SecretSchema = z.looseObject({
  type: z.string().optional(),
  reference: z.unknown().optional(),
  value: z.unknown().optional(),
});

const ContainerSchema = z.looseObject({
  type: z.string().optional(),
  volumes: z
    .array(
      z.looseObject({
        source: z
          .looseObject({ type: z.string().optional(), secret: SecretSchema.optional() })
          .optional(),
      }),
    )
    .optional(),
});

const TaskSchema = z.looseObject({
  id: z.string().optional(),
  framework_id: z.string().optional(),
  container: ContainerSchema.optional(),
});

const ExecutorSchema = z.looseObject({
  id: z.string().optional(),
  executor_id: z.looseObject({ value: z.string().optional() }).optional(),
  command: z
    .looseObject({
      environment: z
        .looseObject({
          variables: z
            .array(z.looseObject({ type: z.string().optional(), secret: SecretSchema.optional() }))
            .optional(),
        })
        .optional(),
    })
    .optional(),
  container: ContainerSchema.optional(),
});

const FrameworkSchema = z.looseObject({
  id: z.string().optional(),
  tasks: z.array(TaskSchema).optional(),
  unreachable_tasks: z.array(TaskSchema).optional(),
  executors: z.array(ExecutorSchema).optional(),
});

/**
 * The parts of a master's `/state` that doctor reads. `slaves` is required, because it
 * is what tells a master's `/state` from an agent's. An agent's `version` may be of any
 * type, so that a missing or invalid one makes only that agent unknown.
 */
export const MasterStateSchema = z.looseObject({
  slaves: z.array(
    z.looseObject({
      id: z.string().optional(),
      hostname: z.string().optional(),
      pid: z.string().optional(),
      version: z.unknown().optional(),
    }),
  ),
  frameworks: z.array(FrameworkSchema).optional(),
});

/** The parsed form of `MasterStateSchema`. */
export type MasterState = z.output<typeof MasterStateSchema>;

type StateExecutor = z.output<typeof ExecutorSchema>;
type Container = z.output<typeof ContainerSchema>;
type Variables = NonNullable<
  NonNullable<NonNullable<StateExecutor['command']>['environment']>['variables']
>;

/**
 * Lists the tasks and executors of `/state` that carry inline VALUE secrets (readable by
 * anyone who can read `/state`) or SECRET volumes in a DOCKER container (never delivered).
 * `/state` shows a task's ContainerInfo but not its CommandInfo, so task environment
 * secrets cannot be seen there; executors show both. Findings name ids and paths only,
 * never a secret's data.
 */
export function stateFindings(state: MasterState): TaskFinding[] {
  const findings: TaskFinding[] = [];
  for (const framework of state.frameworks ?? []) {
    const frameworkId = framework.id ?? 'unknown';
    for (const task of [...(framework.tasks ?? []), ...(framework.unreachable_tasks ?? [])]) {
      const subject = { frameworkId, id: task.id ?? 'unknown', kind: 'task' as const };
      findings.push(...containerFindings(subject, task.container));
    }
    for (const executor of framework.executors ?? []) {
      // /state writes ExecutorInfo as protobuf JSON: its id is `executor_id.value`.
      const id = executor.executor_id?.value ?? executor.id ?? 'unknown';
      const subject = { frameworkId, id, kind: 'executor' as const };
      findings.push(...containerFindings(subject, executor.container));
      findings.push(...environmentFindings(subject, executor.command?.environment?.variables));
    }
  }
  return findings;
}

type Subject = Pick<TaskFinding, 'frameworkId' | 'id' | 'kind'>;

function containerFindings(subject: Subject, container: Container | undefined): TaskFinding[] {
  const findings: TaskFinding[] = [];
  for (const [index, volume] of (container?.volumes ?? []).entries()) {
    if (volume.source?.type !== 'SECRET') continue;
    const location = `container.volumes[${index}]`;
    const secret = volume.source.secret;
    if (secret && isInline(secret as Secret)) {
      findings.push(inlineFinding(subject, location));
    }
    if (container?.type === 'DOCKER') {
      findings.push({
        ...subject,
        location,
        problem: 'docker-secret-volume',
        message: `${describe(subject)} has a SECRET volume at ${location} in a DOCKER container, which the Docker containerizer skips; use container type MESOS or tessera wrap`,
      });
    }
  }
  return findings;
}

function environmentFindings(subject: Subject, variables: Variables | undefined): TaskFinding[] {
  return (variables ?? []).flatMap((variable, index) =>
    variable.type === 'SECRET' && variable.secret && isInline(variable.secret as Secret)
      ? [inlineFinding(subject, `command.environment.variables[${index}]`)]
      : [],
  );
}

function inlineFinding(subject: Subject, location: string): TaskFinding {
  return {
    ...subject,
    location,
    problem: 'inline-value',
    message: `${describe(subject)} has an inline VALUE secret at ${location}, readable in /state; store it in Tessera and use a REFERENCE`,
  };
}

function describe(subject: Subject): string {
  return `${subject.kind} '${printable(subject.id)}' of framework ${printable(subject.frameworkId)}`;
}
