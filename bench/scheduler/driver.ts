/**
 * The scheduler benchmark's driver: an actor that talks to the API server
 * like any component (so the main thread is not on the path), creates the
 * nodes and pods, watches pods, and records for each pod the time from its
 * create being acknowledged to the watch showing it bound.
 */
import { defineBehaviour, unhandled } from '../../src/actor/behaviour.js';
import type { Message } from '../../src/actor/protocol.js';
import { ApiClient, DEPLOYMENTS, NODES, PODS } from '../../src/client/api-client.js';
import type { Deployment, Node, Pod } from '../../src/api/types/index.js';

export interface SchedulerRunRequest {
  nodes: number;
  pods: number;
  /** Creates in flight at once. */
  concurrency: number;
  /** Also time a Deployment of this many replicas until every pod is bound (0: skip). */
  deploymentReplicas: number;
}

export interface SchedulerRunResult {
  podsScheduled: number;
  /** From the first pod create to the last pod bound. */
  wallMs: number;
  /** From the first pod create to the last create acknowledged: when this is close to wallMs, creates, not binds, set the pace. */
  createdMs: number;
  /** Create request sent -> pod seen bound, unclamped. */
  latenciesMs: number[];
  /** Samples that cannot be right (bound before its create was sent, or never seen bound): counted, not clamped or dropped silently. */
  oddSamples: number;
  deploymentBoundMs: number | undefined;
}

/**
 * Request sent -> bound for each pod. A pod seen bound before its create was
 * sent, or never seen bound, is an odd sample: counted for the report, never
 * clamped to 0 (a clamp would hide a broken clock or a mixed-up name).
 */
export function bindLatencies(sentAt: ReadonlyMap<string, number>, boundAt: ReadonlyMap<string, number>): { latenciesMs: number[]; oddSamples: number } {
  const latenciesMs: number[] = [];
  let oddSamples = 0;
  for (const [name, sent] of sentAt) {
    const bound = boundAt.get(name);
    if (bound === undefined || bound < sent) oddSamples++;
    if (bound !== undefined) latenciesMs.push(bound - sent);
  }
  return { latenciesMs, oddSamples };
}

export type SchedulerDriverMsg = Message<'run', SchedulerRunRequest>;

const node = (i: number): Node => ({
  apiVersion: 'v1', kind: 'Node',
  metadata: { name: `bench-node-${i}`, labels: { 'kubernetes.io/hostname': `bench-node-${i}` } },
  spec: {},
  status: {
    capacity: { cpu: '32', memory: '128Gi', pods: '110' },
    allocatable: { cpu: '32', memory: '128Gi', pods: '110' },
    conditions: [{ type: 'Ready', status: 'True' }],
  },
} as Node);

const podSpec = { containers: [{ name: 'c', image: 'sim/app', resources: { requests: { cpu: '100m', memory: '64Mi' } } }] };

export const schedulerBenchDriver = defineBehaviour<SchedulerDriverMsg, null>(import.meta.url, 'scheduler-bench-driver', (ctx) => {
  const api = new ApiClient(ctx as never, { requestTimeoutMs: 60_000 });

  async function pool<T>(count: number, concurrency: number, fn: (i: number) => Promise<T>): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < count) await fn(next++);
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  }

  async function run(req: SchedulerRunRequest): Promise<SchedulerRunResult> {
    await pool(req.nodes, req.concurrency, (i) => api.create(NODES, node(i)));
    const createdAt = new Map<string, number>();
    const boundAt = new Map<string, number>();
    let allBound: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (allBound = resolve));
    let deploymentPods = 0;
    let deploymentDone: () => void = () => undefined;
    const deploymentBound = new Promise<void>((resolve) => (deploymentDone = resolve));
    const start = await api.list(PODS, { namespace: 'default', limit: 1 });
    const watch = api.watch<Pod>(PODS, start.resourceVersion, {
      onEvent: (event) => {
        if (event.type === 'BOOKMARK') return;
        const pod = event.object;
        const name = pod.metadata.name!;
        if (!pod.spec?.nodeName || boundAt.has(name)) return;
        boundAt.set(name, ctx.now());
        if (name.startsWith('bench-deploy-')) {
          deploymentPods++;
          if (deploymentPods === req.deploymentReplicas) deploymentDone();
        } else if (boundAt.size - deploymentPods === req.pods) allBound();
      },
      onError: (failure) => ctx.log.error({ failure }, 'bench watch failed'),
    }, { namespace: 'default' });
    const t0 = ctx.now();
    await pool(req.pods, req.concurrency, async (i) => {
      const name = `bench-pod-${i}`;
      // From the request's send, as scheduler_perf times from creation: the acknowledgement can come after the binding.
      createdAt.set(name, ctx.now());
      await api.create(PODS, { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: podSpec } as Pod);
    });
    const createdMs = ctx.now() - t0;
    await done;
    const wallMs = ctx.now() - t0;
    ctx.log.debug({ createdMs, wallMs }, 'pods created, then all bound');
    const { latenciesMs, oddSamples } = bindLatencies(createdAt, boundAt);
    let deploymentBoundMs: number | undefined;
    if (req.deploymentReplicas > 0) {
      const d0 = ctx.now();
      await api.create(DEPLOYMENTS, {
        apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'bench-deploy', namespace: 'default' },
        spec: { replicas: req.deploymentReplicas, selector: { matchLabels: { app: 'bench-deploy' } }, template: { metadata: { labels: { app: 'bench-deploy' } }, spec: podSpec } },
      } as Deployment);
      await deploymentBound;
      deploymentBoundMs = ctx.now() - d0;
    }
    watch.stop();
    return { podsScheduled: createdAt.size, wallMs, createdMs, latenciesMs, oddSamples, deploymentBoundMs };
  }

  return {
    receive(msg) {
      if (api.handle(msg as Message)) return undefined;
      if (msg.type === 'run') return run(msg.body);
      return unhandled;
    },
  };
});
