/**
 * `kubethreads nodes`: N worker nodes (runtime, kubelet, kube-proxy as
 * actors on threads) in this process, joined over HTTPS to the API server a
 * kubeconfig names — `kubethreads up`'s or any conformant one. Shows how
 * many of them are Ready; SIGTERM / Ctrl-C stops them and leaves their Node
 * objects as they are, so the cluster's node lifecycle controller marks them
 * NotReady after its grace period, as for any kubelet that went away.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ThreadedSystem } from '../actor/threaded/threaded-system.js';
import { generateTls } from '../api/http/tls.js';
import type { Node } from '../api/types/index.js';
import { timingFor, type TimeProfile } from '../cluster/spec.js';
import { NODES } from '../node/kubelet/api-client.js';
import { HttpKubeApi } from '../node/kubelet/http-api-client.js';
import type { RuntimeKind } from '../node/kubelet/kubelet.js';
import { connectionFromKubeconfig } from '../node/remote/kubeconfig.js';
import { KUBELET_PORT_DEFAULT, NODE_POOL_LABEL, remoteNodeIPs, spawnRemoteNodes, validateRemoteNodes } from '../../actors/remote-nodes.js';
import { runLive, withStopSignals, type Output } from './live.js';

export interface NodesOptions {
  kubeconfig: string;
  /** A context of the kubeconfig other than its current one. */
  context?: string;
  count: number;
  prefix: string;
  firstIndex: number;
  runtime: RuntimeKind;
  allowProcesses: boolean;
  profile: TimeProfile;
  /** The kubelets' endpoint port on their node IPs (0: any free port). */
  kubeletPort?: number;
  /** Where the process runtime keeps logs (default: a temporary directory). */
  dataDir?: string;
  logLevel: string;
  durationS: number;
  intervalMs: number;
  json: boolean;
  watchParent?: boolean;
  out?: Output;
}

/** How the process's nodes stand in the API server's view (undefined: it did not answer). */
export interface PoolStatus {
  prefix: string;
  count: number;
  registered: number | undefined;
  ready: number | undefined;
}

/** The list of the pool's Nodes, and the API server's patience for it. */
const STATUS_TIMEOUT_MS = 5_000;

export function poolStatusLine(status: PoolStatus): string {
  if (status.registered === undefined) return `nodes ${status.prefix}: the API server did not answer`;
  return `nodes ${status.prefix}: ${status.ready}/${status.count} Ready (${status.registered} registered)`;
}

function isReady(node: Node): boolean {
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
}

export async function runNodes(options: NodesOptions): Promise<number> {
  const out = options.out ?? process.stdout;
  validateRemoteNodes(options);
  if (options.runtime === 'process' && !options.allowProcesses) throw new Error('--runtime process runs real commands: enable it explicitly with --allow-processes');
  const path = resolve(options.kubeconfig);
  const read = (file: string, what: string): string => {
    try {
      return readFileSync(file, 'utf8');
    } catch (error) {
      throw new Error(`cannot read ${what} ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  };
  // Files a kubeconfig names are relative to the kubeconfig, as kubectl reads them.
  const connection = connectionFromKubeconfig(read(path, 'the kubeconfig'), path, (file) => read(isAbsolute(file) ? file : resolve(dirname(path), file), `a file named in ${path}:`), options.context);
  // One certificate for the process's kubelet endpoints, naming every node IP they listen on.
  const tls = generateTls(remoteNodeIPs(options));
  // The CLI's own view of the pool: not behaviour code, so plain randomness is fine here.
  const observer = new HttpKubeApi(connection, STATUS_TIMEOUT_MS, Math.random);
  const poll = async (): Promise<PoolStatus> => {
    const listed = await observer.listWatcher<Node>(NODES, { labelSelector: `${NODE_POOL_LABEL}=${options.prefix}` }).list({ resourceVersion: '0' }).catch(() => undefined);
    return { prefix: options.prefix, count: options.count, registered: listed?.items.length, ready: listed?.items.filter(isReady).length };
  };
  return withStopSignals(out, async (stop) => {
    const system = new ThreadedSystem({ dataDir: options.dataDir, logLevel: options.logLevel });
    const nodes = [];
    try {
      nodes.push(...await spawnRemoteNodes(system, {
        connection, count: options.count, prefix: options.prefix, firstIndex: options.firstIndex, runtime: options.runtime,
        allowProcesses: options.allowProcesses, timing: timingFor(options.profile), dataDir: system.dataDir,
        kubeletServer: { port: options.kubeletPort ?? KUBELET_PORT_DEFAULT, certPem: tls.certPem, keyPem: tls.keyPem },
      }));
      if (out.writable) out.write(`kubethreads: ${options.count} nodes ${options.prefix}-0..${options.prefix}-${options.count - 1} (runtime ${options.runtime}, profile ${options.profile}) joining ${connection.server}\n`);
      // Scripts wait for `ready`: every node of this process is Ready in the API server's view.
      for (;;) {
        if (stop.stopped()) return 0;
        const status = await poll();
        if (status.ready === options.count) break;
        await stop.sleep(Math.min(options.intervalMs, 500));
      }
      await runLive({
        out, header: ['ready'], durationS: options.durationS, intervalMs: options.intervalMs, json: options.json, poll,
        lines: (s) => [poolStatusLine(s)], line: poolStatusLine, toJson: (s) => s,
      }, stop);
      return 0;
    } finally {
      // Kubelets stop heartbeating; their Nodes stay for the node lifecycle controller to mark NotReady.
      await Promise.all(nodes.flatMap((n) => [n.kubelet, n.kubeProxy]).map((name) => system.stop(name).catch(() => undefined)));
      await system.shutdown();
      observer.close();
      if (out.writable) out.write('kubethreads: nodes stopped\n');
    }
  }, { watchParent: options.watchParent });
}
