/**
 * A small cluster in the simulated runtime for cloud tests: the real API
 * server actor (embedded store, no HTTP), the cloud actor and the
 * cloud-controller-manager, plus helpers to read and write objects and to
 * wait on virtual time for a condition.
 */
import { SimulatedSystem, createLogger } from '../actor/index.js';
import { apiServer } from '../api/behaviour.js';
import type { ApiReply, ApiServerMsg, ApiTarget } from '../api/protocol.js';
import type { KubeObject, List, Node, Service } from '../api/types/index.js';
import type { CcmArgs } from './ccm/behaviour.js';
import { UNINITIALIZED_TAINT_KEY } from './ccm/desired.js';
import type { CcmStatus } from './ccm/manager.js';
import { CCM_NAME, type CcmMsg } from './ccm/protocol.js';
import type { CloudOp, CloudRequestOf, CloudResponse } from './provider/api.js';
import type { CloudArgs } from './provider/behaviour.js';
import { ActorCloudClient } from './provider/client.js';
import { CLOUD_NAME, type CloudMsg } from './provider/protocol.js';
import type { CloudFault, CloudHeal, CloudSnapshot, FaultOutcome } from './provider/types.js';
import { spawnCloudComponents, type NodeInstanceSpec } from './setup.js';

export const NODES_TARGET: ApiTarget = { group: '', version: 'v1', resource: 'nodes' };
export const servicesTarget = (namespace = 'default'): ApiTarget => ({ group: '', version: 'v1', resource: 'services', namespace });

/** Timings scaled for tests on virtual time: fast enough to keep runs short, the same ratios as Kubernetes'. */
export const TEST_CCM_ARGS: CcmArgs = Object.freeze({
  leaderElection: { leaseDurationMs: 1_500, renewDeadlineMs: 1_000, retryPeriodMs: 200 },
  nodeMonitorPeriodMs: 500,
  routeReconcilePeriodMs: 1_000,
  resyncPeriodMs: 5_000,
  retry: { baseMs: 200, maxMs: 3_200 },
  cloudCallTimeoutMs: 2_000,
});

export interface SimCloudCluster {
  sim: SimulatedSystem;
  api<T = KubeObject>(msg: ApiServerMsg): Promise<ApiReply<T>>;
  /** The object, or throws with the Status. */
  must<T = KubeObject>(msg: ApiServerMsg): Promise<T>;
  nodes(): Promise<Node[]>;
  services(namespace?: string): Promise<Service[]>;
  createNode(name: string, extra?: { podCIDR?: string; ready?: boolean }): Promise<Node>;
  setNodeReady(name: string, ready: boolean): Promise<void>;
  createLoadBalancerService(name: string, ports?: number[]): Promise<Service>;
  cloud<K extends CloudOp>(request: CloudRequestOf<K>): Promise<CloudResponse<K>>;
  fault(fault: CloudFault): Promise<FaultOutcome>;
  heal(heal: CloudHeal): Promise<FaultOutcome>;
  snapshot(): Promise<CloudSnapshot>;
  ccmStatus(name?: string): Promise<CcmStatus>;
  /** Run virtual time until `check` holds (checked every `stepMs`); throws with `what` after `maxMs`. */
  eventually(what: string, check: () => Promise<boolean>, options?: { maxMs?: number; stepMs?: number }): Promise<void>;
  shutdown(): Promise<void>;
}

export async function startSimCloudCluster(options: {
  seed: number;
  nodes?: NodeInstanceSpec[];
  cloud?: CloudArgs;
  ccm?: CcmArgs;
  ccmReplicas?: number;
}): Promise<SimCloudCluster> {
  const sim = new SimulatedSystem({ seed: options.seed, logger: createLogger({ level: 'silent' }) });
  await sim.spawn(apiServer, { name: 'apiserver', args: { kv: { kind: 'embedded' }, http: false } });
  await sim.settle(spawnCloudComponents(sim, {
    cloud: options.cloud ?? { config: { latency: { minMs: 20, maxMs: 80 } } },
    ccm: { ...TEST_CCM_ARGS, ...(options.ccm ?? {}) },
    ccmReplicas: options.ccmReplicas ?? 1,
    nodes: options.nodes ?? [],
  }));
  const apiRef = sim.ref<ApiServerMsg>('apiserver');
  const api = <T>(msg: ApiServerMsg): Promise<ApiReply<T>> => sim.settle(apiRef.ask<ApiReply<T>>(msg, { timeoutMs: 10_000 }));
  const must = async <T>(msg: ApiServerMsg): Promise<T> => {
    const reply = await api<T>(msg);
    if (!reply.ok) throw new Error(`${msg.type} failed: ${reply.status.code} ${reply.status.reason} ${reply.status.message}`);
    return reply.body;
  };
  const cloudRef = sim.ref<CloudMsg>(CLOUD_NAME);
  const cloudClient = new ActorCloudClient({ ask: ((to: string, msg: CloudMsg, o?: { timeoutMs?: number }) => sim.ref<CloudMsg>(to).ask(msg, o)) as never });
  const cluster: SimCloudCluster = {
    sim,
    api,
    must,
    nodes: async () => (await must<List<Node>>({ type: 'api.list', body: NODES_TARGET })).items,
    services: async (namespace = 'default') => (await must<List<Service>>({ type: 'api.list', body: servicesTarget(namespace) })).items,
    createNode: (name, extra = {}) => must<Node>({
      type: 'api.create',
      body: {
        ...NODES_TARGET,
        object: {
          apiVersion: 'v1', kind: 'Node', metadata: { name },
          spec: { taints: [{ key: UNINITIALIZED_TAINT_KEY, value: 'true', effect: 'NoSchedule' }], ...(extra.podCIDR !== undefined ? { podCIDR: extra.podCIDR, podCIDRs: [extra.podCIDR] } : {}) },
          status: extra.ready === true ? { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady' }] } : {},
        },
      },
    }),
    setNodeReady: async (name, ready) => {
      await must({ type: 'api.patch', body: { ...NODES_TARGET, name, subresource: 'status', patchType: 'strategic', patch: { status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'Unknown', reason: ready ? 'KubeletReady' : 'NodeStatusUnknown' }] } } } });
    },
    createLoadBalancerService: (name, ports = [80]) => must<Service>({
      type: 'api.create',
      body: { ...servicesTarget(), object: { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { type: 'LoadBalancer', selector: { app: name }, ports: ports.map((port) => ({ name: `p${port}`, port, targetPort: 8080 })) } } },
    }),
    cloud: (request) => sim.settle(cloudClient.call(request)),
    fault: (fault) => sim.settle(cloudRef.ask<FaultOutcome>({ type: 'cloud.fault', body: fault })),
    heal: (heal) => sim.settle(cloudRef.ask<FaultOutcome>({ type: 'cloud.heal', body: heal })),
    snapshot: () => sim.settle(cloudRef.ask<CloudSnapshot>({ type: 'cloud.snapshot', body: null })),
    ccmStatus: (name = CCM_NAME) => sim.settle(sim.ref<CcmMsg>(name).ask<CcmStatus>({ type: 'ccm.status', body: null })),
    async eventually(what, check, o = {}) {
      const maxMs = o.maxMs ?? 30_000;
      const stepMs = o.stepMs ?? 100;
      for (let waitedMs = 0; ; waitedMs += stepMs) {
        if (await check()) return;
        if (waitedMs >= maxMs) throw new Error(`not within ${maxMs} ms of virtual time: ${what}`);
        await sim.runFor(stepMs);
      }
    },
    shutdown: () => sim.shutdown(),
  };
  return cluster;
}
