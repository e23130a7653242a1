import type { Keyring } from '../crypto/keyring.ts';
import { isTesseraError, TesseraError } from '../errors.ts';
import { Secrets } from '../store/secrets.ts';
import type { Store } from '../store/store.ts';

// How many entries and folders the check looks at before it gives up finding a readable
// secret, so that a large store does not slow the start.
const MAX_ENTRIES = 50;

/**
 * Checks that `keyring` opens the secrets in `store`, by reading the current version of
 * the first secret that has one. A keyring from another data directory would otherwise
 * start a server that cannot read the secrets, and whose writes the other servers cannot
 * read. A store without a readable secret passes. Throws CONFIG_INVALID.
 */
export async function checkKeyringOpensStore(
  store: Store,
  keyring: Keyring,
  keyringFile: string,
): Promise<void> {
  const secrets = new Secrets(store, keyring);
  const folders = [''];
  for (let seen = 0; folders.length > 0 && seen < MAX_ENTRIES; ) {
    const folder = folders.shift() as string;
    for (const entry of await store.list(folder)) {
      if (++seen > MAX_ENTRIES) return;
      if (entry.endsWith('/')) {
        folders.push(folder + entry);
      } else if (await opens(secrets, folder + entry, keyringFile)) {
        return;
      }
    }
  }
}

// Whether the secret's current version opens; false when it has none to read.
async function opens(secrets: Secrets, path: string, keyringFile: string): Promise<boolean> {
  try {
    await secrets.read(path);
    return true;
  } catch (error) {
    if (!isTesseraError(error, 'INTERNAL')) return false;
    throw new TesseraError(
      'CONFIG_INVALID',
      `the keyring ${keyringFile} does not open the secrets in this store, so it belongs to ` +
        'another store or was replaced; copy keyring.json from a server that uses this store',
    );
  }
}
