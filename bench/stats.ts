// Order statistics for the benchmarks, which report medians because a single slow run on a
// shared machine moves a mean but not a median.

/** Returns the middle value, the upper one of the two middle values for an even count. */
export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** Returns the value at `share` (0 to 1) of the way through the sorted values. */
export function quantile(values: readonly number[], share: number): number {
  if (values.length === 0) throw new Error('quantile of no values');
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.round(share * (sorted.length - 1))] as number;
}
