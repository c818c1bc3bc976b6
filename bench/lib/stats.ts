import * as hdr from 'hdr-histogram-js';

/** Latency samples in microseconds, summarised by an HDR histogram (3 significant digits). */
export class Latencies {
  private readonly histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });

  record(us: number): void {
    this.histogram.recordValue(Math.max(1, Math.round(us)));
  }

  percentile(p: number): number {
    return this.histogram.getValueAtPercentile(p);
  }

  get count(): number {
    return this.histogram.totalCount;
  }
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** The nearest-rank percentile of raw samples (no histogram buckets, nothing clamped); NaN when empty. */
export function exactPercentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}
