import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { loginRoleDocument, parseLoginRole } from '../../access/login-roles.ts';
import { checkPolicyName } from '../../access/policy.ts';
import type { TaskLogins } from '../../access/task-login.ts';
import { checkSubset } from '../../access/token-options.ts';
import { isTesseraError, TesseraError } from '../../errors.ts';
import type { AppContext } from '../app.ts';
import { auditTaskLogin, authenticatedCaller, requireCapability } from '../authorize.ts';
import { parseBody } from '../input.ts';
import { vaultResponse } from '../vault-format.ts';
import { authOf, leaseSeconds, tokenResponse } from './auth.ts';

// An auth method in HashiCorp Vault's layout: `auth/mesos/login` issues a token, and
// `auth/mesos/role/NAME` stores the login roles.
const MOUNT = '/v1/auth/mesos';

// Mesos allows long ids; these bounds only keep a request within reason.
const id = z.string().min(1, 'must not be empty').max(1024, 'must be at most 1024 characters');
const loginBody = z.strictObject({
  task_id: id,
  framework_id: id.optional(),
  role: z.string().min(1, 'must not be empty').max(128, 'must be at most 128 characters'),
});

type NameParams = { Params: { name: string } };

/**
 * Registers `POST /v1/auth/mesos/login`, which needs no token, and list, read, write and
 * delete of login roles under `/v1/auth/mesos/role`, each needing `admin` on
 * `sys/login-roles/<name>` (`sys/login-roles/` to list).
 */
export function registerTaskLoginRoutes(app: FastifyInstance, context: AppContext) {
  const { store } = context;

  app.post(`${MOUNT}/login`, async (request) => {
    const logins = enabled(context.mesos?.logins);
    const body = parseBody(loginBody, request);
    const login = { taskId: body.task_id, role: body.role, accessor: null };
    let result: Awaited<ReturnType<TaskLogins['login']>>;
    try {
      result = await logins.login({
        taskId: body.task_id,
        frameworkId: body.framework_id,
        role: body.role,
        clientAddress: request.ip,
      });
    } catch (error) {
      if (isTesseraError(error, 'TASK_LOGIN_DENIED')) {
        context.failures.recordFailure(request.ip);
        context.metrics?.taskLogins.inc({ outcome: 'denied' });
        await auditTaskLogin(request, context, login, 'denied', error.message);
      }
      throw error;
    }

    const { created, task, role } = result;
    const reason = `login role ${role.name}, framework ${task.frameworkId}`;
    await auditTaskLogin(
      request,
      context,
      { ...login, accessor: created.accessor },
      'allowed',
      reason,
    );
    context.metrics?.taskLogins.inc({ outcome: 'allowed' });
    request.log.info(
      { accessor: created.accessor, task: task.taskId, role: role.name, policies: role.policies },
      'task logged in',
    );
    const auth = {
      client_token: created.token,
      ...authOf(created.info, leaseSeconds(created.info)),
    };
    return { ...tokenResponse(request, auth, created.warnings), mount_type: 'mesos' };
  });

  app.get(`${MOUNT}/role`, async (request) => {
    await requireCapability(request, context, 'admin', 'sys/login-roles/');
    return vaultResponse(request.id, { keys: await store.listLoginRoles() });
  });

  app.get<NameParams>(`${MOUNT}/role/:name`, async (request) => {
    const name = await guardName(request, context);
    const text = await store.readLoginRole(name);
    if (text === undefined) throw missingRole(name);
    return vaultResponse(request.id, { name, ...loginRoleDocument(parseLoginRole(name, text)) });
  });

  const write = async (request: FastifyRequest<NameParams>, reply: FastifyReply) => {
    const name = await guardName(request, context);
    const role = parseLoginRole(name, JSON.stringify(request.body ?? {}));
    // A login role hands its policies to every task that meets it, so admin on the role
    // alone must not grant more than the writer holds, as for a child token.
    checkSubset(await authenticatedCaller(request, context), role.policies, {
      receiver: "a login role's",
      action: 'write the role',
    });
    await store.saveLoginRole(name, JSON.stringify(loginRoleDocument(role)));
    request.log.info({ role: name, policies: role.policies }, 'login role written');
    return reply.code(204).send();
  };
  app.put<NameParams>(`${MOUNT}/role/:name`, write);
  app.post<NameParams>(`${MOUNT}/role/:name`, write);

  app.delete<NameParams>(`${MOUNT}/role/:name`, async (request, reply) => {
    const name = await guardName(request, context);
    if (!(await store.deleteLoginRole(name))) throw missingRole(name);
    request.log.info({ role: name }, 'login role deleted');
    return reply.code(204).send();
  });
}

function enabled(logins: TaskLogins | undefined): TaskLogins {
  if (logins === undefined) {
    throw new TesseraError(
      'TASK_LOGIN_OFF',
      'this server follows no Mesos master, so tasks cannot log in; start it with --mesos-master',
    );
  }
  return logins;
}

async function guardName(
  request: FastifyRequest<NameParams>,
  context: AppContext,
): Promise<string> {
  const { name } = request.params;
  checkPolicyName(name, 'login role name');
  await requireCapability(request, context, 'admin', `sys/login-roles/${name}`);
  return name;
}

function missingRole(name: string): TesseraError {
  return new TesseraError(
    'NOT_FOUND',
    `no login role named '${name}'; list them with 'tessera login-role list'`,
  );
}
