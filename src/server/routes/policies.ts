import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { CAPABILITIES, checkPolicyName } from '../../access/policy.ts';
import { checkAccessor, lookup } from '../../access/tokens.ts';
import { TesseraError } from '../../errors.ts';
import { parseResourcePath } from '../../store/path.ts';
import type { AppContext } from '../app.ts';
import { requireCapability } from '../authorize.ts';
import { parseBody } from '../input.ts';
import { vaultResponse } from '../vault-format.ts';

// HashiCorp Vault's ACL policy endpoints. Tessera policies are JSON documents, sent as
// text in `policy` as Vault sends HCL.
const ACL = '/v1/sys/policies/acl';

const writeBody = z.strictObject({ policy: z.string() });
const checkBody = z.strictObject({
  accessor: z.string(),
  path: z.string(),
  capability: z.enum(CAPABILITIES, `must be one of ${CAPABILITIES.join(', ')}`),
});

type NameParams = { Params: { name: string } };

/**
 * Registers list, read, write and delete of policies under `/v1/sys/policies/acl`, each
 * needing `admin` on `sys/policies/<name>` (`sys/policies/` to list), and
 * `POST /v1/tessera/policy-check`, which needs `admin` on `sys/tokens/<accessor>`.
 */
export function registerPolicyRoutes(app: FastifyInstance, context: AppContext) {
  const { access } = context;

  // Vault lists with LIST or with GET and ?list=true; a plain GET lists here as well.
  app.get(ACL, async (request) => {
    await requireCapability(request, context, 'admin', 'sys/policies/');
    const keys = await access.listPolicies();
    return vaultResponse(request.id, { keys, policies: keys });
  });

  app.get<NameParams>(`${ACL}/:name`, async (request) => {
    const name = await guardName(request, context);
    const text = await access.readPolicy(name);
    if (text === undefined) throw missingPolicy(name);
    return vaultResponse(request.id, { name, policy: text });
  });

  const write = async (request: FastifyRequest<NameParams>, reply: FastifyReply) => {
    const name = await guardName(request, context);
    const body = parseBody(writeBody, request);
    const policy = await access.writePolicy(name, body.policy);
    request.log.info({ policy: name, rules: policy.rules.length }, 'policy written');
    return reply.code(204).send();
  };
  app.put<NameParams>(`${ACL}/:name`, write);
  app.post<NameParams>(`${ACL}/:name`, write);

  app.delete<NameParams>(`${ACL}/:name`, async (request, reply) => {
    const name = await guardName(request, context);
    if (!(await access.deletePolicy(name))) throw missingPolicy(name);
    request.log.info({ policy: name }, 'policy deleted');
    return reply.code(204).send();
  });

  app.post('/v1/tessera/policy-check', async (request) => {
    const body = parseBody(checkBody, request);
    checkAccessor(body.accessor);
    const path = parseCheckedPath(body.path);
    await requireCapability(request, context, 'admin', `sys/tokens/${body.accessor}`);

    const info = await lookup(context.store, body.accessor);
    const decision = await access.decide(info, body.capability, path);
    return vaultResponse(request.id, {
      allowed: decision.allowed,
      policy: decision.policy,
      rule: decision.rule,
      reason: decision.reason,
    });
  });
}

async function guardName(
  request: FastifyRequest<NameParams>,
  context: AppContext,
): Promise<string> {
  const { name } = request.params;
  checkPolicyName(name);
  await requireCapability(request, context, 'admin', `sys/policies/${name}`);
  return name;
}

// A path ending in '/' is a list prefix, and '' or '/' is the top level, as list
// requests name them.
function parseCheckedPath(raw: string): string {
  if (raw === '' || raw === '/') return '';
  if (!raw.endsWith('/')) return parseResourcePath(raw);
  return `${parseResourcePath(raw.slice(0, -1))}/`;
}

function missingPolicy(name: string): TesseraError {
  return new TesseraError(
    'NOT_FOUND',
    `no policy is named '${name}'; list the policies with 'tessera policy list'`,
    { policy: name },
  );
}
