import type {
  Agent,
  FrameworkInfo,
  OperatorEvent,
  OperatorState,
  Task,
  TaskStatus,
} from './operator-events.ts';

// Task states after which a task never runs again (`mesos.v1.TaskState`). TASK_UNREACHABLE
// is not among them: such a task may come back when its agent does.
const TERMINAL_STATES = new Set([
  'TASK_FINISHED',
  'TASK_FAILED',
  'TASK_KILLED',
  'TASK_ERROR',
  'TASK_LOST',
  'TASK_DROPPED',
  'TASK_GONE',
  'TASK_GONE_BY_OPERATOR',
]);

/** A task known to the master that has not ended. */
export interface IndexedTask {
  taskId: string;
  frameworkId: string;
  agentId: string;
  name: string;
  /** The latest state, such as TASK_RUNNING. */
  state: string;
  /** When the task became known, in seconds since the epoch: its first status, or first sight. */
  firstSeenSeconds: number;
  labels: Record<string, string>;
  /** The roles its resources are allocated to; empty before Mesos 1.2. */
  roles: string[];
  /** The addresses of the task's own network namespace, from its latest status. */
  containerAddresses: string[];
}

/** An agent that the master lists. */
export interface IndexedAgent {
  id: string;
  hostname: string;
  /** The address in the agent's libprocess pid, undefined when the pid has none. */
  address: string | undefined;
}

/** A framework that the master lists. */
export interface IndexedFramework {
  id: string;
  name: string;
  principal: string | undefined;
  roles: string[];
}

/** A task that ended or left the master's view, as `TaskIndex.apply` reports it. */
export interface EndedTask {
  frameworkId: string;
  taskId: string;
}

/**
 * The master's tasks, agents and frameworks, kept up to date from the operator API's event
 * stream: a `SUBSCRIBED` snapshot, then one event per change. Tasks that end are dropped.
 * A newly elected master lists the agents it has not heard from again as recovered, and
 * not their tasks. So the tasks of such an agent are kept until it registers again (its
 * tasks then come as `TASK_ADDED`) or is removed.
 */
export class TaskIndex {
  readonly #tasks = new Map<string, IndexedTask>();
  readonly #agents = new Map<string, IndexedAgent>();
  readonly #frameworks = new Map<string, IndexedFramework>();
  readonly #recovering = new Set<string>();
  #synced = false;

  /** True from a `SUBSCRIBED` snapshot until `unsync`: the index then mirrors the master. */
  get synced(): boolean {
    return this.#synced;
  }

  /** Marks the index as out of date, when the stream from the master is lost. */
  unsync(): void {
    this.#synced = false;
  }

