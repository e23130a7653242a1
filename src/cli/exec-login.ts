import { checkPolicyName } from '../access/policy.ts';
import { renewToken } from '../client/access.ts';
import { TesseraClient } from '../client/client.ts';
import { loginAsTask } from '../client/login.ts';
import { retryTransient } from '../delivery/retry.ts';
import { errorCode, TesseraError } from '../errors.ts';
import { LOGIN_ROLE_VARIABLE, TASK_ID_VARIABLE } from '../mesos/secrets-variable.ts';
import { tlsFrom, tokenFrom } from './context.ts';

// A renewal that fails is tried again after this long, or sooner when the token expires.
const RENEW_RETRY_MS = 60_000;

/** The token `tessera exec` works with, and how it was obtained. */
export interface ExecToken {
  token: string | undefined;
  /** Stops renewing a token that the task's login issued. */
  stop(): void;
}

/**
 * Returns the token of `tessera exec`. With TESSERA_LOGIN_ROLE set and no TESSERA_TOKEN,
 * it comes from logging in as Mesos task `taskId` (undefined when no task id is known).
 * Such a login is retried like the first resolution, and its token is renewed until
 * `stop`, so that it lasts as long as the task, within the login role's limits. Otherwise
 * it is TESSERA_TOKEN, or the token file. The token file does not count with a login
 * role, so that a token an operator left on the agent does not stand in for the task's.
 */
export async function execToken(
  address: string,
  taskId: string | undefined,
  env: NodeJS.ProcessEnv,
  options: { startTimeoutMs: number; log: (line: string) => void },
): Promise<ExecToken> {
  const role = env[LOGIN_ROLE_VARIABLE];
  if (!role) return { token: tokenFrom(env), stop: () => undefined };
  if (env.TESSERA_TOKEN) {
    options.log(`${LOGIN_ROLE_VARIABLE} is ignored, because TESSERA_TOKEN is set`);
    return { token: tokenFrom(env), stop: () => undefined };
  }
  checkPolicyName(role, LOGIN_ROLE_VARIABLE);
  if (taskId === undefined) {
    throw new TesseraError(
      'INVALID_ARGUMENT',
      `logging in with ${LOGIN_ROLE_VARIABLE} needs the task id: set ${TASK_ID_VARIABLE} ` +
        '(tessera wrap sets it) or MESOS_TASK_ID, or give --task FILE',
    );
  }

  const anonymous = new TesseraClient({ address, tls: tlsFrom(env) });
  const frameworkId = env.MESOS_FRAMEWORK_ID || undefined;
  const { auth } = await retryTransient(
    () => loginAsTask(anonymous, { task_id: taskId, framework_id: frameworkId, role }),
    { deadlineMs: options.startTimeoutMs, what: `logging in as task ${taskId}`, log: options.log },
  );
  const token = auth.client_token as string;
  options.log(`logged in as task ${taskId} with login role ${role} (accessor ${auth.accessor})`);
  const renewal = renewWhileRunning(
    new TesseraClient({ address, token, tls: tlsFrom(env) }),
    auth,
    options.log,
  );
  return { token, stop: renewal };
}

// Renews the token when two thirds of its lease have passed. The timer does not keep
// the process alive, so the command's end is not delayed by it.
function renewWhileRunning(
  client: TesseraClient,
  auth: { lease_duration: number; renewable: boolean; accessor: string },
  log: (line: string) => void,
): () => void {
  if (!auth.renewable || auth.lease_duration <= 0) return () => undefined;
  let timer: NodeJS.Timeout | undefined;
  let expiresAt = Date.now() + auth.lease_duration * 1000;
  const schedule = (waitMs: number) => {
    timer = setTimeout(renew, Math.max(1000, waitMs));
    timer.unref();
  };
  const renew = async () => {
    try {
      const { auth: renewed } = await renewToken(client);
      expiresAt = Date.now() + renewed.lease_duration * 1000;
      if (renewed.lease_duration > 0) schedule((renewed.lease_duration * 1000 * 2) / 3);
    } catch (error) {
      const left = expiresAt - Date.now();
      const code = errorCode(error);
      log(
        `could not renew the token with accessor ${auth.accessor} (${code}); the command keeps its values`,
      );
      if (left > 0) schedule(Math.min(RENEW_RETRY_MS, left / 2));
    }
  };
  schedule((auth.lease_duration * 1000 * 2) / 3);
  return () => clearTimeout(timer);
}
