/**
 * Finds how much of the end of a buffer is the start of one of the long patterns, in time
 * linear in the buffer. Trying each tail length in turn, as for short patterns, costs the
 * square of the pattern's length when the output repeats the start of a long value.
 */
export class LongPatternTails {
  readonly #patterns: Buffer[];
  readonly #probeBytes: number;
  // Knuth-Morris-Pratt failure tables, built the first time a pattern's start shows up.
  readonly #failures = new Map<Buffer, Int32Array>();

  /** Takes the patterns longer than `probeBytes` + 1; shorter ones are left to the caller. */
  constructor(patterns: readonly Buffer[], probeBytes: number) {
    this.#probeBytes = probeBytes;
    this.#patterns = patterns.filter((pattern) => pattern.length > probeBytes + 1);
  }

  /**
   * Returns the length of the longest tail of `data` that is the start of a long pattern
   * and shorter than that pattern. Returns 0 when that length is `probeBytes` or less.
   */
  longestTail(data: Buffer): number {
    let best = 0;
    for (const pattern of this.#patterns) {
      const window = Math.min(pattern.length - 1, data.length);
      if (window <= Math.max(best, this.#probeBytes)) continue;
      // Such a tail begins with the pattern's first bytes, which a native search finds.
      const from = data.length - window;
      const probe = pattern.subarray(0, this.#probeBytes + 1);
      if (data.indexOf(probe, from) === -1) continue;
      best = Math.max(best, this.#matchedAtEnd(pattern, data, from));
    }
    return best > this.#probeBytes ? best : 0;
  }

  // Runs the pattern's automaton over `data` from `from`, and returns how many bytes of
  // the pattern the end of `data` matches. The run is shorter than the pattern, so it
  // never matches the whole of it.
  #matchedAtEnd(pattern: Buffer, data: Buffer, from: number): number {
    const failure = this.#failureOf(pattern);
    let matched = 0;
    for (let i = from; i < data.length; i++) {
      const byte = data[i];
      while (matched > 0 && pattern[matched] !== byte) matched = failure[matched - 1] as number;
      if (pattern[matched] === byte) matched++;
    }
    return matched;
  }

  #failureOf(pattern: Buffer): Int32Array {
    const known = this.#failures.get(pattern);
    if (known !== undefined) return known;
    const failure = failureTable(pattern);
    this.#failures.set(pattern, failure);
    return failure;
  }
}

/**
 * Returns the Knuth-Morris-Pratt failure table of a pattern: at each index, the length of
 * the longest proper prefix of the pattern up to there that is also a suffix of it.
 */
export function failureTable(pattern: Buffer): Int32Array {
  const failure = new Int32Array(pattern.length);
  for (let i = 1, border = 0; i < pattern.length; i++) {
    while (border > 0 && pattern[i] !== pattern[border]) border = failure[border - 1] as number;
    if (pattern[i] === pattern[border]) border++;
    failure[i] = border;
  }
  return failure;
}