  /**
   * Applies one event. `nowSeconds` dates tasks that have no status yet. Returns the tasks
   * that the event ended: terminal ones, and after a snapshot those it no longer lists.
   */
  apply(event: OperatorEvent, nowSeconds: number): EndedTask[] {
    switch (event.type) {
      case 'SUBSCRIBED':
        return this.#replace(event.subscribed?.get_state ?? {}, nowSeconds);
      case 'TASK_ADDED':
        return event.task_added ? this.#addTask(event.task_added.task, nowSeconds) : [];
      case 'TASK_UPDATED':
        if (!event.task_updated) return [];
        return this.#updateTask(
          event.task_updated.framework_id.value,
          event.task_updated.status,
          event.task_updated.state,
        );
      case 'AGENT_ADDED':
        if (event.agent_added) this.#addAgent(event.agent_added.agent);
        return [];
      case 'AGENT_REMOVED':
        return event.agent_removed ? this.#removeAgent(event.agent_removed.agent_id.value) : [];
      case 'FRAMEWORK_ADDED':
      case 'FRAMEWORK_UPDATED': {
        const framework = event.framework_added?.framework ?? event.framework_updated?.framework;
        if (framework) this.#addFramework(framework.framework_info);
        return [];
      }
      case 'FRAMEWORK_REMOVED': {
        const id = event.framework_removed?.framework_info.id?.value;
        if (id !== undefined) this.#frameworks.delete(id);
        return [];
      }
      default:
        // HEARTBEAT, and event types newer than this code.
        return [];
    }
  }

  /** Returns the live tasks with this id, one per framework that has such a task. */
  findTasks(taskId: string): IndexedTask[] {
    return [...this.#tasks.values()].filter((task) => task.taskId === taskId);
  }

  /** Tells whether a task is known and has not ended. */
  isLive(frameworkId: string, taskId: string): boolean {
    return this.#tasks.has(taskKey(frameworkId, taskId));
  }

  agent(id: string): IndexedAgent | undefined {
    return this.#agents.get(id);
  }

  framework(id: string): IndexedFramework | undefined {
    return this.#frameworks.get(id);
  }

  /**
   * The number of agents that a new master recovered and that have not registered again.
   * While there are any, a task missing from the index may still run on one of them.
   */
  get recoveringAgents(): number {
    return this.#recovering.size;
  }

  /** The number of live tasks, agents and frameworks, for health and metrics. */
  get size(): { tasks: number; agents: number; frameworks: number } {
    return {
      tasks: this.#tasks.size,
      agents: this.#agents.size,
      frameworks: this.#frameworks.size,
    };
  }

  #replace(state: OperatorState, nowSeconds: number): EndedTask[] {
    const before = [...this.#tasks.values()];
    const agentsBefore = new Map(this.#agents);
    this.#tasks.clear();
    this.#agents.clear();
    this.#frameworks.clear();
    this.#recovering.clear();
    for (const agent of state.get_agents?.agents ?? []) this.#addAgent(agent);
    for (const agent of state.get_agents?.recovered_agents ?? []) {
      const id = agent.id?.value;
      if (id === undefined || this.#agents.has(id)) continue;
      this.#recovering.add(id);
      const known = agentsBefore.get(id);
      if (known !== undefined) this.#agents.set(id, known);
    }
    for (const framework of state.get_frameworks?.frameworks ?? []) {
      this.#addFramework(framework.framework_info);
    }
    // An unreachable task is kept in its state, TASK_UNREACHABLE, as its update event does.
    const listed = state.get_tasks ?? {};
    const tasks = [
      ...(listed.pending_tasks ?? []),
      ...(listed.tasks ?? []),
      ...(listed.unreachable_tasks ?? []),
    ];
    for (const task of tasks) this.#addTask(task, nowSeconds);
    this.#synced = true;

    const ended: EndedTask[] = [];
    for (const task of before) {
      const key = taskKey(task.frameworkId, task.taskId);
      if (this.#tasks.has(key)) continue;
      if (this.#recovering.has(task.agentId)) {
        this.#tasks.set(key, task);
      } else {
        ended.push({ frameworkId: task.frameworkId, taskId: task.taskId });
      }
    }
    return ended;
  }

  // An agent that the master removes takes the tasks it was kept for with it.
  #removeAgent(id: string): EndedTask[] {
    this.#agents.delete(id);
    if (!this.#recovering.delete(id)) return [];
    const ended: EndedTask[] = [];
    for (const [key, task] of this.#tasks) {
      if (task.agentId !== id) continue;
      this.#tasks.delete(key);
      ended.push({ frameworkId: task.frameworkId, taskId: task.taskId });
    }
    return ended;
  }

  #addTask(task: Task, nowSeconds: number): EndedTask[] {
    const frameworkId = task.framework_id.value;
    const taskId = task.task_id.value;
    const key = taskKey(frameworkId, taskId);
    if (TERMINAL_STATES.has(task.state)) {
      return this.#tasks.delete(key) ? [{ frameworkId, taskId }] : [];
    }
    const statuses = task.statuses ?? [];
    const times = statuses.flatMap((status) => status.timestamp ?? []);
    const known = this.#tasks.get(key);
    this.#tasks.set(key, {
      taskId,
      frameworkId,
      agentId: task.agent_id.value,
      name: task.name ?? '',
      state: task.state,
      firstSeenSeconds: known?.firstSeenSeconds ?? Math.min(nowSeconds, ...times),
      labels: labelsOf(task),
      roles: rolesOf(task),
      containerAddresses: addressesOf(statuses.at(-1)),
    });
    return [];
  }

  #updateTask(frameworkId: string, status: TaskStatus, state: string): EndedTask[] {
    const taskId = status.task_id.value;
    const key = taskKey(frameworkId, taskId);
    if (TERMINAL_STATES.has(state)) {
      return this.#tasks.delete(key) ? [{ frameworkId, taskId }] : [];
    }
    const task = this.#tasks.get(key);
    if (task === undefined) return [];
    const addresses = addressesOf(status);
    this.#tasks.set(key, {
      ...task,
      state,
      containerAddresses: addresses.length > 0 ? addresses : task.containerAddresses,
    });
    return [];
  }

  #addAgent(agent: Agent): void {
    const id = agent.agent_info.id?.value;
    if (id === undefined) return;
    this.#recovering.delete(id);
    this.#agents.set(id, {
      id,
      hostname: agent.agent_info.hostname,
      address: pidAddress(agent.pid),
    });
  }

  #addFramework(info: FrameworkInfo): void {
    const id = info.id?.value;
    if (id === undefined) return;
    const roles = info.roles ?? (info.role === undefined ? [] : [info.role]);
    this.#frameworks.set(id, { id, name: info.name, principal: info.principal, roles });
  }
}

// The host of a libprocess pid: `slave(1)@10.0.0.5:5051`, or `slave(1)@[2001:db8::5]:5051`.
function pidAddress(pid: string | undefined): string | undefined {
  const match = pid === undefined ? null : /@(?:\[([^\]]+)\]|([^@:\s]+)):\d+$/.exec(pid);
  return match?.[1] ?? match?.[2];
}

function taskKey(frameworkId: string, taskId: string): string {
  return `${frameworkId}\u0000${taskId}`;
}

function labelsOf(task: Task): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const label of task.labels?.labels ?? []) labels[label.key] = label.value ?? '';
  return labels;
}

// Since Mesos 1.2 (MULTI_ROLE) each resource names the role it is allocated to. The older
// `role` field names a reservation, so a task without `allocation_info` has no roles here
// and runs under its framework's role.
function rolesOf(task: Task): string[] {
  const roles = new Set<string>();
  for (const resource of task.resources ?? []) {
    const role = resource.allocation_info?.role;
    if (role !== undefined) roles.add(role);
  }
  return [...roles];
}

function addressesOf(status: TaskStatus | undefined): string[] {
  const networks = status?.container_status?.network_infos ?? [];
  return networks.flatMap((network) =>
    (network.ip_addresses ?? []).flatMap((entry) => entry.ip_address ?? []),
  );
}
