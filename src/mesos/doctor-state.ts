import { z } from 'zod';
import { isInline, printable } from './secret-rules.ts';
import type { Secret } from './types.ts';

/** A task or executor in the master's `/state` whose secrets are exposed or lost. */
export interface TaskFinding {
  frameworkId: string;
  /** The task id, or the executor id for an executor's own secrets. */
  id: string;
  kind: 'task' | 'executor';
  /** JSON path of the task or executor in `/state`, as in `frameworks[0].completed_tasks[2]`. */
  statePath: string;
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

// The master's /state has no `completed_executors` (`src/master/readonly_handler.cpp`),
// but the agent's /state does, so a framework that has them is read as well.
const FrameworkSchema = z.looseObject({
  id: z.string().optional(),
  tasks: z.array(TaskSchema).optional(),
  unreachable_tasks: z.array(TaskSchema).optional(),
  completed_tasks: z.array(TaskSchema).optional(),
  executors: z.array(ExecutorSchema).optional(),
  completed_executors: z.array(ExecutorSchema).optional(),
});

// Every list of /state that contains tasks or executors with their ContainerInfo, by the
// JSON key of the list. The master keeps completed tasks and frameworks for a while
// (`--max_completed_tasks_per_framework`, `--max_completed_frameworks`), and their
// inline secrets stay readable there until then.
const TASK_LISTS = ['tasks', 'unreachable_tasks', 'completed_tasks'] as const;
const EXECUTOR_LISTS = ['executors', 'completed_executors'] as const;
const FRAMEWORK_LISTS = ['frameworks', 'completed_frameworks'] as const;

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
  completed_frameworks: z.array(FrameworkSchema).optional(),
  orphan_tasks: z.array(TaskSchema).optional(),
});

/** The parsed form of `MasterStateSchema`. */
export type MasterState = z.output<typeof MasterStateSchema>;

type StateTask = z.output<typeof TaskSchema>;
type StateExecutor = z.output<typeof ExecutorSchema>;
type StateFramework = z.output<typeof FrameworkSchema>;
type Container = z.output<typeof ContainerSchema>;
type Variables = NonNullable<
  NonNullable<NonNullable<StateExecutor['command']>['environment']>['variables']
>;

/**
 * Lists the tasks and executors of `/state` that carry inline VALUE secrets (readable by
 * anyone who can read `/state`) or SECRET volumes in a DOCKER container (never delivered),
 * in running, unreachable and completed tasks, executors and frameworks, and orphan
 * tasks. `/state` shows a task's ContainerInfo but not its CommandInfo, so task
 * environment secrets cannot be seen there; executors show both. Findings name ids and
 * paths only, never a secret's data.
 */
export function stateFindings(state: MasterState): TaskFinding[] {
  const findings: TaskFinding[] = [];
  for (const list of FRAMEWORK_LISTS) {
    for (const [index, framework] of (state[list] ?? []).entries()) {
      findings.push(...frameworkFindings(framework, `${list}[${index}]`));
    }
  }
  for (const [index, task] of (state.orphan_tasks ?? []).entries()) {
    findings.push(...taskFindings(task, task.framework_id, `orphan_tasks[${index}]`));
  }
  return findings;
}

function frameworkFindings(framework: StateFramework, path: string): TaskFinding[] {
  const findings: TaskFinding[] = [];
  for (const list of TASK_LISTS) {
    for (const [index, task] of (framework[list] ?? []).entries()) {
      findings.push(...taskFindings(task, framework.id, `${path}.${list}[${index}]`));
    }
  }
  for (const list of EXECUTOR_LISTS) {
    for (const [index, executor] of (framework[list] ?? []).entries()) {
      findings.push(...executorFindings(executor, framework.id, `${path}.${list}[${index}]`));
    }
  }
  return findings;
}

function taskFindings(
  task: StateTask,
  frameworkId: string | undefined,
  statePath: string,
): TaskFinding[] {
  const subject: Subject = {
    frameworkId: frameworkId ?? task.framework_id ?? 'unknown',
    id: task.id ?? 'unknown',
    kind: 'task',
    statePath,
  };
  return containerFindings(subject, task.container);
}

function executorFindings(
  executor: StateExecutor,
  frameworkId: string | undefined,
  statePath: string,
): TaskFinding[] {
  // /state writes ExecutorInfo as protobuf JSON: its id is `executor_id.value`.
  const id = executor.executor_id?.value ?? executor.id ?? 'unknown';
  const subject: Subject = {
    frameworkId: frameworkId ?? 'unknown',
    id,
    kind: 'executor',
    statePath,
  };
  return [
    ...containerFindings(subject, executor.container),
    ...environmentFindings(subject, executor.command?.environment?.variables),
  ];
}

type Subject = Pick<TaskFinding, 'frameworkId' | 'id' | 'kind' | 'statePath'>;

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
  const { kind, id, frameworkId, statePath } = subject;
  return `${kind} '${printable(id)}' of framework ${printable(frameworkId)} (${statePath} in /state)`;
}
