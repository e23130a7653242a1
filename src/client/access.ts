import { checkPolicyName } from '../access/policy.ts';
import type { TesseraClient } from './client.ts';

// Client calls for tokens and policies. Field names are the server's (Vault's) names.

/** A token's metadata as the lookup endpoints return it; never the token itself. */
export interface TokenLookup {
  accessor: string;
  policies: string[];
  meta: Record<string, string>;
  issue_time: string;
  /** ISO 8601 time, or null when the token never expires. */
  expire_time: string | null;
  /** Seconds left, 0 for a token that never expires. */
  ttl: number;
  creation_ttl: number;
  explicit_max_ttl: number;
  /** Uses left, or null when unlimited. */
  uses_remaining: number | null;
  renewable: boolean;
  orphan: boolean;
  parent_accessor: string | null;
}

/** The `auth` object of a token response. `client_token` is present only on create. */
export interface TokenAuth {
  client_token?: string;
  accessor: string;
  policies: string[];
  metadata: Record<string, string>;
  /** Seconds until the token expires; 0 when it never expires. */
  lease_duration: number;
  renewable: boolean;
  orphan: boolean;
  num_uses: number;
  expire_time: string | null;
}

/** A token response: its `auth` object and any warnings, such as a capped TTL. */
export interface TokenResponse {
  auth: TokenAuth;
  warnings: string[];
}

/** The body of a token create request; durations are seconds or text such as `1h`. */
export interface TokenRequest {
  policies?: string[];
  ttl?: string | number;
  explicit_max_ttl?: string | number;
  num_uses?: number;
  renewable?: boolean;
  no_parent?: boolean;
  meta?: Record<string, string>;
}

/** The outcome of a policy check. */
export interface PolicyCheck {
  allowed: boolean;
  policy: string | null;
  rule: string | null;
  reason: string;
}

type Envelope<T> = { data: T; auth: TokenAuth; warnings: string[] | null };

const TOKEN = '/v1/auth/token';
const ACL = '/v1/sys/policies/acl';

/** Creates a token as a child of the client's token (or without a parent, with `no_parent`). */
export async function createToken(
  client: TesseraClient,
  request: TokenRequest,
): Promise<TokenResponse> {
  return tokenResponse(await client.request('POST', `${TOKEN}/create`, request));
}

/** Looks up the client's own token, or another by accessor (needs `admin` on it). */
export async function lookupToken(client: TesseraClient, accessor?: string): Promise<TokenLookup> {
  const body = accessor
    ? await client.request<Envelope<TokenLookup>>('POST', `${TOKEN}/lookup-accessor`, { accessor })
    : await client.request<Envelope<TokenLookup>>('GET', `${TOKEN}/lookup-self`);
  return body.data;
}

/** Renews the client's own token; `increment` is seconds or text like `1h`. */
export async function renewToken(
  client: TesseraClient,
  increment?: string | number,
): Promise<TokenResponse> {
  const body = increment === undefined ? {} : { increment };
  return tokenResponse(await client.request('POST', `${TOKEN}/renew-self`, body));
}

/** Revokes the client's own token, or another by accessor, with its descendants. */
export async function revokeToken(client: TesseraClient, accessor?: string): Promise<void> {
  if (accessor) {
    await client.request('POST', `${TOKEN}/revoke-accessor`, { accessor });
    return;
  }
  await client.request('POST', `${TOKEN}/revoke-self`);
}

// Checked before sending, because a URL parser would resolve a name such as `..`.
function policyRoute(name: string): string {
  checkPolicyName(name);
  return `${ACL}/${name}`;
}

/** Lists policy names, `root` included. */
export async function listPolicies(client: TesseraClient): Promise<string[]> {
  const body = await client.request<Envelope<{ keys: string[] }>>('GET', `${ACL}?list=true`);
  return body.data.keys;
}

/** Reads a policy's JSON text. */
export async function readPolicy(client: TesseraClient, name: string): Promise<string> {
  const route = policyRoute(name);
  const body = await client.request<Envelope<{ policy: string }>>('GET', route);
  return body.data.policy;
}

/** Writes a policy from its JSON text; the server validates it. */
export async function writePolicy(client: TesseraClient, name: string, text: string) {
  await client.request('PUT', policyRoute(name), { policy: text });
}

/** Deletes a policy. */
export async function deletePolicy(client: TesseraClient, name: string): Promise<void> {
  await client.request('DELETE', policyRoute(name));
}

/** Asks whether the token with `accessor` may use `capability` on `path`, and why. */
export async function checkPolicy(
  client: TesseraClient,
  check: { accessor: string; path: string; capability: string },
): Promise<PolicyCheck> {
  const body = await client.request<Envelope<PolicyCheck>>(
    'POST',
    '/v1/tessera/policy-check',
    check,
  );
  return body.data;
}

function tokenResponse(body: Envelope<unknown>): TokenResponse {
  return { auth: body.auth, warnings: body.warnings ?? [] };
}
