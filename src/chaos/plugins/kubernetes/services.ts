/**
 * Traffic to Services: the `services` workload puts a ClusterIP Service in
 * front of each of the `deployments` workload's Deployments and runs client
 * actors that send requests through the nodes' kube-proxies
 * (`proxy.request`: pick an endpoint, ask that pod's runtime, try another on
 * refusal or silence — what a connection through the TCP forwarder does).
 * Every request is recorded; the run's figures get the longest gap between
 * successful requests per fault (serviceUnavailabilityMs) and the
 * `service-availability` check judges the record.
 *
 * A client sends each request through the next node's kube-proxy in turn,
 * like an external load balancer in front of the nodes. A kube-proxy that
 * does not answer (its node crashed) is left out for `proxyDownMs`, as a
 * load balancer's health check would.
 */
import { defineBehaviour, unhandled } from '../../../actor/behaviour.js';
import type { Message } from '../../../actor/protocol.js';
import type { ApiReply, ApiServerMsg } from '../../../api/protocol.js';
import type { Service } from '../../../api/types/index.js';
import { ActorClock, type ClientTimerMsg } from '../../../client/clock.js';
import type { ProxyRequestReply } from '../../../node/proxy/kube-proxy.js';
import type { ChaosEnv, RequestRecord, WorkloadPlugin } from '../../engine/types.js';
import { APISERVER, NAMESPACE, kubeSink } from './sink.js';

export interface ServicesSpec {
  /** Client actors. Default 2. */
  clients?: number;
  /** One request per client every this many ms (uniform in [0.5, 1.5] ×). Default 50. */
  everyMs?: number;
  /** Per request, through kube-proxy's retries. Default 5000. */
  requestTimeoutMs?: number;
  /** How long a kube-proxy that did not answer is left out. Default 5000. */
  proxyDownMs?: number;
}

interface TrafficArgs {
  proxies: string[];
  /** Service names in NAMESPACE. */
  services: string[];
  everyMs: number;
  requestTimeoutMs: number;
  proxyDownMs: number;
}

type TrafficMsg = ClientTimerMsg | Message<'traffic.run', { untilMs: number }>;

/** Records one client keeps at most. Why: a long run at a short period must not grow without bound; 1 M records is about 200 MB. */
const RECORDS_MAX = 1_000_000;

export const serviceTrafficClient = defineBehaviour<TrafficMsg, TrafficArgs>(import.meta.url, 'k8s-chaos-service-client', (ctx, args) => {
  const clock = new ActorClock(ctx as never);
  const downUntil = new Map<string, number>();
  const records: RequestRecord[] = [];
  let seq = 0;
  let sent = 0;
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => clock.timer(`sleep-${seq++}`, ms, resolve));

  const pickProxy = (): string | undefined => {
    for (let i = 0; i < args.proxies.length; i++) {
      const proxy = args.proxies[(sent + i) % args.proxies.length]!;
      if ((downUntil.get(proxy) ?? 0) <= ctx.now()) return proxy;
    }
    return undefined;
  };

  async function one(): Promise<void> {
    const service = args.services[sent % args.services.length]!;
    const proxy = pickProxy();
    sent++;
    const invokeMs = ctx.now();
    const base = { kind: 'service' as const, process: ctx.name, target: `${NAMESPACE}/${service}`, invokeMs };
    if (proxy === undefined) {
      records.push({ ...base, class: 'none', completeMs: invokeMs, ok: false, error: 'no kube-proxy answers: every node is left out' });
      return;
    }
    try {
      const reply = await ctx.ask<ProxyRequestReply>(proxy, { type: 'proxy.request', body: { namespace: NAMESPACE, name: service } }, { timeoutMs: args.requestTimeoutMs });
      records.push(reply.ok
        ? { ...base, class: proxy, completeMs: ctx.now(), ok: true, servedBy: reply.pod }
        : { ...base, class: proxy, completeMs: ctx.now(), ok: false, error: reply.reason });
    } catch (error) {
      downUntil.set(proxy, ctx.now() + args.proxyDownMs);
      records.push({ ...base, class: proxy, completeMs: ctx.now(), ok: false, error: `${proxy}: ${error instanceof Error ? error.message : String(error)}` });
    }
  }

  async function run(untilMs: number): Promise<RequestRecord[]> {
    while (ctx.now() < untilMs && records.length < RECORDS_MAX) {
      await one();
      await sleep(args.everyMs * (0.5 + ctx.random()));
    }
    return records;
  }

  return {
    receive(msg) {
      switch (msg.type) {
        case 'client.timer':
          clock.fire(msg.body.key);
          return undefined;
        case 'traffic.run':
          return run(msg.body.untilMs);
        default:
          return unhandled;
      }
    },
  };
});

