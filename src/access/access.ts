import { isTesseraError, TesseraError } from '../errors.ts';
import type { Cluster } from '../store/cluster.ts';
import type { Store } from '../store/store.ts';
import { checkNotLastAdmin, withAdminLock } from './lockout.ts';
import {
  type Capability,
  checkPolicyName,
  checkPolicyText,
  type Decision,
  decide,
  type Policy,
  parsePolicy,
  ROOT_POLICY,
  rootPolicy,
} from './policy.ts';
import { authenticate, type Caller } from './tokens.ts';

/**
 * Authentication and authorisation for the server: tokens from the store, and policies
 * parsed once and cached until a policy is written or deleted, through this object or,
 * as a cluster message reports, through another server process on the same store.
 */
export class Access {
  readonly #store: Store;
  readonly #cluster: Cluster | undefined;
  readonly #cache = new Map<string, Policy | null>();
  // Bumped on every policy write, so that a load begun before the write is not cached.
  #generation = 0;

  constructor(store: Store, cluster?: Cluster) {
    this.#store = store;
    this.#cluster = cluster;
    // After a gap, any policy may have changed unseen.
    cluster?.subscribe((message) => {
      if (message.kind === 'policy' || message.kind === 'gap') this.#invalidate();
    });
  }

  /** Authenticates a token and consumes one of its uses; see `authenticate` in tokens.ts. */
  authenticate(token: string | undefined): Promise<Caller> {
    return authenticate(this.#store, token);
  }

  /** Decides whether the caller's policies allow `capability` on `path`. */
  async decide(
    caller: Pick<Caller, 'policies'>,
    capability: Capability,
    path: string,
  ): Promise<Decision> {
    return decide(await this.policies(caller.policies), capability, path);
  }

  /** Loads policies by name; a name with no stored policy grants nothing and is skipped. */
  async policies(names: string[]): Promise<Policy[]> {
    const loaded = await Promise.all(names.map((name) => this.#policy(name)));
    return loaded.filter((policy) => policy !== null);
  }

  /** Returns those of `names` that no stored or built-in policy has. */
  async missingPolicies(names: string[]): Promise<string[]> {
    const loaded = await Promise.all(names.map((name) => this.#policy(name)));
    return names.filter((_name, index) => loaded[index] === null);
  }

  /** Reads a policy's JSON text; the built-in root policy reads as ''. */
  async readPolicy(name: string): Promise<string | undefined> {
    checkPolicyName(name);
    if (name === ROOT_POLICY) return '';
    return this.#store.readPolicy(name);
  }

  /** Lists policy names, the built-in root policy included, sorted. */
  async listPolicies(): Promise<string[]> {
    const names = new Set([...(await this.#store.listPolicies()), ROOT_POLICY]);
    return [...names].sort();
  }

  /**
   * Validates and stores a policy, replacing one of the same name. Rejects the name
   * `root`, and a change that would leave no administrator token (LAST_ADMIN_TOKEN).
   */
  async writePolicy(name: string, text: string): Promise<Policy> {
    checkWritable(name);
    const policy = checkPolicyText(name, text);
    await withAdminLock(this.#store, async () => {
      await checkNotLastAdmin(this.#store, { policy: { name, rules: policy } });
      await this.#store.savePolicy(name, text);
      this.#invalidate();
      this.#cluster?.publish({ kind: 'policy', name });
    });
    return policy;
  }

  /** Deletes a policy; false when none had the name. Rejects as `writePolicy` does. */
  async deletePolicy(name: string): Promise<boolean> {
    checkWritable(name);
    return withAdminLock(this.#store, async () => {
      await checkNotLastAdmin(this.#store, { policy: { name, rules: null } });
      const deleted = await this.#store.deletePolicy(name);
      this.#invalidate();
      this.#cluster?.publish({ kind: 'policy', name });
      return deleted;
    });
  }

  async #policy(name: string): Promise<Policy | null> {
    if (name === ROOT_POLICY) return rootPolicy;
    const cached = this.#cache.get(name);
    if (cached !== undefined) return cached;

    const generation = this.#generation;
    const text = await this.#store.readPolicy(name);
    const policy = text === undefined ? null : parseStored(name, text);
    if (generation === this.#generation) this.#cache.set(name, policy);
    return policy;
  }

  #invalidate(): void {
    this.#generation += 1;
    this.#cache.clear();
  }
}

function checkWritable(name: string): void {
  checkPolicyName(name);
  if (name === ROOT_POLICY) {
    throw new TesseraError(
      'INVALID_ARGUMENT',
      `the policy '${ROOT_POLICY}' is built in and cannot be written or deleted; choose ` +
        'another name',
    );
  }
}

// Policies are validated when written, so a stored one that fails is a bug or an edited
// database, not the caller's mistake.
function parseStored(name: string, text: string): Policy {
  try {
    return parsePolicy(name, text);
  } catch (error) {
    if (!isTesseraError(error)) throw error;
    throw new TesseraError(
      'INTERNAL',
      `stored policy '${name}' no longer parses (${error.message}); write it again`,
    );
  }
}
