import { checkPolicyName } from '../access/policy.ts';
import type { TokenResponse } from './access.ts';
import type { TesseraClient } from './client.ts';

// Client calls of Mesos task logins and their login roles, in the layout of a Vault auth
// method mounted at `auth/mesos/`.

const MOUNT = '/v1/auth/mesos';

/** The body of a task login: the task, its framework when ids clash, and the role. */
export interface TaskLoginBody {
  task_id: string;
  framework_id?: string;
  role: string;
}

/** Logs in as a Mesos task; the client needs no token. Returns the new token's `auth`. */
export async function loginAsTask(
  client: TesseraClient,
  body: TaskLoginBody,
): Promise<TokenResponse> {
  const response = await client.request<TokenResponse>('POST', `${MOUNT}/login`, body);
  return { auth: response.auth, warnings: response.warnings ?? [] };
}

function roleRoute(name: string): string {
  checkPolicyName(name, 'login role name');
  return `${MOUNT}/role/${name}`;
}

/** Lists the names of the login roles. */
export async function listLoginRoles(client: TesseraClient): Promise<string[]> {
  const body = await client.request<{ data: { keys: string[] } }>('GET', `${MOUNT}/role`);
  return body.data.keys;
}

/** Reads a login role, with every default filled in. */
export async function readLoginRole(
  client: TesseraClient,
  name: string,
): Promise<Record<string, unknown>> {
  const body = await client.request<{ data: Record<string, unknown> }>('GET', roleRoute(name));
  return body.data;
}

/** Creates or replaces a login role; the server validates it. */
export async function writeLoginRole(
  client: TesseraClient,
  name: string,
  role: unknown,
): Promise<void> {
  await client.request('PUT', roleRoute(name), role);
}

/** Deletes a login role. */
export async function deleteLoginRole(client: TesseraClient, name: string): Promise<void> {
  await client.request('DELETE', roleRoute(name));
}
