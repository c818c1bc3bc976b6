/**
 * `kubethreads up`: start a whole cluster, write a kubeconfig, show live
 * status, stop cleanly on Ctrl-C or SIGTERM (no thread, child or listener
 * left behind).
 */
import { resolve } from 'node:path';
import { formatClusterStatus, startCluster } from '../cluster/start.js';
import { resolveClusterSpec, type ClusterSpec } from '../cluster/spec.js';

export interface UpOptions {
  spec: Partial<ClusterSpec>;
  logLevel: string;
  /** Stop by itself after this many seconds (0: until a signal). */
  durationS: number;
  intervalMs: number;
  json: boolean;
  out?: NodeJS.WritableStream & { isTTY?: boolean };
}

export async function runUp(options: UpOptions): Promise<number> {
  const out = options.out ?? process.stdout;
  const spec = resolveClusterSpec(options.spec);
  let stopping = false;
  const stop = () => {
    stopping = true;
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  out.on('error', stop);
  const cluster = await startCluster(spec, { logLevel: options.logLevel });
  try {
    const kubeconfig = cluster.kubeconfigPath === undefined ? undefined : resolve(cluster.kubeconfigPath);
    out.write(`kubethreads: cluster up — ${spec.etcdReplicas} etcd replicas, apiserver at ${cluster.api.url}, profile ${spec.profile}, seed ${cluster.system.seed}\n`);
    if (kubeconfig !== undefined) out.write(`export KUBECONFIG=${kubeconfig}\n`);
    out.write(`data: ${spec.dataDir ?? '(temporary: pass --data-dir to keep state across restarts)'}; Ctrl-C stops\n`);
    const started = Date.now();
    let drawn = 0;
    while (!stopping && (options.durationS === 0 || Date.now() - started < options.durationS * 1000)) {
      const status = await cluster.status();
      if (options.json) {
        out.write(`${JSON.stringify(status)}\n`);
      } else {
        const lines = formatClusterStatus(status);
        if (out.isTTY === true && drawn > 0) out.write(`\x1b[${drawn}A`);
        for (const line of lines) out.write(out.isTTY === true ? `\x1b[2K${line}\n` : `${line}\n`);
        drawn = lines.length;
      }
      await new Promise((r) => setTimeout(r, options.intervalMs));
    }
    return 0;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await cluster.stop();
    if (out.writable) out.write('kubethreads: stopped\n');
    out.off('error', stop);
  }
}
