import type { Detection } from './finding.ts';
import { redactUrls } from './urls.ts';

// Files that hold credentials for a tool that reads them from the home directory or the
// working directory. Marathon's documentation ships Docker registry credentials as
// `docker.tar.gz`, an archive of `.docker/config.json`.
const CREDENTIAL_FILE =
  /(?:^|\/)(\.docker\/config\.json|\.dockercfg|docker\.tar\.gz|\.netrc|_netrc|\.pgpass|\.git-credentials|\.aws\/credentials)$/i;

/**
 * Reports a URI that the Mesos fetcher downloads into the sandbox (Marathon's `uris` and
 * `fetch[].uri`, Mesos's `CommandInfo.uris[].value`) when it names a credential file.
 */
export function credentialFileDetection(uri: string, location: string): Detection | undefined {
  const path = uri.replace(/[?#].*$/s, '');
  const file = CREDENTIAL_FILE.exec(path)?.[1];
  if (file === undefined) return undefined;
  const redactedUri = redactUrls(uri);
  return {
    location,
    severity: 'medium',
    kind: 'credential-file',
    message: `${redactedUri} fetches the credential file ${file} into the sandbox, where the task and anyone allowed to browse the sandbox can read it; store its content in Tessera and deliver it as a file secret (see docs/scan.md)`,
    redacted: redactedUri,
  };
}
