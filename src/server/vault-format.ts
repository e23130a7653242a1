import { TesseraError } from '../errors.ts';
import { emptyRecord } from '../records.ts';
import type { SecretMetadata, Store, VersionInfo } from '../store/store.ts';
import { textFields } from '../text.ts';

// Response shapes of HashiCorp Vault's KV version 2 secrets engine, so that Vault clients
// can read Tessera's responses unchanged. Field names follow Vault's API documentation.

/** Wraps `data` in Vault's response envelope. */
export function vaultResponse(requestId: string, data: unknown) {
  return {
    request_id: requestId,
    lease_id: '',
    renewable: false,
    lease_duration: 0,
    data,
    wrap_info: null,
    warnings: null,
    auth: null,
    mount_type: 'kv',
  };
}

/** The `metadata` object Vault returns beside a version's data. */
export function versionMetadata(info: VersionInfo, custom: Record<string, string> | null) {
  return {
    created_time: info.createdTime,
    custom_metadata: custom,
    deletion_time: info.deletionTime ?? '',
    destroyed: info.destroyed,
    version: info.version,
  };
}

/**
 * Builds the `metadata` of a stored version, with the secret's custom metadata as
 * `GET /v1/secret/metadata/:path` shows it (null once the secret is gone).
 */
export async function storedVersionMetadata(store: Store, path: string, info: VersionInfo) {
  const secret = await store.readMetadata(path);
  return versionMetadata(info, secret?.customMetadata ?? null);
}

/** Builds the body of `GET /v1/secret/metadata/:path`. */
export function secretMetadata(metadata: SecretMetadata) {
  const versions: Record<string, unknown> = {};
  for (const info of metadata.versions) {
    versions[String(info.version)] = {
      created_time: info.createdTime,
      deletion_time: info.deletionTime ?? '',
      destroyed: info.destroyed,
    };
  }
  return {
    cas_required: metadata.casRequired,
    created_time: metadata.createdTime,
    current_version: metadata.currentVersion,
    custom_metadata: metadata.customMetadata,
    delete_version_after: '0s',
    max_versions: metadata.maxVersions,
    oldest_version: metadata.oldestVersion,
    updated_time: metadata.updatedTime,
    versions,
  };
}

/** Turns JSON string fields into bytes; Vault allows any JSON, Tessera fields are strings. */
export function fieldsFromStrings(data: unknown, where: string): Record<string, Buffer> {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new TesseraError(
      'INVALID_ARGUMENT',
      `${where} must be a JSON object of field names to strings`,
    );
  }
  const fields = emptyRecord<Buffer>();
  for (const [name, value] of Object.entries(data)) {
    if (typeof value !== 'string') {
      throw new TesseraError(
        'INVALID_ARGUMENT',
        `${where}.${name} must be a string; Tessera stores each field as text or bytes, so encode other JSON values as a string`,
        { field: name },
      );
    }
    if (!value.isWellFormed()) {
      // A lone surrogate has no UTF-8 form; encoding it would store U+FFFD instead.
      throw new TesseraError(
        'INVALID_ARGUMENT',
        `${where}.${name} holds a lone UTF-16 surrogate, which is not text; send bytes as base64 to /v1/tessera/data`,
        { field: name },
      );
    }
    fields[name] = Buffer.from(value, 'utf8');
  }
  return fields;
}

/** Turns field bytes into JSON strings, rejecting a field that is not UTF-8 text. */
export function fieldsToStrings(path: string, fields: Record<string, Buffer>) {
  return textFields(
    fields,
    (name) =>
      new TesseraError(
        'NOT_UTF8',
        `field '${name}' of secret '${path}' is not UTF-8 text, so the KV API cannot return it; read it with 'tessera get ${path} --field ${name}' or POST /v1/tessera/resolve, which carry bytes`,
        { path, field: name },
      ),
  );
}

/** Reads Vault's `{"versions": [1, 2]}` body of delete, undelete and destroy. */
export function versionsOf(body: unknown): number[] {
  const versions = (body as { versions?: unknown } | null)?.versions;
  const valid =
    Array.isArray(versions) &&
    versions.length > 0 &&
    versions.every((v) => Number.isInteger(v) && v > 0);
  if (!valid) {
    throw new TesseraError(
      'INVALID_ARGUMENT',
      'versions must be a non-empty array of version numbers, e.g. {"versions": [1, 2]}',
    );
  }
  return versions as number[];
}
