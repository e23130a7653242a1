import { type Detection, type Finding, MASK } from './finding.ts';
import { scanText } from './scan.ts';

/**
 * Scans a Mesos credentials file, the file that the master's `--credentials` and the
 * agent's `--credential` flags name. JSON (`{"credentials": [{"principal", "secret"}]}`)
 * is scanned as any JSON input, which reports each `secret`. Any other text is the
 * format that Mesos still reads, deprecated since 1.0: one credential a line, split at
 * single spaces into exactly two words, `principal secret`. Each such line is reported.
 * Other lines are skipped, because Mesos rejects a file that has one.
 */
export function scanCredentialsFile(input: string, source: string): Finding[] {
  const text = input.replace(/^\uFEFF/, '');
  if (/^\s*\{/.test(text)) return scanText(text, source);
  return text.split('\n').flatMap((line, index) => {
    const detection = credentialLine(line, `line ${index + 1}`);
    return detection === undefined ? [] : [{ source, ...detection }];
  });
}

// Mesos splits the file at '\n' and each line at ' ', and drops empty words.
function credentialLine(line: string, location: string): Detection | undefined {
  const words = line.split(' ').filter((word) => word !== '');
  if (words.length !== 2) return undefined;
  return {
    location,
    severity: 'high',
    kind: 'secret-value',
    message: `the Mesos credentials file gives a principal a plaintext secret (${MASK}); keep the file readable only by the Mesos user, and give frameworks the secret from Tessera, not in their definitions (see docs/scan.md)`,
    redacted: MASK,
  };
}
