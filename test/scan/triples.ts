import type { Finding } from '../../src/scan/finding.ts';

/** Sorted `location kind severity` triples, so that a failure shows the whole difference. */
export function triples(findings: readonly Finding[]): string[] {
  return findings.map((f) => `${f.location} ${f.kind} ${f.severity}`).sort();
}
