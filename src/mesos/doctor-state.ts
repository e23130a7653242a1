import { printable } from './secret-rules.ts';
import type { ContainerInfo, Environment, Secret } from './types.ts';
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

interface StateTask {
  id?: string;
  framework_id?: string;
  container?: ContainerInfo;
}

interface StateExecutor {
  id?: string;
  executor_id?: { value?: string };
  command?: { environment?: Environment };
  container?: ContainerInfo;
}

/** The parts of the master's `/state` that doctor reads. */
export interface MasterState {
  version?: string;
  slaves?: { id?: string; hostname?: string; pid?: string; version?: string }[];
  frameworks?: {
    id?: string;
    tasks?: StateTask[];
    unreachable_tasks?: StateTask[];
    executors?: StateExecutor[];
  }[];
}

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
      findings.push(...environmentFindings(subject, executor.command?.environment));
    }
  }
  return findings;
}

type Subject = Pick<TaskFinding, 'frameworkId' | 'id' | 'kind'>;

function containerFindings(subject: Subject, container: ContainerInfo | undefined): TaskFinding[] {
  const findings: TaskFinding[] = [];
  for (const [index, volume] of (container?.volumes ?? []).entries()) {
    if (volume.source?.type !== 'SECRET') continue;
    const location = `container.volumes[${index}]`;
    const secret = volume.source.secret;
    if (secret && isInline(secret)) {
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

function environmentFindings(subject: Subject, env: Environment | undefined): TaskFinding[] {
  return (env?.variables ?? []).flatMap((variable, index) =>
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
