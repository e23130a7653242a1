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
// text in `policy` as Vault sends HCL. Vault's older `sys/policy` routes, which node-vault's
// policy helpers use, send and return the text as `rules` and are served as aliases.
const ACL = '/v1/sys/policies/acl';
const LEGACY = '/v1/sys/policy';

const writeBody = z.strictObject({ policy: z.string() });
// node-vault sends the name of the URL in the body too.
const legacyWriteBody = z.strictObject({
  name: z.string().optional(),
  rules: z.string().optional(),
  policy: z.string().optional(),
});
const checkBody = z.strictObject({
  accessor: z.string(),
  path: z.string(),
  capability: z.enum(CAPABILITIES, `must be one of ${CAPABILITIES.join(', ')}`),
});

type NameParams = { Params: { name: string } };

/**
 * Registers list, read, write and delete of policies under `/v1/sys/policies/acl`, and
 * under `/v1/sys/policy` in Vault's older form, each needing `admin` on
 * `sys/policies/<name>` (`sys/policies/` to list), and `POST /v1/tessera/policy-check`,
 * which needs `admin` on `sys/tokens/<accessor>`.
 */
export function registerPolicyRoutes(app: FastifyInstance, context: AppContext) {
  const { access } = context;

  const list = async (request: FastifyRequest) => {
    await requireCapability(request, context, 'admin', 'sys/policies/');
    return access.listPolicies();
  };
  const read = async (request: FastifyRequest<NameParams>) => {
    const name = await guardName(request, context);
    const text = await access.readPolicy(name);
    if (text === undefined) throw missingPolicy(name);
    return { name, text };
  };
  const write = async (request: FastifyRequest<NameParams>, text: string) => {
    const name = await guardName(request, context);
    const policy = await access.writePolicy(name, text);
    request.log.info({ policy: name, rules: policy.rules.length }, 'policy written');
  };
  const remove = async (request: FastifyRequest<NameParams>, reply: FastifyReply) => {
    const name = await guardName(request, context);
    if (!(await access.deletePolicy(name))) throw missingPolicy(name);
    request.log.info({ policy: name }, 'policy deleted');
    return reply.code(204).send();
  };

  // Vault lists with LIST or with GET and ?list=true; a plain GET lists here as well.
  app.get(ACL, async (request) => {
    const keys = await list(request);
    return vaultResponse(request.id, { keys, policies: keys });
  });
  app.get<NameParams>(`${ACL}/:name`, async (request) => {
    const { name, text } = await read(request);
    return vaultResponse(request.id, { name, policy: text });
  });
  const writeAcl = async (request: FastifyRequest<NameParams>, reply: FastifyReply) => {
    await write(request, parseBody(writeBody, request).policy);
    return reply.code(204).send();
  };
  app.put<NameParams>(`${ACL}/:name`, writeAcl);
  app.post<NameParams>(`${ACL}/:name`, writeAcl);
  app.delete<NameParams>(`${ACL}/:name`, remove);

  // Vault's older routes also return their data at the top level of the response.
  app.get(LEGACY, async (request) => {
    const keys = await list(request);
    return { ...vaultResponse(request.id, { keys, policies: keys }), keys, policies: keys };
  });
  app.get<NameParams>(`${LEGACY}/:name`, async (request) => {
    const { name, text } = await read(request);
    const data = { name, rules: text, policy: text };
    return { ...vaultResponse(request.id, data), name, rules: text };
  });
  const writeLegacy = async (request: FastifyRequest<NameParams>, reply: FastifyReply) => {
    await write(request, legacyPolicyText(parseBody(legacyWriteBody, request), request));
    return reply.code(204).send();
  };
  app.put<NameParams>(`${LEGACY}/:name`, writeLegacy);
  app.post<NameParams>(`${LEGACY}/:name`, writeLegacy);
  app.delete<NameParams>(`${LEGACY}/:name`, remove);

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

// The older route takes the text as `rules`, or as `policy` as the newer one does.
function legacyPolicyText(
  body: z.infer<typeof legacyWriteBody>,
  request: FastifyRequest<NameParams>,
): string {
  if (body.name !== undefined && body.name !== request.params.name) {
    throw new TesseraError(
      'INVALID_ARGUMENT',
      'request body field name differs from the policy name in the URL; remove it or make them equal',
    );
  }
  if (body.rules !== undefined && body.policy !== undefined) {
    throw new TesseraError(
      'INVALID_ARGUMENT',
      'request body has both rules and policy; send the policy text in one of them',
    );
  }
  const text = body.rules ?? body.policy;
  if (text === undefined) {
    throw new TesseraError('INVALID_ARGUMENT', 'request body needs the policy text in rules');
  }
  return text;
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
