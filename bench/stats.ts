/** Small statistics helpers for the benchmark: nearest-rank percentiles and rounding for the table and JSON. */

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

export interface Spread {
  readonly p50: number;
  readonly p99: number;
}

export function spread(values: readonly number[]): Spread {
  return { p50: round(percentile(values, 50)), p99: round(percentile(values, 99)) };
}

/** Milliseconds to 3 decimals (µs), counts to 3 decimals. */
export function round(value: number, digits = 3): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
