/**
 * The actor side of the API server benchmark: a component stand-in in its
 * own thread that asks the apiserver actor, as the scheduler and controllers
 * do, and times each call. Bench instruments may read the high-resolution
 * clock (performance.now): they measure, they are not behaviour under test.
 */
import { defineBehaviour, unhandled, type Message } from '../../src/actor/index.js';
import type { ApiReply, ApiServerMsg, ApiWatchMsg } from '../../src/api/protocol.js';
import type { KubeObject, WatchEvent } from '../../src/api/types/index.js';

export type DriverOp = 'create' | 'get' | 'list' | 'listCached';

export type DriverMsg =
  | ApiWatchMsg
  | Message<'run', { op: DriverOp; namespace: string; count: number; concurrency: number; objects: number }>
  | Message<'fanout', { namespace: string; watchers: number; writes: number }>;

const POD_TARGET = { group: '', version: 'v1', resource: 'pods' };
const ASK_TIMEOUT_MS = 60_000;

export function benchPod(name: string): Record<string, unknown> {
  return {
    metadata: { name, labels: { app: 'bench', tier: 'web' } },
    spec: { containers: [{ name: 'app', image: 'nginx:1.27', resources: { requests: { cpu: '100m', memory: '64Mi' } }, ports: [{ containerPort: 80 }] }] },
  };
}

/** Runs `count` calls with at most `concurrency` in flight; each call's latency in microseconds. */
export async function closedLoop(count: number, concurrency: number, call: (i: number) => Promise<void>): Promise<{ samplesUs: number[]; elapsedMs: number }> {
  const samplesUs: number[] = [];
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const t0 = performance.now();
      await call(i);
      samplesUs.push((performance.now() - t0) * 1000);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return { samplesUs, elapsedMs: performance.now() - started };
}

export const apiDriver = defineBehaviour<DriverMsg, void>(import.meta.url, 'bench-api-driver', (ctx) => {
  const ask = async (msg: ApiServerMsg): Promise<unknown> => {
    const reply = await ctx.ask<ApiReply>('apiserver', msg, { timeoutMs: ASK_TIMEOUT_MS });
    if (!reply.ok) throw new Error(`apiserver: ${reply.status.code} ${reply.status.message}`);
    return reply.body;
  };
  /** Watch arrivals for the fan-out: by the object's `bench-seq` label, the arrival times. */
  let arrivals: Map<string, number[]> | undefined;
  return {
    async receive(msg) {
      switch (msg.type) {
        case 'run': {
          const { op, namespace, count, concurrency, objects } = msg.body;
          const target = { ...POD_TARGET, namespace };
          return closedLoop(count, concurrency, async (i) => {
            switch (op) {
              case 'create': await ask({ type: 'api.create', body: { ...target, object: benchPod(`pod-${i}`) } }); break;
              case 'get': await ask({ type: 'api.get', body: { ...target, name: `pod-${i % objects}` } }); break;
              case 'list': await ask({ type: 'api.list', body: { ...target } }); break;
              case 'listCached': await ask({ type: 'api.list', body: { ...target, query: { resourceVersion: '0' } } }); break;
            }
          });
        }
        case 'fanout': {
          const { namespace, watchers, writes } = msg.body;
          const target = { ...POD_TARGET, namespace };
          await ask({ type: 'api.create', body: { ...target, object: benchPod('fanout') } });
          const list = await ask({ type: 'api.list', body: { ...target } });
          const rv = (list as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
          arrivals = new Map();
          for (let w = 0; w < watchers; w++) {
            await ask({ type: 'api.watch', body: { ...target, watchId: `fanout-${w}`, query: { resourceVersion: rv, fieldSelector: 'metadata.name=fanout' } } });
          }
          const delaysUs: number[] = [];
          for (let s = 0; s < writes; s++) {
            const seq = String(s);
            arrivals.set(seq, []);
            const t0 = performance.now();
            await ask({ type: 'api.patch', body: { ...target, name: 'fanout', patchType: 'merge', patch: { metadata: { labels: { 'bench-seq': seq } } } } });
            while (arrivals.get(seq)!.length < watchers) await new Promise((resolve) => setImmediate(resolve));
            for (const t of arrivals.get(seq)!) delaysUs.push((t - t0) * 1000);
            arrivals.delete(seq);
          }
          for (let w = 0; w < watchers; w++) ctx.send('apiserver', { type: 'api.unwatch', body: { watchId: `fanout-${w}` } } satisfies ApiServerMsg);
          arrivals = undefined;
          return { delaysUs };
        }
        case 'api.watchEvents': {
          const now = performance.now();
          for (const event of msg.body.events as WatchEvent[]) {
            const seq = (event.object as KubeObject).metadata.labels?.['bench-seq'];
            if (seq !== undefined) arrivals?.get(seq)?.push(now);
          }
          return undefined;
        }
        case 'api.watchEnd':
          return undefined;
        default:
          return unhandled;
      }
    },
  };
});
