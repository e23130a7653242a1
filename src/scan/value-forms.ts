import { type Detection, type FindingKind, MASK } from './finding.ts';
import { TOKEN_FORMS } from './token-forms.ts';
import { credentialUrlTexts, urlDetections } from './urls.ts';

/** A kind of secret value that its form gives away, and what to do about one. */
interface ValueForm {
  kind: FindingKind;
  /** Global, so that every match in a text is found. */
  pattern: RegExp;
  describe: (match: RegExpExecArray) => string;
  advice: string;
}

// The armor header of a PEM or OpenPGP private key: PKCS #1 (`RSA`), SEC 1 (`EC`), DSA,
// OpenSSH, PKCS #8 (none, or `ENCRYPTED`), and `PGP PRIVATE KEY BLOCK`.
const PRIVATE_KEY = /-----BEGIN ((?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?)-----/g;

const REVOKE_TESSERA_TOKEN =
  'anyone who could read it has its policies, so revoke it with tessera token revoke (with TESSERA_TOKEN set to it, or --accessor and its accessor), and keep tokens out of definitions: give tessera exec a token file on the agent instead (TESSERA_TOKEN_FILE)';
const REVOKE_GITHUB_TOKEN =
  'revoke it in GitHub, store the new token in Tessera and reference it as a secret (see docs/scan.md)';

const VALUE_FORMS: readonly ValueForm[] = [
  {
    kind: 'private-key',
    pattern: PRIVATE_KEY,
    describe: (match) => `a PEM private key (${match[1]}, ${MASK})`,
    advice: 'store the key in Tessera and deliver it as a file secret (see docs/scan.md)',
  },
  ...TOKEN_FORMS.map((form) => ({
    kind: 'token' as const,
    // Not inside a longer run of letters and digits, such as `xtsr_...`.
    pattern: new RegExp(`(?<![A-Za-z0-9])(?:${form.source})`, 'g'),
    describe: () => `a ${form.name} (${MASK})`,
    advice: form.name === 'Tessera token' ? REVOKE_TESSERA_TOKEN : REVOKE_GITHUB_TOKEN,
  })),
];

/**
 * Reports each value in `text` that its form gives away, whatever its name: a PEM private
 * key block, a Tessera token or a GitHub token. A match inside one of `reported`, the
 * values that another rule reported at `location`, is skipped, so each value is reported
 * once.
 */
export function valueFormDetections(
  text: string,
  location: string,
  reported: readonly string[],
): Detection[] {
  const detections: Detection[] = [];
  for (const form of VALUE_FORMS) {
    for (const match of text.matchAll(form.pattern)) {
      if (reported.some((value) => value.includes(match[0]))) continue;
      detections.push(formDetection(form, match, location, 'the string'));
    }
  }
  return detections;
}

/**
 * Returns a detection for the first value in `value` that its form gives away, with
 * `subject` (such as `environment variable TLS_KEY`) in the message, or undefined.
 */
export function namedValueFormDetection(
  value: string,
  location: string,
  subject: string,
): Detection | undefined {
  for (const form of VALUE_FORMS) {
    const [match] = value.matchAll(form.pattern);
    if (match !== undefined) return formDetection(form, match, location, subject);
  }
  return undefined;
}

function formDetection(
  form: ValueForm,
  match: RegExpExecArray,
  location: string,
  subject: string,
): Detection {
  return {
    location,
    severity: 'high',
    kind: form.kind,
    message: `${subject} contains ${form.describe(match)}; ${form.advice}`,
    redacted: MASK,
  };
}

/**
 * Reports the URLs with credentials in `text` and the values that their form gives away,
 * except those in `reported` or in such a URL.
 */
export function textDetections(
  text: string,
  location: string,
  reported: readonly string[] = [],
): Detection[] {
  const covered = [...reported, ...credentialUrlTexts(text)];
  return [...urlDetections(text, location), ...valueFormDetections(text, location, covered)];
}

/** Replaces each token in `text` with `****`, for a key that is shown as a location. */
export function maskTokens(text: string): string {
  let masked = text;
  for (const form of VALUE_FORMS) {
    if (form.kind === 'token') masked = masked.replace(form.pattern, MASK);
  }
  return masked;
}
