/**
 * The end-to-end benchmark's driver: applies one Deployment through the API
 * server and watches its pods until every one is Running, recording each
 * pod's startup from its creationTimestamp to Running seen, as Kubernetes' pod
 * startup SLI measures it (creationTimestamp has whole seconds, so each sample
 * may read up to 1 s long, never short).
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
  /** Deployment create sent → the last pod seen Running. */
  allRunningMs: number;
  /** Per pod: creationTimestamp → seen Running, unclamped. */
  startupMs: number[];
  /** Samples that cannot be right (no creationTimestamp, or Running before it was created): counted, never clamped. */
  oddSamples: number;
}

/** Startup per pod from its creationTimestamp to when it was seen Running (both wall clock, ms since the epoch). */
export function podStartups(pods: ReadonlyMap<string, { creationTimestamp: string | undefined; runningAtMs: number }>): { startupMs: number[]; oddSamples: number } {
  const startupMs: number[] = [];
  let oddSamples = 0;
  for (const { creationTimestamp, runningAtMs } of pods.values()) {
    const createdMs = creationTimestamp === undefined ? Number.NaN : Date.parse(creationTimestamp);
    if (Number.isNaN(createdMs)) {
      oddSamples++;
      continue;
    }
    const ms = runningAtMs - createdMs;
    // creationTimestamp is floored to the second, so a true sample is never negative.
    if (ms < 0) oddSamples++;
    startupMs.push(ms);
  }
  return { startupMs, oddSamples };
}

export type E2eDriverMsg = Message<'run', E2eRunRequest>;

export const e2eBenchDriver = defineBehaviour<E2eDriverMsg, null>(import.meta.url, 'e2e-bench-driver', (ctx) => {
  const api = new ApiClient(ctx as never, { requestTimeoutMs: 60_000 });

  async function run(req: E2eRunRequest): Promise<E2eRunResult> {
    const runningAt = new Map<string, { creationTimestamp: string | undefined; runningAtMs: number }>();
    let allRunning: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (allRunning = resolve));
    const start = await api.list(PODS, { namespace: 'default', limit: 1 });
    const watch = api.watch<Pod>(PODS, start.resourceVersion, {
      onEvent: (event) => {
        if (event.type === 'BOOKMARK' || event.type === 'DELETED') return;
        const name = event.object.metadata.name!;
        if (!name.startsWith('e2e-')) return;
        if (event.object.status?.phase === 'Running' && !runningAt.has(name)) {
          // Wall clock, as creationTimestamp is (the API server's clock, in this same process).
          runningAt.set(name, { creationTimestamp: event.object.metadata.creationTimestamp, runningAtMs: Date.now() });
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
    return { allRunningMs, ...podStartups(runningAt) };
  }

  return {
    receive(msg) {
      if (api.handle(msg as Message)) return undefined;
      if (msg.type === 'run') return run(msg.body);
      return unhandled;
    },
  };
});
