import { renewToken } from '../client/access.ts';
import { TesseraClient } from '../client/client.ts';
import { loginAsTask } from '../client/login.ts';
import { retryTransient } from '../delivery/retry.ts';
import { LOGIN_ROLE_VARIABLE } from '../mesos/secrets-variable.ts';
import type { TaskInfo } from '../mesos/types.ts';
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
 * Returns the token of `tessera exec`: TESSERA_TOKEN (or its file) when given, else, with
 * TESSERA_LOGIN_ROLE set, a token from logging in as the Mesos task. Such a login is
 * retried like the first resolution, and its token is renewed until `stop`, so that it
 * lasts as long as the task, within the login role's limits.
 */
export async function execToken(
  address: string,
  task: TaskInfo,
  env: NodeJS.ProcessEnv,
  options: { startTimeoutMs: number; log: (line: string) => void },
): Promise<ExecToken> {
  const given = tokenFrom(env);
  const role = env[LOGIN_ROLE_VARIABLE];
  if (given !== undefined || !role) {
    if (given !== undefined && role) {
      options.log(`${LOGIN_ROLE_VARIABLE} is ignored, because a token is given in TESSERA_TOKEN`);
    }
    return { token: given, stop: () => undefined };
  }

  const anonymous = new TesseraClient({ address, tls: tlsFrom(env) });
  const taskId = task.task_id.value;
  const frameworkId = env.MESOS_FRAMEWORK_ID || undefined;
  const { auth } = await retryTransient(
    () => loginAsTask(anonymous, { task_id: taskId, framework_id: frameworkId, role }),
    { deadlineMs: options.startTimeoutMs, what: `logging in as task ${taskId}`, log: options.log },
  );
  const token = auth.client_token as string;
  options.log(`logged in as task ${taskId} with login role ${role} (token ${auth.accessor})`);
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
      const code = (error as { code?: string }).code ?? 'unexpected error';
      log(`could not renew token ${auth.accessor} (${code}); the command keeps its values`);
      if (left > 0) schedule(Math.min(RENEW_RETRY_MS, left / 2));
    }
  };
  schedule((auth.lease_duration * 1000 * 2) / 3);
  return () => clearTimeout(timer);
}
