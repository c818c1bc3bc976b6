/**
 * The kubelet's clocks, in milliseconds. Kubernetes' own defaults are the
 * `realistic` values; a cluster's time profile scales them all by one factor
 * (the ratio of its node lease renewal period to Kubernetes' 10 s), so the
 * `fast` profile keeps every ratio.
 */

export interface KubeletTiming {
  /** Node Lease renewal (Kubernetes: 10 s). */
  nodeLeaseRenewMs: number;
  /** The Lease's duration is this many renewal periods (Kubernetes: 40 s = 4 × 10 s). */
  nodeLeaseDurationMs: number;
  /** How often the node's status is checked; it is written when it changed or every `nodeStatusReportMs`. */
  nodeStatusUpdateMs: number;
  /** Kubernetes writes an unchanged node status every 5 min once a Lease carries the heartbeat. */
  nodeStatusReportMs: number;
  /** PLEG relist: how often the runtime's containers are compared with what the kubelet last saw (Kubernetes: 1 s). */
  relistMs: number;
  /**
   * The PLEG relist period while every runtime streams its container events (feature gate EventedPLEG): the relist is
   * then only a fallback (Kubernetes: 300 s, `eventedPlegRelistPeriod`).
   */
  eventedRelistMs: number;
  /** Every pod is synced at least this often even without events (Kubernetes' --sync-frequency: 1 min). */
  podResyncMs: number;
  /** CrashLoopBackOff: first delay 10 s, doubling, capped at 5 min (Kubernetes' values). */
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** How long a CRI ask may take beyond the work it asks for (a runtime in a paused thread must not hang a pod worker forever). */
  runtimeAskTimeoutMs: number;
  /** API asks (status writes, lease renewals). */
  apiAskTimeoutMs: number;
}

export const REALISTIC_KUBELET_TIMING: KubeletTiming = Object.freeze({
  nodeLeaseRenewMs: 10_000,
  nodeLeaseDurationMs: 40_000,
  nodeStatusUpdateMs: 10_000,
  nodeStatusReportMs: 300_000,
  relistMs: 1_000,
  eventedRelistMs: 300_000,
  podResyncMs: 60_000,
  backoffInitialMs: 10_000,
  backoffMaxMs: 300_000,
  runtimeAskTimeoutMs: 10_000,
  apiAskTimeoutMs: 10_000,
});

/** The realistic timing with every period multiplied by `scale` (the fast profile: 0.1). Ask timeouts are not scaled below 2 s: they guard against stalls, not pace work. */
export function scaledKubeletTiming(scale: number): KubeletTiming {
  if (!(scale > 0 && scale <= 100)) throw new Error(`kubelet timing scale must be in (0, 100], got ${scale}`);
  const t = {} as Record<keyof KubeletTiming, number>;
  for (const [key, value] of Object.entries(REALISTIC_KUBELET_TIMING) as [keyof KubeletTiming, number][]) t[key] = value * scale;
  t.runtimeAskTimeoutMs = Math.max(2_000, t.runtimeAskTimeoutMs);
  t.apiAskTimeoutMs = Math.max(2_000, t.apiAskTimeoutMs);
  return t;
}

/** The kubelet timing of a cluster whose node leases renew every `nodeLeaseRenewMs` (Kubernetes: 10 s). */
export function kubeletTimingFor(nodeLeaseRenewMs: number): KubeletTiming {
  return scaledKubeletTiming(nodeLeaseRenewMs / REALISTIC_KUBELET_TIMING.nodeLeaseRenewMs);
}
