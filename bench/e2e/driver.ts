/**
 * The end-to-end benchmark's driver: applies one Deployment through the API
 * server and watches its pods until every one is Running, recording each
 * pod's startup (created → Running seen), as Kubernetes' pod startup SLO
 * measures it.
 */
import { defineBehaviour, unhandled } from '../../src/actor/behaviour.js';
import type { Message } from '../../src/actor/protocol.js';
import { ApiClient, DEPLOYMENTS, PODS } from '../../src/client/api-client.js';
import type { Deployment, Pod } from '../../src/api/types/index.js';

export interface E2eRunRequest {
  replicas: number;
  image: string;
}

export interface E2eRunResult {
  /** Deployment create acknowledged → the last pod seen Running. */
  allRunningMs: number;
  /** Per pod: first seen (created) → seen Running. */
  startupMs: number[];
}

export type E2eDriverMsg = Message<'run', E2eRunRequest>;

export const e2eBenchDriver = defineBehaviour<E2eDriverMsg, null>(import.meta.url, 'e2e-bench-driver', (ctx) => {
  const api = new ApiClient(ctx as never, { requestTimeoutMs: 60_000 });

  async function run(req: E2eRunRequest): Promise<E2eRunResult> {
    const seenAt = new Map<string, number>();
    const runningAt = new Map<string, number>();
    let allRunning: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (allRunning = resolve));
    const start = await api.list(PODS, { namespace: 'default', limit: 1 });
    const watch = api.watch<Pod>(PODS, start.resourceVersion, {
      onEvent: (event) => {
        if (event.type === 'BOOKMARK' || event.type === 'DELETED') return;
        const name = event.object.metadata.name!;
        if (!name.startsWith('e2e-')) return;
        if (!seenAt.has(name)) seenAt.set(name, ctx.now());
        if (event.object.status?.phase === 'Running' && !runningAt.has(name)) {
          runningAt.set(name, ctx.now());
          if (runningAt.size === req.replicas) allRunning();
        }
      },
      onError: (failure) => ctx.log.error({ failure }, 'e2e watch failed'),
    }, { namespace: 'default' });
    const t0 = ctx.now();
    await api.create(DEPLOYMENTS, {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'e2e', namespace: 'default' },
      spec: {
        replicas: req.replicas, selector: { matchLabels: { app: 'e2e' } },
        template: { metadata: { labels: { app: 'e2e' } }, spec: { containers: [{ name: 'app', image: req.image, resources: { requests: { cpu: '10m', memory: '16Mi' } } }] } },
      },
    } as Deployment);
    await done;
    const allRunningMs = ctx.now() - t0;
    watch.stop();
    const startupMs = [...runningAt].map(([name, at]) => at - (seenAt.get(name) ?? at));
    return { allRunningMs, startupMs };
  }

  return {
    receive(msg) {
      if (api.handle(msg as Message)) return undefined;
      if (msg.type === 'run') return run(msg.body);
      return unhandled;
    },
  };
});
