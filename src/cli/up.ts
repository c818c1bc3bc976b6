/**
 * `kubethreads up`: start a whole cluster, write a kubeconfig, show live
 * status, stop cleanly on Ctrl-C, SIGTERM or when the process that started
 * it exits (no thread, child or listener left behind).
 */
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { prometheusConfig, startMetricsServer, type MetricsServer } from '../cluster/metrics-server.js';
import { clusterStatusLine, formatClusterStatus, startCluster, waitForNodesReady } from '../cluster/start.js';
import { resolveClusterSpec, type ClusterSpec } from '../cluster/spec.js';
import { runLive, withStopSignals, type Output } from './live.js';

export interface UpOptions {
  spec: Partial<ClusterSpec>;
  logLevel: string;
  /** Stop by itself after this many seconds (0: until a signal). */
  durationS: number;
  intervalMs: number;
  json: boolean;
  /** Stop when the process that started this one exits (default true; false for nohup / setsid). */
  watchParent?: boolean;
  out?: Output;
  /** Progress while the Nodes come up (default: stderr). */
  err?: Output;
  /** Serve every component's series on 127.0.0.1:<port>/metrics (0: any free port) and write prometheus.yml beside the kubeconfig. */
  metricsPort?: number;
}

/** Progress lines while waiting for Nodes: one every few seconds, enough to see it move. */
const NODES_PROGRESS_EVERY_MS = 3_000;

export async function runUp(options: UpOptions): Promise<number> {
  const out = options.out ?? process.stdout;
  const spec = resolveClusterSpec(options.spec);
  return withStopSignals(out, async (stop) => {
    const cluster = await startCluster(spec, { logLevel: options.logLevel });
    let metrics: MetricsServer | undefined;
    try {
      const metricsLines: string[] = [];
      if (options.metricsPort !== undefined) {
        metrics = await startMetricsServer({ system: cluster.system, port: options.metricsPort });
        const config = join(dirname(resolve(spec.kubeconfigPath)), 'prometheus.yml');
        writeFileSync(config, prometheusConfig(metrics.port));
        metricsLines.push(`metrics: ${metrics.url} (every component); prometheus --config.file=${config}`);
      }
      // `ready` promises every Node Ready, not just an API server that answers: kubelets register on their own time.
      const err = options.err ?? process.stderr;
      let lastReport = 0;
      const allReady = await waitForNodesReady(cluster, {
        sleep: (ms) => stop.sleep(ms), stopped: () => stop.stopped(),
        progress: (state) => {
          if (Date.now() - lastReport < NODES_PROGRESS_EVERY_MS || state?.ready === spec.nodes) return;
          lastReport = Date.now();
          if (err.writable) err.write(`kubethreads: apiserver at ${cluster.api.url}; waiting for Nodes: ${state === undefined ? 'the API server did not answer' : `${state.ready}/${spec.nodes} Ready`}\n`);
        },
      });
      if (!allReady) return 0;
      const kubeconfig = cluster.kubeconfigPath === undefined ? undefined : resolve(cluster.kubeconfigPath);
      const header = [
        `kubethreads: cluster up — ${cluster.store}, apiserver at ${cluster.api.url}, profile ${spec.profile}, seed ${cluster.system.seed}`,
        ...(kubeconfig !== undefined ? [`export KUBECONFIG=${kubeconfig}`] : []),
        ...metricsLines,
        `data: ${spec.dataDir ?? '(temporary: pass --data-dir to keep state across restarts)'}; Ctrl-C stops`,
        // Scripts wait for this line: the API server answers and every Node is Ready, kubectl can go.
        'ready',
      ];
      await runLive(
        {
          out, header, durationS: options.durationS, intervalMs: options.intervalMs, json: options.json, poll: () => cluster.status(),
          lines: formatClusterStatus, line: clusterStatusLine, toJson: (s) => s,
        },
        stop,
      );
      return 0;
    } finally {
      await metrics?.close();
      await cluster.stop();
      if (out.writable) out.write('kubethreads: stopped\n');
    }
  }, { watchParent: options.watchParent });
}
