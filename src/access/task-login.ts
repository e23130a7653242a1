import { setTimeout as sleep } from 'node:timers/promises';

import { TesseraError } from '../errors.ts';
import type { EndedTask, IndexedTask, TaskIndex } from '../mesos/task-index.ts';
import type { Store } from '../store/store.ts';
import { type LoginRole, parseLoginRole, unmetConstraints } from './login-roles.ts';
import { POLICY_NAME } from './policy.ts';
import { type CreatedToken, createToken } from './tokens.ts';

// The states in which a task may log in: it is being started, or it runs.
const LOGIN_STATES = new Set(['TASK_STAGING', 'TASK_STARTING', 'TASK_RUNNING']);

/** How often a login polls the index for a task the master has not reported yet. */
const POLL_MS = 100;

/** A Mesos task's request for a token. */
export interface TaskLoginRequest {
  taskId: string;
  /** Needed only when two frameworks run tasks with this id. */
  frameworkId?: string;
  role: string;
  /** The address the request came from, as the HTTP server saw it. */
  clientAddress: string;
}

/** Settings of `TaskLogins`. */
export interface TaskLoginOptions {
  /** How long after it became known a task may still log in, in seconds. */
  windowSeconds: number;
  /** How long a login waits for a task that the master has not reported yet. */
  waitMs: number;
}

/** A login that succeeded: the new token, the task and the role it logged in under. */
export interface TaskLoginResult {
  created: CreatedToken;
  task: IndexedTask;
  role: LoginRole;
}

/**
 * Logs Mesos tasks in by what the leading master reports about them. A task gets a token
 * with the policies of the login role it names when it is starting or running, became
 * known recently, sends the request from its own agent (or its own network address), meets the role's
 * constraints, and has not logged in before. The token ends when the task does.
 */
export class TaskLogins {
  readonly #store: Store;
  readonly #index: TaskIndex;
  readonly #options: TaskLoginOptions;

  constructor(store: Store, index: TaskIndex, options: TaskLoginOptions) {
    this.#store = store;
    this.#index = index;
    this.#options = options;
  }

