/** A kind of token that its form alone gives away, whatever name it is kept under. */
export interface TokenForm {
  /** The kind of token, as messages name it. */
  name: string;
  /** The token's form, without anchors or flags. */
  source: string;
}

/**
 * Tokens with a documented prefix. Tessera's are `tsr_` and 43 base64url characters (32
 * random bytes, see `src/access/tokens.ts`). GitHub's personal, OAuth, user-to-server,
 * server-to-server and refresh tokens start with `ghp_`, `gho_`, `ghu_`, `ghs_` and
 * `ghr_` (GitHub changelog, 2021-03-31), and fine-grained personal tokens with
 * `github_pat_`.
 */
export const TOKEN_FORMS: readonly TokenForm[] = [
  { name: 'Tessera token', source: 'tsr_[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])' },
  { name: 'GitHub token', source: '(?:gh[pousr]_|github_pat_)[A-Za-z0-9_]{36,}' },
];

// A token that no prefix gives away is taken for one when it has a run of this many
// letters and digits, mixing both, at this many bits of Shannon entropy per character.
// Names joined by `-`, `_` or `.` (`build-agent-12`) have no such run. In 20,000 random
// strings each, 40 hex or 20 base62 characters never measured under 3.07 bits, but 20
// hex characters did in 3% of them, so short hex tokens can be missed.
const MIN_RANDOM_RUN = 20;
const MIN_BITS_PER_CHARACTER = 3;

const WHOLE_FORMS = TOKEN_FORMS.map((form) => new RegExp(`^(?:${form.source})$`));

/**
 * Tells whether `text` as a whole looks like a token: one of `TOKEN_FORMS`, or a run of
 * at least 20 letters and digits that mixes both and has high entropy.
 */
export function looksLikeToken(text: string): boolean {
  if (WHOLE_FORMS.some((form) => form.test(text))) return true;
  const runs = text.match(/[A-Za-z0-9]+/g) ?? [];
  return runs.some(isRandomRun);
}

function isRandomRun(run: string): boolean {
  if (run.length < MIN_RANDOM_RUN) return false;
  if (!/[A-Za-z]/.test(run) || !/[0-9]/.test(run)) return false;
  return bitsPerCharacter(run) >= MIN_BITS_PER_CHARACTER;
}

// The Shannon entropy of the characters of `text`.
function bitsPerCharacter(text: string): number {
  const counts = new Map<string, number>();
  for (const character of text) counts.set(character, (counts.get(character) ?? 0) + 1);
  let bits = 0;
  for (const count of counts.values()) {
    const share = count / text.length;
    bits -= share * Math.log2(share);
  }
  return bits;
}
