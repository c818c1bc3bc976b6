/**
 * kube-proxy's series, under its names and buckets, in the kube-proxy
 * actor's registry: how long each sync of the routing table took (building
 * it, and with forwarding on, the listeners' update) and when the last one
 * ended. Times are the actor's `now()`.
 */
import { Gauge, TallyHistogram, exponentialBuckets, secondsBetween, type HistogramChild, type Registry } from '../../metrics/index.js';

/** kube-proxy's sync buckets: ExponentialBuckets(0.001, 2, 15), 1 ms to 16 s. */
export const SYNC_PROXY_RULES_BUCKETS: readonly number[] = Object.freeze(exponentialBuckets(0.001, 2, 15));

export class KubeProxyMetrics {
  private readonly syncDuration: HistogramChild;
  private lastSyncEndMs: number | undefined;

  constructor(registry: Registry) {
    const registers = [registry];
    this.syncDuration = new TallyHistogram({
      name: 'kubeproxy_sync_proxy_rules_duration_seconds', registers, labelNames: [], buckets: [...SYNC_PROXY_RULES_BUCKETS],
      help: 'SyncProxyRules latency in seconds (here: building the routing table and updating the listeners)',
    }).child();
    const metrics = this;
    new Gauge({
      name: 'kubeproxy_sync_proxy_rules_last_timestamp_seconds', registers,
      help: 'The last time proxy rules were successfully synced',
      collect() {
        if (metrics.lastSyncEndMs !== undefined) this.set(metrics.lastSyncEndMs / 1000);
      },
    });
  }

  synced(startMs: number, endMs: number): void {
    this.syncDuration.observe(secondsBetween(startMs, endMs));
    this.lastSyncEndMs = endMs;
  }
}
