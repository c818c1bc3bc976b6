/**
 * Where a probe's mutating call spends its time, from the API server's own
 * histograms: `apiserver_request_duration_seconds` (from the handler's start
 * to its answer) and `etcd_request_duration_seconds` (its store calls),
 * scraped before and after the burst and subtracted, beside what the probe
 * measured from outside (sent → answered). What the client saw and the
 * server did not is the time the request waited to be handled and its answer
 * waited to be read: the two threads' event loops and the frames between.
 */

/** One histogram series: cumulative counts per upper bound (`+Inf` last), its sum and count. */
export interface HistogramSeries {
  /** [upper bound in seconds, cumulative count], in increasing order; the last bound is Infinity. */
  buckets: [number, number][];
  sumSeconds: number;
  count: number;
}

/**
 * The series of `name` whose labels include every one of `labels` (others
 * may be present), summed over the matching series (same buckets assumed);
 * undefined when none matches.
 */
export function histogramFromText(text: string, name: string, labels: Readonly<Record<string, string>>): HistogramSeries | undefined {
  const byBound = new Map<number, number>();
  let sumSeconds = 0;
  let count = 0;
  let matched = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const sample = /^(\w+)\{([^}]*)\}\s+(\S+)$/.exec(line);
    if (sample === null) continue;
    const [, metric, labelText, valueText] = sample;
    const found = parseLabels(labelText!);
    if (!Object.entries(labels).every(([k, v]) => found[k] === v)) continue;
    const value = Number(valueText);
    if (!Number.isFinite(value)) continue;
    if (metric === `${name}_bucket`) {
      const le = found.le === '+Inf' ? Infinity : Number(found.le);
      if (Number.isNaN(le)) continue;
      byBound.set(le, (byBound.get(le) ?? 0) + value);
      matched = true;
    } else if (metric === `${name}_sum`) {
      sumSeconds += value;
    } else if (metric === `${name}_count`) {
      count += value;
    }
  }
  if (!matched) return undefined;
  const buckets = [...byBound.entries()].sort((a, b) => a[0] - b[0]);
  return { buckets, sumSeconds, count };
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const match of text.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[match[1]!] = match[2]!;
  return labels;
}

/** What was observed between two scrapes of the same series (`before` undefined: nothing was). */
export function histogramBetween(before: HistogramSeries | undefined, after: HistogramSeries): HistogramSeries {
  if (before === undefined) return after;
  const earlier = new Map(before.buckets);
  return {
    buckets: after.buckets.map(([le, n]) => [le, n - (earlier.get(le) ?? 0)]),
    sumSeconds: after.sumSeconds - before.sumSeconds,
    count: after.count - before.count,
  };
}

/** Mean of the observations in ms; null when there were none. */
export function histogramMeanMs(series: HistogramSeries): number | null {
  return series.count <= 0 ? null : (series.sumSeconds / series.count) * 1000;
}

/**
 * The q-quantile (0..1) in ms, interpolated linearly inside its bucket as
 * Prometheus' histogram_quantile does; the last finite bound when it falls
 * in +Inf; null when there were no observations.
 */
export function histogramQuantileMs(series: HistogramSeries, q: number): number | null {
  const total = series.buckets.at(-1)?.[1] ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [le, cumulative] of series.buckets) {
    if (cumulative >= rank) {
      if (le === Infinity) return lowerBound * 1000;
      const inBucket = cumulative - lowerCount;
      const fraction = inBucket <= 0 ? 1 : (rank - lowerCount) / inBucket;
      return (lowerBound + (le - lowerBound) * fraction) * 1000;
    }
    if (le !== Infinity) lowerBound = le;
    lowerCount = cumulative;
  }
  return lowerBound * 1000;
}

/** One series' share of the breakdown: how many, mean and p50 / p99 (ms, bucket-interpolated). */
export interface PhaseFigures {
  count: number;
  mean_ms: number | null;
  p50_ms: number | null;
  p99_ms: number | null;
}

export function phaseFigures(series: HistogramSeries | undefined): PhaseFigures {
  if (series === undefined) return { count: 0, mean_ms: null, p50_ms: null, p99_ms: null };
  const r = (v: number | null) => (v === null ? null : Math.round(v));
  return { count: series.count, mean_ms: r(histogramMeanMs(series)), p50_ms: r(histogramQuantileMs(series, 0.5)), p99_ms: r(histogramQuantileMs(series, 0.99)) };
}

/** The series the probe's mutating calls (ConfigMap updates) land in. */
export const PROBE_REQUEST_SERIES = { name: 'apiserver_request_duration_seconds', labels: { verb: 'PUT', resource: 'configmaps' } } as const;
export const PROBE_STORE_SERIES = { name: 'etcd_request_duration_seconds', labels: { operation: 'txn', type: 'configmaps' } } as const;

/** The API server's figures for the probe's calls over the burst, from two scrapes of its /metrics text. */
export function serverSideOfProbe(before: string, after: string): { handler: PhaseFigures; store: PhaseFigures } {
  const between = (series: { name: string; labels: Readonly<Record<string, string>> }) => {
    const end = histogramFromText(after, series.name, series.labels);
    return end === undefined ? undefined : histogramBetween(histogramFromText(before, series.name, series.labels), end);
  };
  return { handler: phaseFigures(between(PROBE_REQUEST_SERIES)), store: phaseFigures(between(PROBE_STORE_SERIES)) };
}

/**
 * Each store replica's WAL fsyncs over the burst (`etcd_disk_wal_fsync_duration_seconds`, by the
 * `component` label the replicas' series carry): a write commits after the leader's fsync and a
 * follower's, so these bound how much of a store call the disk explains.
 */
export function fsyncsOfReplicas(before: string, after: string): Record<string, PhaseFigures> {
  const name = 'etcd_disk_wal_fsync_duration_seconds';
  const components = new Set<string>();
  for (const match of after.matchAll(/^etcd_disk_wal_fsync_duration_seconds_count\{[^}]*component="([^"]+)"/gm)) components.add(match[1]!);
  const out: Record<string, PhaseFigures> = {};
  for (const component of [...components].sort()) {
    const end = histogramFromText(after, name, { component });
    if (end !== undefined) out[component] = phaseFigures(histogramBetween(histogramFromText(before, name, { component }), end));
  }
  return out;
}
