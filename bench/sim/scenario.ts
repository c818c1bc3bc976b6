/**
 * The node-crash scenario `bench sim` runs at each size: 10 pods per node in
 * Deployments of at most 1,000 replicas, a node crashing, Service traffic.
 * 20 nodes: the library's node-crash-rescheduling shape (fast profile, 8 s).
 * 100 and more: Kubernetes' own timings (realistic profile), node-monitor
 * grace 40 s, eviction after 60 s, 120 s of virtual time, the crash at 10 s:
 * the pods are evicted and rescheduled inside the run.
 * Every size runs its kubelets with the EventedPLEG feature gate (container
 * events from the runtime, the relist only as a fallback; see
 * docs/performance.md, "Evented PLEG"), unless `eventedPleg: false`.
 */
export interface SimBenchSize {
  nodes: number;
  /** Virtual time of the run, ms. */
  durationMs: number;
  /** The kubelets' EventedPLEG feature gate (default true). */
  eventedPleg?: boolean;
}

export const PODS_PER_NODE = 10;
/** Replicas per Deployment at most: larger clusters get more Deployments. */
const REPLICAS_PER_DEPLOYMENT_MAX = 1_000;

/** The scenario as YAML text (parsed and validated like any scenario file). */
export function simBenchScenario(size: SimBenchSize): string {
  const pods = size.nodes * PODS_PER_NODE;
  const deployments = Math.max(1, Math.ceil(pods / REPLICAS_PER_DEPLOYMENT_MAX));
  const replicas = Math.ceil(pods / deployments);
  const small = size.nodes <= 20;
  const pleg = `eventedPleg: ${size.eventedPleg !== false}`;
  const workload = small
    ? `{ nodes: ${size.nodes}, deployments: ${deployments}, replicas: ${replicas}, churnEveryMs: 0, podEvictionTimeoutMs: 3000, ${pleg} }`
    : `{ nodes: ${size.nodes}, deployments: ${deployments}, replicas: ${replicas}, churnEveryMs: 0, profile: realistic, nodeMonitorGraceMs: 40000, podEvictionTimeoutMs: 60000, ${pleg} }`;
  const crashAtMs = small ? 3_000 : 10_000;
  return [
    `name: bench-sim-${size.nodes}`,
    `description: a node crashes under ${pods} pods on ${size.nodes} nodes`,
    'cluster: { replicas: 3 }',
    'workload:',
    `  deployments: ${workload}`,
    '  services: { clients: 2, everyMs: 50 }',
    'nemesis:',
    `  - { atMs: ${crashAtMs}, fault: crash-node }`,
    `durationMs: ${size.durationMs}`,
    'checks:',
    `  - { check: converges, maxMs: ${small ? 20_000 : 120_000} }`,
    '  - no-double-bind',
    '  - single-active-scheduler',
    '  - single-active-controller-manager',
    '  - pod-startup',
    '  - api-latency',
    '',
  ].join('\n');
}
