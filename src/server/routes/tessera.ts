import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseSecretPath } from '../../store/path.ts';
import type { AppContext } from '../app.ts';
import { authenticatedCaller, requirePendingWrite } from '../authorize.ts';
import { decodeFields, encodeFields } from '../base64-fields.ts';
import { parseBatchWrites } from '../batch.ts';
import { parseBody } from '../input.ts';
import { checkSecretSize } from '../limits.ts';
import { resolveBatch } from '../resolve.ts';
import { storedVersionMetadata, vaultResponse } from '../vault-format.ts';
import { authorizeWrite, requireCreateOnNewPath } from '../write-access.ts';
import { readRequested, rejectMountedWrite, wildcard } from './kv.ts';

const base64Fields = z.record(z.string(), z.string());

const casVersion = z.number().int().min(0).optional();

const writeBody = z.strictObject({ fields: base64Fields, cas: casVersion });

const pendingBody = z.strictObject({ fields: base64Fields });

const batchBody = z.strictObject({
  writes: z
    .array(z.strictObject({ path: z.string(), fields: base64Fields, cas: casVersion }))
    .min(1),
});

/**
 * Registers Tessera's own endpoints. Unlike the KV API they carry field values as base64,
 * so any bytes round-trip, including text that is not UTF-8.
 */
export function registerTesseraRoutes(app: FastifyInstance, context: AppContext) {
  const { secrets } = context;

  app.post('/v1/tessera/resolve', async (request) => {
    await authenticatedCaller(request, context);
    const items = await resolveBatch(request, context, request.body);
    return vaultResponse(request.id, { secrets: items });
  });

  app.get('/v1/tessera/data/*', async (request) => {
    const { path, read } = await readRequested(request, context);
    return vaultResponse(request.id, {
      path,
      fields: encodeFields(read.fields),
      metadata: read.metadata,
    });
  });

  app.post('/v1/tessera/data/*', async (request) => {
    const path = parseSecretPath(wildcard(request));
    await rejectMountedWrite(request, context, path);
    const body = parseBody(writeBody, request);
    const { caller, cas } = await authorizeWrite(request, context, path, body.cas);
    const fields = decodeFields(body.fields, 'fields');
    checkSecretSize(path, fields, context.limits.maxSecretBytes);
    const info = await secrets.put(path, fields, { cas, author: caller.accessor });
    const metadata = await storedVersionMetadata(context.store, path, info);
    return vaultResponse(request.id, { path, ...metadata });
  });

  // A hook whose rotation has no generator writes the new value here, as the pending
  // version: reads keep serving current until the rotation promotes it.
  app.post('/v1/tessera/pending/*', async (request) => {
    const path = parseSecretPath(wildcard(request));
    await rejectMountedWrite(request, context, path);
    const body = parseBody(pendingBody, request);
    const caller = await requirePendingWrite(request, context, path, (writer) =>
      context.rotator === undefined
        ? Promise.resolve(false)
        : context.rotator.mayWritePending(path, writer.accessor),
    );
    // A hook's path has a secret already, because its rotation policy created the metadata.
    await requireCreateOnNewPath(request, context, path);
    const fields = decodeFields(body.fields, 'fields');
    checkSecretSize(path, fields, context.limits.maxSecretBytes);
    const info = await secrets.putPending(path, fields, caller.accessor);
    const metadata = await storedVersionMetadata(context.store, path, info);
    return vaultResponse(request.id, { path, ...metadata });
  });

  app.post('/v1/tessera/batch', async (request) => {
    const caller = await authenticatedCaller(request, context);
    const body = parseBody(batchBody, request);
    const writes = parseBatchWrites(body.writes, context.limits.maxSecretBytes);
    for (const write of writes) {
      await rejectMountedWrite(request, context, write.path);
    }
    for (const write of writes) {
      write.cas = (await authorizeWrite(request, context, write.path, write.cas)).cas;
    }
    const infos = await secrets.putMany(writes, caller.accessor);
    const versions = await Promise.all(
      infos.map(async (info, index) => {
        const path = writes[index]?.path ?? '';
        return { path, ...(await storedVersionMetadata(context.store, path, info)) };
      }),
    );
    return vaultResponse(request.id, { versions });
  });
}
