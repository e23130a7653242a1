import { createHash } from 'node:crypto';
import { createToken } from '../access/tokens.ts';
import type { Store } from '../store/store.ts';

/** The `created_by` meta of hook tokens, which a restart uses to find and revoke them. */
export const HOOK_TOKEN_CREATOR = 'rotation';

/** A hook's token and its accessor. */
export interface HookToken {
  token: string;
  accessor: string;
}

/**
 * Creates a token that may only read `path`, for `ttlSeconds`, through a policy named
 * after a hash of the path (policy names allow fewer characters than paths). Writing the
 * pending version takes no capability of its own: see `Rotator.mayWritePending`.
 */
export async function createHookToken(
  store: Store,
  path: string,
  ttlSeconds: number,
): Promise<HookToken> {
  const name = hookPolicyName(path);
  const rules = [{ path, capabilities: ['read'] }];
  await store.savePolicy(name, JSON.stringify({ rules }));
  const created = await createToken(store, {
    policies: [name],
    ttlSeconds,
    renewable: false,
    meta: { created_by: HOOK_TOKEN_CREATOR, rotation_path: path },
  });
  return { token: created.token, accessor: created.accessor };
}

/** Revokes a hook token and deletes its policy; either already gone is fine. */
export async function revokeHookToken(
  store: Store,
  path: string,
  accessor: string | null,
): Promise<void> {
  if (accessor !== null) await store.deleteToken(accessor);
  await store.deletePolicy(hookPolicyName(path));
}

/**
 * Revokes every hook token of `path` and deletes their policy: none may outlive the
 * rotation that a restart ended.
 */
export async function revokeHookTokensOf(store: Store, path: string): Promise<number> {
  let revoked = 0;
  for (const accessor of await store.listTokenAccessors()) {
    const record = await store.findTokenByAccessor(accessor);
    if (record?.meta.created_by !== HOOK_TOKEN_CREATOR) continue;
    if (record.meta.rotation_path !== path) continue;
    revoked += (await store.deleteToken(accessor)).length;
  }
  await store.deletePolicy(hookPolicyName(path));
  return revoked;
}

/** The policy name of a path's hook tokens. */
export function hookPolicyName(path: string): string {
  return `rotation-${createHash('sha256').update(path).digest('hex').slice(0, 32)}`;
}