function serviceObject(name: string): Service {
  return {
    apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: NAMESPACE },
    spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 80, protocol: 'TCP' }] },
  } as Service;
}

const DRAIN_MS = 60_000;
/** kube-proxies get this long to route every Service to a backend before the run starts. */
const ROUTES_WAIT_MS = 60_000;
const ROUTES_POLL_MS = 100;

/** Until every kube-proxy routes every Service to at least one backend: traffic measures faults, not start-up. */
async function waitForRoutes(env: ChaosEnv, proxies: string[], services: string[]): Promise<void> {
  const sleeper = kubeSink(env.state).sleeper;
  for (let waitedMs = 0; ; waitedMs += ROUTES_POLL_MS) {
    const tables = await env.settle(Promise.all(proxies.map((p) => env.system.ref(p).ask<Array<{ key: string; backends: string[] }>>({ type: 'proxy.table', body: null }, { timeoutMs: 5_000 }).catch(() => []))));
    const missing = proxies.flatMap((p, i) => services.filter((s) => !tables[i]!.some((r) => r.key.startsWith(`${NAMESPACE}/${s}:`) && r.backends.length > 0)).map((s) => `${p}: ${s}`));
    if (missing.length === 0) return;
    if (waitedMs >= ROUTES_WAIT_MS) throw new Error(`workload.services: after ${ROUTES_WAIT_MS} ms some kube-proxies still route no backend: ${missing.slice(0, 5).join(', ')}`);
    await env.settle(env.system.ref(sleeper).ask({ type: 'sleep', body: { ms: ROUTES_POLL_MS } }, { timeoutMs: ROUTES_POLL_MS + 10_000 }));
  }
}

export function servicesWorkload(): WorkloadPlugin<ServicesSpec> {
  return {
    name: 'services',
    description: 'a Service in front of each Deployment of the deployments workload (list it first) and clients sending requests through the nodes\' kube-proxies; every request recorded',
    schema: {
      properties: {
        clients: { type: 'integer', minimum: 1, maximum: 16, description: 'client actors (default 2)' },
        everyMs: { type: 'number', minimum: 1, description: 'one request per client every this many ms, jittered (default 50)' },
        requestTimeoutMs: { type: 'number', minimum: 1, description: 'per request, kube-proxy retries included (default 5000)' },
        proxyDownMs: { type: 'number', minimum: 0, description: 'how long a kube-proxy that did not answer is left out (default 5000)' },
      },
    },
    async prepare(env, spec) {
      const sink = kubeSink(env.state);
      if (sink.nodes.length === 0 || Object.keys(sink.desired).length === 0) {
        throw new Error('workload.services needs the deployments workload, listed before it (workload: { deployments: {…}, services: {…} })');
      }
      const services = Object.keys(sink.desired);
      const api = env.system.ref<ApiServerMsg>(APISERVER);
      for (const name of services) {
        const reply = await env.settle(api.ask<ApiReply>({ type: 'api.create', body: { group: '', version: 'v1', resource: 'services', namespace: NAMESPACE, object: serviceObject(name) } }, { timeoutMs: 30_000 }));
        if (!reply.ok) throw new Error(`workload.services: creating Service ${name}: ${reply.status.message ?? reply.status.reason}`);
      }
      await waitForRoutes(env, sink.nodes.map((n) => n.kubeProxy), services);
      const names = Array.from({ length: spec.clients ?? 2 }, (_, i) => `service-client-${i}`);
      const args: TrafficArgs = {
        proxies: sink.nodes.map((n) => n.kubeProxy), services, everyMs: spec.everyMs ?? 50,
        requestTimeoutMs: spec.requestTimeoutMs ?? 5_000, proxyDownMs: spec.proxyDownMs ?? 5_000,
      };
      // Each client starts on a different node, so traffic is spread from the first request on.
      for (const [i, name] of names.entries()) {
        await env.system.spawn(serviceTrafficClient, { name, args: { ...args, proxies: [...args.proxies.slice(i % args.proxies.length), ...args.proxies.slice(0, i % args.proxies.length)] } });
      }
      return {
        actors: names,
        start(ctx) {
          const runs = names.map((name) =>
            env.system.ref<TrafficMsg>(name).ask<RequestRecord[]>({ type: 'traffic.run', body: { untilMs: env.originMs + ctx.untilMs } }, { timeoutMs: ctx.untilMs + DRAIN_MS }),
          );
          for (const run of runs) run.catch(() => undefined);
          return {
            actors: names,
            async finish() {
              const all = await env.settle(Promise.all(runs));
              return { requests: all.flat() };
            },
          };
        },
      };
    },
  };
}
