import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { DURATION_INPUT, parseDuration } from '../../access/duration.ts';
import {
  checkAccessor,
  createToken,
  lookup,
  renew,
  revoke,
  type TokenInfo,
} from '../../access/tokens.ts';
import { isTesseraError } from '../../errors.ts';
import type { AppContext } from '../app.ts';
import { auditOwnTokenOperation, requireCapability } from '../authorize.ts';
import { parseBody } from '../input.ts';
import { vaultResponse } from '../vault-format.ts';

// HashiCorp Vault's token auth method at `auth/token/`. Token values appear only in the
// create response: lookups and renewals return the accessor, never the token.
const MOUNT = '/v1/auth/token';

const createBody = z.strictObject({
  policies: z.array(z.string()).optional(),
  ttl: DURATION_INPUT.optional(),
  explicit_max_ttl: DURATION_INPUT.optional(),
  num_uses: z.number().int().min(0).optional(),
  renewable: z.boolean().optional(),
  no_parent: z.boolean().optional(),
  meta: z
    .record(
      z
        .string()
        .regex(/^[A-Za-z0-9_.-]{1,64}$/, "keys must be 1 to 64 letters, digits, '.', '-' or '_'"),
      z.string().max(512),
    )
    .refine((meta) => Object.keys(meta).length <= 32, 'must have at most 32 keys')
    .optional(),
});
const accessorBody = z.strictObject({ accessor: z.string() });
const renewBody = z.strictObject({ increment: DURATION_INPUT.optional() });

/**
 * Registers create, lookup-self, lookup-accessor, renew-self, revoke-self and
 * revoke-accessor under `/v1/auth/token/`. Self operations need only a valid token;
 * operations by accessor need `admin` on `sys/tokens/<accessor>`.
 */
export function registerAuthRoutes(app: FastifyInstance, context: AppContext) {
  const { store } = context;

  app.post(`${MOUNT}/create`, async (request) => {
    const caller = await auditOwnTokenOperation(request, context, 'token.create');
    const body = parseBody(createBody, request);
    const created = await createToken(store, {
      policies: body.policies ?? caller.policies,
      ttlSeconds: optionalDuration(body.ttl, 'ttl'),
      maxTtlSeconds: optionalDuration(body.explicit_max_ttl, 'explicit_max_ttl'),
      numUses: body.num_uses,
      renewable: body.renewable,
      meta: body.meta,
      creator: caller,
      orphan: body.no_parent,
    });
    const { info } = created;
    request.log.info(
      { accessor: info.accessor, parent: caller.accessor, policies: info.policies },
      'token created',
    );
    const auth = { client_token: created.token, ...authOf(info, leaseSeconds(info)) };
    const missing = await context.access.missingPolicies(info.policies);
    const warnings = [...created.warnings, ...missing.map(missingPolicyWarning)];
    return tokenResponse(request, auth, warnings);
  });

  app.get(`${MOUNT}/lookup-self`, async (request) => {
    const caller = await auditOwnTokenOperation(request, context, 'token.lookup-self');
    // The caller's own view: a token on its last use is already gone from the store.
    return vaultResponse(request.id, lookupData(caller.info));
  });

  app.post(`${MOUNT}/lookup-accessor`, async (request) => {
    const accessor = await guardAccessor(request, context);
    return vaultResponse(request.id, lookupData(await lookup(store, accessor)));
  });

  app.post(`${MOUNT}/renew-self`, async (request) => {
    const caller = await auditOwnTokenOperation(request, context, 'token.renew-self');
    const body = parseBody(renewBody, request);
    const increment = optionalDuration(body.increment, 'increment');
    const renewal = await renew(store, caller.accessor, increment);
    return tokenResponse(request, authOf(renewal.info, renewal.leaseSeconds), renewal.warnings);
  });

  app.post(`${MOUNT}/revoke-self`, async (request, reply) => {
    const caller = await auditOwnTokenOperation(request, context, 'token.revoke-self');
    try {
      await revokeLogged(request, caller.accessor);
    } catch (error) {
      // A use-limited token on its last use was removed when this request used it.
      if (!isTesseraError(error, 'NOT_FOUND')) throw error;
    }
    return reply.code(204).send();
  });

  app.post(`${MOUNT}/revoke-accessor`, async (request, reply: FastifyReply) => {
    const accessor = await guardAccessor(request, context);
    await revokeLogged(request, accessor);
    return reply.code(204).send();
  });

  async function revokeLogged(request: FastifyRequest, accessor: string) {
    const revoked = await revoke(store, accessor);
    request.log.info({ accessor, count: revoked.length }, 'token revoked with its descendants');
  }
}

async function guardAccessor(request: FastifyRequest, context: AppContext): Promise<string> {
  const { accessor } = parseBody(accessorBody, request);
  checkAccessor(accessor);
  await requireCapability(request, context, 'admin', `sys/tokens/${accessor}`);
  return accessor;
}

// A token may name a policy that is written later, as in Vault, so this is no error.
function missingPolicyWarning(name: string): string {
  return `policy "${name}" does not exist, so it grants the token nothing until a policy of that name is written`;
}

function optionalDuration(value: string | number | undefined, what: string) {
  return value === undefined ? undefined : parseDuration(value, what);
}

/** Seconds until the token expires, 0 for a token that never does (Vault's `lease_duration`). */
export function leaseSeconds(info: TokenInfo): number {
  if (info.expireTime === null) return 0;
  return Math.max(0, Math.round((Date.parse(info.expireTime) - Date.now()) / 1000));
}

/** The `auth` object of Vault's token responses. */
export function authOf(info: TokenInfo, lease: number) {
  return {
    accessor: info.accessor,
    policies: info.policies,
    token_policies: info.policies,
    metadata: info.meta,
    lease_duration: lease,
    renewable: info.renewable && info.expireTime !== null,
    token_type: 'service',
    orphan: info.parentAccessor === null,
    num_uses: info.usesRemaining ?? 0,
    expire_time: info.expireTime,
  };
}

/** Vault's response to a call that issues a token, with `auth` and the warnings. */
export function tokenResponse(request: FastifyRequest, auth: object, warnings: string[]) {
  return {
    ...vaultResponse(request.id, null),
    mount_type: 'token',
    warnings: warnings.length > 0 ? warnings : null,
    auth,
  };
}

// Vault's lookup fields. Vault's `num_uses` is 0 for unlimited, so `uses_remaining` is
// added: null for unlimited, and 0 for a token that this request used up.
function lookupData(info: TokenInfo) {
  return {
    accessor: info.accessor,
    creation_time: Math.floor(Date.parse(info.createdTime) / 1000),
    creation_ttl: info.ttlSeconds,
    expire_time: info.expireTime,
    explicit_max_ttl: info.maxTtlSeconds,
    issue_time: info.createdTime,
    meta: info.meta,
    num_uses: info.usesRemaining ?? 0,
    uses_remaining: info.usesRemaining,
    orphan: info.parentAccessor === null,
    parent_accessor: info.parentAccessor,
    path: 'auth/token/create',
    policies: info.policies,
    renewable: info.renewable,
    ttl: leaseSeconds(info),
    type: 'service',
  };
}
