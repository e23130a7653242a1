import { printable } from '../mesos/secret-rules.ts';
import { plural } from '../text.ts';
import { atLeast, type Finding, SEVERITIES, type Severity } from './finding.ts';

/** Formats findings as text, one per line: `SOURCE LOCATION SEVERITY KIND: message`. */
export function formatFindings(findings: readonly Finding[]): string {
  return findings
    .map(
      (finding) =>
        `${printable(finding.source)} ${printable(finding.location)} ${finding.severity} ${finding.kind}: ${printable(finding.message)}\n`,
    )
    .join('');
}

/** Counts findings by severity. */
export function countBySeverity(findings: readonly Finding[]): Record<Severity, number> {
  const counts: Record<Severity, number> = { high: 0, medium: 0, low: 0 };
  for (const finding of findings) counts[finding.severity] += 1;
  return counts;
}

/** Formats the one-line summary, such as `7 findings in 2 inputs: 6 high, 0 medium, 1 low`. */
export function formatSummary(findings: readonly Finding[], inputs: number): string {
  const counts = countBySeverity(findings);
  const bySeverity = SEVERITIES.map((severity) => `${counts[severity]} ${severity}`).join(', ');
  return `${plural(findings.length, 'finding')} in ${plural(inputs, 'input')}: ${bySeverity}`;
}

/** Tells whether any finding is at `threshold` or more urgent. */
export function exceeds(findings: readonly Finding[], threshold: Severity): boolean {
  return findings.some((finding) => atLeast(finding.severity, threshold));
}
