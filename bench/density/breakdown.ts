/**
 * Where a probe's mutating call spends its time, from the API server's own
 * histograms: `apiserver_request_duration_seconds` (from the handler's start
 * to its answer) and `etcd_request_duration_seconds` (its store calls),
 * scraped before and after the burst and subtracted, beside what the probe
 * measured from outside (sent → answered). What the client saw and the
 * server did not is the time the request waited to be handled and its answer
 * waited to be read: the two threads' event loops and the frames between.
 */
import { bucketQuantile, parseExposition } from '../../src/chaos/engine/metric-series.js';

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
  for (const sample of parseExposition(text)) {
    if (!sample.name.startsWith(name) || !Number.isFinite(sample.value)) continue;
    if (!Object.entries(labels).every(([k, v]) => sample.labels[k] === v)) continue;
    if (sample.name === `${name}_bucket`) {
      const le = sample.labels.le === '+Inf' ? Infinity : Number(sample.labels.le);
      if (Number.isNaN(le)) continue;
      byBound.set(le, (byBound.get(le) ?? 0) + sample.value);
      matched = true;
    } else if (sample.name === `${name}_sum`) {
      sumSeconds += sample.value;
    } else if (sample.name === `${name}_count`) {
      count += sample.value;
    }
  }
  if (!matched) return undefined;
  const buckets = [...byBound.entries()].sort((x, y) => x[0] - y[0]);
  return { buckets, sumSeconds, count };
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
  const seconds = bucketQuantile(q, series.buckets);
  return seconds === null ? null : seconds * 1000;
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
  return seriesByLabel(before, after, 'etcd_disk_wal_fsync_duration_seconds', 'component');
}

/** Each value of `label` in `name`'s series over the burst (between two scrapes), its series summed, sorted. */
function seriesByLabel(before: string, after: string, name: string, label: string): Record<string, PhaseFigures> {
  const values = new Set<string>();
  const pattern = new RegExp(`^${name}_count\\{[^}]*${label}="([^"]+)"`, 'gm');
  for (const match of after.matchAll(pattern)) values.add(match[1]!);
  const out: Record<string, PhaseFigures> = {};
  for (const value of [...values].sort()) {
    const end = histogramFromText(after, name, { [label]: value });
    if (end !== undefined) out[value] = phaseFigures(histogramBetween(histogramFromText(before, name, { [label]: value }), end));
  }
  return out;
}

/**
 * How long requests waited in API Priority and Fairness over the burst, by priority level
 * (`apiserver_flowcontrol_request_wait_duration_seconds`): the cost flow control puts on the levels whose
 * requests it holds back (the kubelets' `system`, the controllers' `workload-high`) for the quiet ones'
 * sake. Empty when flow control was off (the series is not exported then).
 */
export function flowControlWaitsByLevel(before: string, after: string): Record<string, PhaseFigures> {
  return seriesByLabel(before, after, 'apiserver_flowcontrol_request_wait_duration_seconds', 'priority_level');
}