  /** Checks the task and issues its token. Throws TASK_LOGIN_DENIED or MASTER_UNAVAILABLE. */
  async login(request: TaskLoginRequest): Promise<TaskLoginResult> {
    const role = await this.#role(request.role);
    const task = await this.#findTask(request);
    const denied = (why: string) => loginDenied(request.taskId, why);

    if (!LOGIN_STATES.has(task.state)) {
      throw denied(`it is ${task.state}; only a starting or running task may log in`);
    }
    const age = Date.now() / 1000 - task.firstSeenSeconds;
    if (age > this.#options.windowSeconds) {
      throw denied(
        `it started ${Math.round(age)} s ago, and a task may log in only within ` +
          `${this.#options.windowSeconds} s of its start (server flag --task-login-window)`,
      );
    }
    this.#checkAddress(task, request);
    const framework = this.#index.framework(task.frameworkId);
    const unmet = unmetConstraints(role, {
      taskId: task.taskId,
      frameworkName: framework?.name ?? '',
      frameworkPrincipal: framework?.principal,
      roles: task.roles.length > 0 ? task.roles : (framework?.roles ?? []),
      labels: task.labels,
    });
    if (unmet.length > 0) {
      throw denied(`it does not meet login role '${role.name}': ${unmet.join('; ')}`);
    }
    return { created: await this.#issue(task, role), task, role };
  }

  /** Ends the logins of tasks that ended, and revokes their tokens. Returns how many. */
  async endTasks(ended: readonly EndedTask[]): Promise<number> {
    let count = 0;
    for (const { frameworkId, taskId } of ended) {
      const login = await this.#store.findTaskLogin(frameworkId, taskId);
      if (login === undefined || login.endedTime !== null) continue;
      await this.#store.deleteToken(login.accessor);
      if (await this.#store.endTaskLogin(frameworkId, taskId, new Date().toISOString())) count++;
    }
    return count;
  }

  /**
   * Ends the logins of tasks that the index no longer lists, after a snapshot: they ended
   * while the server was not following the master. Does nothing while the index is not
   * current.
   */
  async reconcile(): Promise<number> {
    // A task missing from the index may run on an agent that a new master has not heard
    // from again yet, so nothing is ended until every such agent is back or removed.
    if (!this.#index.synced || this.#index.recoveringAgents > 0) return 0;
    const running = await this.#store.listRunningTaskLogins();
    const gone = running.filter((login) => !this.#index.isLive(login.frameworkId, login.taskId));
    return this.endTasks(gone);
  }

  async #role(name: string): Promise<LoginRole> {
    if (!POLICY_NAME.test(name)) {
      throw new TesseraError(
        'TASK_LOGIN_DENIED',
        "the login role name is invalid; set TESSERA_LOGIN_ROLE to 1 to 128 lowercase letters, digits, '-' or '_'",
        { role: name },
      );
    }
    const text = await this.#store.readLoginRole(name);
    if (text === undefined) {
      throw new TesseraError(
        'TASK_LOGIN_DENIED',
        `login role '${name}' does not exist; create it with 'tessera login-role write ${name}', or set TESSERA_LOGIN_ROLE to an existing one`,
        { role: name },
      );
    }
    return parseLoginRole(name, text);
  }

  // Waits a little for a task that the master has not reported yet: a task may log in
  // before the event that announces it reaches this server.
  async #findTask(request: TaskLoginRequest): Promise<IndexedTask> {
    const deadline = Date.now() + this.#options.waitMs;
    for (;;) {
      if (!this.#index.synced) {
        throw new TesseraError(
          'MASTER_UNAVAILABLE',
          "the server's event stream from the Mesos master is down, so it cannot check the task; retry later",
        );
      }
      const tasks = this.#index
        .findTasks(request.taskId)
        .filter(
          (task) => request.frameworkId === undefined || task.frameworkId === request.frameworkId,
        );
      if (tasks.length > 1) {
        throw new TesseraError(
          'INVALID_ARGUMENT',
          `${tasks.length} frameworks run a task with id ${request.taskId}; send framework_id ` +
            '(tessera exec takes it from MESOS_FRAMEWORK_ID)',
          { taskId: request.taskId },
        );
      }
      if (tasks[0] !== undefined) return tasks[0];
      if (Date.now() >= deadline) {
        const where =
          request.frameworkId === undefined ? '' : ` of framework ${request.frameworkId}`;
        throw loginDenied(
          request.taskId,
          `the Mesos master knows no starting or running task${where} with this id`,
        );
      }
      await sleep(POLL_MS);
    }
  }

  #checkAddress(task: IndexedTask, request: TaskLoginRequest): void {
    const client = plainAddress(request.clientAddress);
    const agent = this.#index.agent(task.agentId);
    const allowed = [agent?.address, ...task.containerAddresses].flatMap((address) =>
      address === undefined ? [] : [plainAddress(address)],
    );
    if (!allowed.includes(client)) {
      const runs =
        agent?.address === undefined ? `on agent ${task.agentId}` : `on ${agent.address}`;
      throw loginDenied(
        request.taskId,
        `it runs ${runs}, but the request came from ${client}; log in from the task itself, and if a proxy stands in front of the server, see --trust-proxy`,
      );
    }
  }

  async #issue(task: IndexedTask, role: LoginRole): Promise<CreatedToken> {
    const created = await createToken(this.#store, {
      policies: role.policies,
      ttlSeconds: role.tokenTtlSeconds,
      maxTtlSeconds: role.tokenMaxTtlSeconds,
      renewable: true,
      taskId: task.taskId,
      meta: { framework_id: task.frameworkId, login_role: role.name },
    });
    const claimed = await this.#store.claimTaskLogin({
      frameworkId: task.frameworkId,
      taskId: task.taskId,
      accessor: created.accessor,
      loginTime: new Date().toISOString(),
      endedTime: null,
    });
    if (!claimed) {
      await this.#store.deleteToken(created.accessor);
      throw loginDenied(
        task.taskId,
        'it has logged in before, and a task logs in once; start the task again for a new login',
      );
    }
    // The task may have ended while its token was made, and that end found no login.
    if (!this.#index.isLive(task.frameworkId, task.taskId)) {
      await this.endTasks([{ frameworkId: task.frameworkId, taskId: task.taskId }]);
      throw loginDenied(task.taskId, 'it ended while it logged in');
    }
    return created;
  }
}

function loginDenied(taskId: string, why: string): TesseraError {
  return new TesseraError('TASK_LOGIN_DENIED', `task ${taskId} may not log in: ${why}`, {
    taskId,
  });
}

// IPv4 addresses reach a dual-stack server as IPv4-mapped IPv6 (`::ffff:192.0.2.1`).
function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
