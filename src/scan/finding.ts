/** The urgency of moving a finding into Tessera. */
export type Severity = 'high' | 'medium' | 'low';

/** Severities from the most to the least urgent. */
export const SEVERITIES: readonly Severity[] = ['high', 'medium', 'low'];

/** The category of a finding. `docs/scan.md` describes each kind. */
export type FindingKind =
  | 'secret-value'
  | 'command-substitution'
  | 'url-credentials'
  | 'inline-secret'
  | 'credential-file'
  | 'docker-auth'
  | 'docker-auth-unrelated'
  | 'secret-written-to-file'
  | 'environment-dump'
  | 'shell-trace'
  | 'secret-file-served'
  | 'private-key'
  | 'token';

/**
 * One place where a secret is kept in plaintext or leaks. `message` and `redacted` never
 * contain a secret value: `redacted` is `****`, a URL with its user information replaced,
 * or null when the finding is about a command rather than a value.
 */
export interface Finding {
  /** The file, `-` for standard input, or the master endpoint that was read. */
  source: string;
  /** A JSON path such as `$.env.DB_PASSWORD`, or `line N` in a text input. */
  location: string;
  severity: Severity;
  kind: FindingKind;
  message: string;
  redacted: string | null;
}

/** A finding before the scanner adds its source. */
export type Detection = Omit<Finding, 'source'>;

/** The text shown in place of a secret value. */
export const MASK = '****';

/** The advice for a literal secret, at the end of most messages. */
export const STORE_ADVICE = 'store it in Tessera and reference it as a secret (see docs/scan.md)';

/** Tells whether `severity` is `threshold` or more urgent. */
export function atLeast(severity: Severity, threshold: Severity): boolean {
  return SEVERITIES.indexOf(severity) <= SEVERITIES.indexOf(threshold);
}

/**
 * Removes repeated detections (the same location, kind and message), which arise when two
 * rules read the same string, such as an argument array and each of its elements.
 */
export function uniqueDetections(detections: readonly Detection[]): Detection[] {
  const seen = new Set<string>();
  return detections.filter((detection) => {
    const key = `${detection.location}\0${detection.kind}\0${detection.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
