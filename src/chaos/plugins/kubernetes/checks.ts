/**
 * Kubernetes-level checks. Each judge is a pure function of what the run
 * recorded (tests feed them broken records); the plugins below wrap them.
 *
 * - converges: every Deployment's desired replicas Running, on the current
 *   image, within a bound after the last fault, and staying so;
 * - no-double-bind: no pod (by uid) seen on two nodes;
 * - single-active-scheduler / single-active-controller-manager: no write
 *   (bind, controller write) by one replica while another was acting as
 *   leader, none outside the writer's own term, and never two replicas
 *   saying they lead at one sample;
 * - pod-startup: Kubernetes' pod startup SLO (p99 ≤ 5 s from creation to
 *   Running, as the watch sees it);
 * - api-latency: Kubernetes' API call latency SLO (p99 ≤ 1 s for single
 *   object calls, ≤ 30 s for lists; the scenario may tighten it);
 * - service-availability: the share of Service requests that succeeded and
 *   the longest gap between successes.
 */
import { describeActivityProblem, judgeLeaderActivity, type LeaderActivity } from '../../../client/leader-activity.js';
import { percentile } from '../../engine/checks.js';
import type { CheckPlugin, CheckResult, RequestRecord, RunData } from '../../engine/types.js';
import { longestGap } from '../../engine/figures.js';
import { judgeNoPdbViolation } from './disruption-checks.js';
import { judgeDaemonSetCoverage, judgeJobsComplete, judgeStatefulSetMembers } from './kind-checks.js';
import { kubeSink, sampleConverged, type KubeSample, type KubeSink, type PodBinding, type PodStartup } from './sink.js';

/** When the last fault ended (ms from the origin); 0 without faults. */
export function lastFaultEndMs(figures: RunData['figures']): number {
  return figures.reduce((m, f) => Math.max(m, f.healedAtMs ?? f.atMs), 0);
}

/**
 * The first moment from which every Deployment stayed converged (desired
 * replicas Running, all on the current image) through the final
 * observation, or undefined when the final observation is not converged.
 */
export function convergedSinceMs(sink: Pick<KubeSink, 'samples' | 'final'>): number | undefined {
  if (sink.final === undefined || !sink.final.converged) return undefined;
  let since = sink.final.atMs;
  for (let i = sink.samples.length - 1; i >= 0; i--) {
    const d = sink.samples[i]!.deployments;
    if (d === undefined) continue;
    if (!sampleConverged(d)) break;
    since = sink.samples[i]!.tMs;
  }
  return since;
}

export function judgeConverges(sink: Pick<KubeSink, 'samples' | 'final' | 'lastChangeMs'>, lastFaultMs: number, maxMs: number): CheckResult {
  const since = convergedSinceMs(sink);
  if (sink.final === undefined) return { name: 'converges', verdict: 'unknown', summary: 'no final observation of the Deployments' };
  if (since === undefined) {
    const off = Object.entries(sink.final.deployments).filter(([, s]) => s.running !== s.desired || s.runningCurrent !== s.desired);
    return { name: 'converges', verdict: 'fail', summary: `not converged at ${Math.round(sink.final.atMs)} ms: ${off.slice(0, 5).map(([n, s]) => `${n} ${s.runningCurrent}/${s.running} running (current/all) of ${s.desired}`).join(', ')}`, details: sink.final };
  }
  const afterMs = Math.max(0, since - lastFaultMs);
  const ok = afterMs <= maxMs;
  return {
    name: 'converges',
    verdict: ok ? 'pass' : 'fail',
    summary: `${Object.keys(sink.final.deployments).length} Deployments converged ${Math.round(afterMs)} ms after the last fault${sink.lastChangeMs > 0 ? ` (${Math.round(Math.max(0, since - sink.lastChangeMs))} ms after the last churn write)` : ''}${ok ? '' : `, more than ${maxMs} ms`}`,
    details: { convergedSinceMs: since, lastFaultMs, lastChangeMs: sink.lastChangeMs },
  };
}

export function judgeNoDoubleBind(bindings: PodBinding[]): CheckResult {
  const nodesByUid = new Map<string, Set<string>>();
  const podByUid = new Map<string, string>();
  for (const b of bindings) {
    nodesByUid.set(b.uid, (nodesByUid.get(b.uid) ?? new Set()).add(b.node));
    podByUid.set(b.uid, b.pod);
  }
  const doubles = [...nodesByUid].filter(([, nodes]) => nodes.size > 1);
  if (bindings.length === 0) return { name: 'no-double-bind', verdict: 'unknown', summary: 'no pod binding was watched' };
  return {
    name: 'no-double-bind',
    verdict: doubles.length === 0 ? 'pass' : 'fail',
    summary: doubles.length === 0
      ? `${nodesByUid.size} pods bound, each to one node`
      : `${doubles.length} pods bound to more than one node: ${doubles.slice(0, 5).map(([uid, n]) => `${podByUid.get(uid)} (${uid}) on ${[...n].join(', ')}`).join('; ')}`,
  };
}

/**
 * At most one active leader of a component: judged from its activity record
 * (every write inside its writer's own term, none inside another's active
 * span) and, as a second witness, from the samples (never two replicas
 * saying they lead at once).
 */
export function judgeSingleActive(
  name: string, what: string, activity: readonly LeaderActivity[], samples: readonly KubeSample[], leadersOf: (s: KubeSample) => string[],
): CheckResult {
  const judged = judgeLeaderActivity(activity);
  const many = samples.filter((s) => leadersOf(s).length > 1);
  const none = samples.filter((s) => leadersOf(s).length === 0).length;
  if (judged.terms.length === 0 && samples.length === 0) return { name, verdict: 'unknown', summary: `no ${what} activity recorded and no samples` };
  const problems = judged.problems.map(describeActivityProblem);
  if (many.length > 0) problems.push(`${many.length} samples with several ${what}s saying they lead, first at ${Math.round(many[0]!.tMs)} ms: ${leadersOf(many[0]!).join(', ')}`);
  return {
    name,
    verdict: problems.length === 0 ? 'pass' : 'fail',
    summary: problems.length === 0
      ? `${judged.terms.length} leader terms, ${judged.writes} writes, each inside its writer's term and no other's; ${samples.length} samples, never two leading (${none} with none)`
      : `${problems.length} problems: ${problems.slice(0, 5).join('; ')}`,
    details: { terms: judged.terms, problems: judged.problems.slice(0, 100) },
  };
}

/** Kubernetes' pod startup SLO: p99 ≤ 5 s (stateless pods, images pre-pulled). */
export const POD_STARTUP_SLO_P99_MS = 5_000;

export function judgePodStartup(startups: readonly PodStartup[], p99MaxMs: number): CheckResult {
  const ran = startups.filter((s) => s.runningMs !== undefined).map((s) => ({ pod: s.pod, ms: s.runningMs! - s.createdMs }));
  if (ran.length === 0) return { name: 'pod-startup', verdict: 'unknown', summary: 'no pod was seen Running' };
  const ms = ran.map((r) => r.ms);
  const p50 = percentile(ms, 50)!;
  const p99 = percentile(ms, 99)!;
  const slowest = ran.reduce((a, b) => (b.ms > a.ms ? b : a));
  const ok = p99 <= p99MaxMs;
  return {
    name: 'pod-startup',
    verdict: ok ? 'pass' : 'fail',
    summary: `${ran.length} pods started: p50 ${Math.round(p50)} ms, p99 ${Math.round(p99)} ms ${ok ? '≤' : '>'} ${p99MaxMs} ms; slowest ${slowest.pod} ${Math.round(slowest.ms)} ms${startups.length > ran.length ? `; ${startups.length - ran.length} never ran` : ''}`,
    details: { pods: ran.length, p50Ms: p50, p99Ms: p99, maxMs: slowest.ms, neverRan: startups.length - ran.length },
  };
}

/** Kubernetes' API call latency SLO: p99 ≤ 1 s for calls on one object, ≤ 30 s for lists (cluster-scoped; 5 s namespaced). */
export const API_SLO_P99_MS = 1_000;
export const API_LIST_SLO_P99_MS = 30_000;

export function judgeApiLatency(requests: readonly RequestRecord[], p99MaxMs: number, listP99MaxMs: number): CheckResult {
  const api = requests.filter((r) => r.kind === 'api');
  if (api.length === 0) return { name: 'api-latency', verdict: 'unknown', summary: 'no API call was recorded' };
  const lines: string[] = [];
  let ok = true;
  const details: Record<string, unknown> = {};
  for (const [cls, bound] of [['mutating', p99MaxMs], ['read', p99MaxMs], ['list', listP99MaxMs]] as const) {
    const calls = api.filter((r) => r.class === cls);
    if (calls.length === 0) continue;
    const ms = calls.map((r) => r.completeMs - r.invokeMs);
    const p99 = percentile(ms, 99)!;
    const failed = calls.filter((r) => !r.ok).length;
    if (p99 > bound) ok = false;
    details[cls] = { calls: calls.length, failed, p50Ms: percentile(ms, 50), p99Ms: p99, boundMs: bound };
    lines.push(`${cls} ${calls.length} calls p99 ${Math.round(p99)} ms ${p99 > bound ? '>' : '≤'} ${bound} ms${failed > 0 ? ` (${failed} failed)` : ''}`);
  }
  return { name: 'api-latency', verdict: ok ? 'pass' : 'fail', summary: lines.join('; '), details };
}

export function judgeServiceAvailability(requests: readonly RequestRecord[], endMs: number, minSuccess: number, maxGapMs: number | undefined): CheckResult {
  const service = requests.filter((r) => r.kind === 'service');
  if (service.length === 0) return { name: 'service-availability', verdict: 'unknown', summary: 'no Service request was recorded: add `workload: { services: {} }` after deployments' };
  const ok = service.filter((r) => r.ok);
  const share = ok.length / service.length;
  const gap = longestGap(ok.map((r) => r.completeMs).sort((a, b) => a - b), 0, endMs) ?? 0;
  const problems: string[] = [];
  if (share < minSuccess) problems.push(`${(share * 100).toFixed(2)}% succeeded, below ${(minSuccess * 100).toFixed(2)}%`);
  if (maxGapMs !== undefined && gap > maxGapMs) problems.push(`the longest gap without a successful request was ${Math.round(gap)} ms, more than ${maxGapMs} ms`);
  const firstFailure = service.find((r) => !r.ok);
  return {
    name: 'service-availability',
    verdict: problems.length === 0 ? 'pass' : 'fail',
    summary: `${service.length} requests, ${ok.length} succeeded (${(share * 100).toFixed(2)}%), longest gap ${Math.round(gap)} ms${problems.length > 0 ? `: ${problems.join('; ')}` : ''}${firstFailure !== undefined ? `; first failure at ${Math.round(firstFailure.invokeMs)} ms: ${firstFailure.error ?? 'failed'}` : ''}`,
    details: { requests: service.length, succeeded: ok.length, longestGapMs: gap },
  };
}

const notRun = (name: string): CheckResult => ({ name, verdict: 'unknown', summary: 'the deployments workload did not run: add `workload: { deployments: {} }` to the scenario' });

export function kubeChecks(): CheckPlugin[] {
  const sinkOf = (data: RunData): KubeSink | undefined => {
    const sink = kubeSink(data.state);
    return sink.schedulers.length === 0 ? undefined : sink;
  };
  const withSink = (name: string, judge: (sink: KubeSink, data: RunData, params: Record<string, unknown>) => CheckResult) => async (data: RunData, params: Record<string, unknown>): Promise<CheckResult> => {
    const sink = sinkOf(data);
    return sink === undefined ? notRun(name) : judge(sink, data, params);
  };
  const activityOf = (sink: KubeSink, component: string): LeaderActivity[] => sink.activity.filter((a) => a.component === component);
  return [
    {
      name: 'converges',
      description: 'every Deployment has its desired replicas Running (on its current image) within maxMs after the last fault ended, and stays so',
      schema: { properties: { maxMs: { type: 'number', minimum: 0, description: 'default 30000' } } },
      run: withSink('converges', (sink, data, p) => judgeConverges(sink, lastFaultEndMs(data.figures), (p.maxMs as number | undefined) ?? 30_000)),
    },
    {
      name: 'no-double-bind',
      description: 'no pod (by uid) was ever seen bound to two nodes, from the pods watch',
      schema: { properties: {} },
      run: withSink('no-double-bind', (sink) => judgeNoDoubleBind(sink.bindings)),
    },
    {
      name: 'single-active-scheduler',
      description: 'no bind by one scheduler while another was acting as leader or outside its own lease term, and never two saying they lead at one sample',
      schema: { properties: {} },
      run: withSink('single-active-scheduler', (sink) => judgeSingleActive('single-active-scheduler', 'scheduler', activityOf(sink, 'kube-scheduler'), sink.samples, (s) => s.schedulerLeaders)),
    },
    {
      name: 'single-active-controller-manager',
      description: 'no controller write by one controller-manager while another was acting as leader or outside its own lease term, and never two saying they lead at one sample',
      schema: { properties: {} },
      run: withSink('single-active-controller-manager', (sink) => judgeSingleActive('single-active-controller-manager', 'controller-manager', activityOf(sink, 'kube-controller-manager'), sink.samples, (s) => s.controllerManagerLeaders)),
    },
    {
      name: 'pod-startup',
      description: 'pod startup p99 (creation to Running, as the pods watch sees it) within p99Ms: Kubernetes\' SLO is 5 s',
      schema: { properties: { p99Ms: { type: 'number', minimum: 0, description: `default ${POD_STARTUP_SLO_P99_MS}` } } },
      run: withSink('pod-startup', (sink, _data, p) => judgePodStartup(sink.startups, (p.p99Ms as number | undefined) ?? POD_STARTUP_SLO_P99_MS)),
    },
    {
      name: 'api-latency',
      description: 'p99 latency of the workload\'s API calls on one object (mutating and read) within p99Ms, of lists within listP99Ms: Kubernetes\' SLOs are 1 s and 30 s',
      schema: {
        properties: {
          p99Ms: { type: 'number', minimum: 0, description: `default ${API_SLO_P99_MS}` },
          listP99Ms: { type: 'number', minimum: 0, description: `default ${API_LIST_SLO_P99_MS}` },
        },
      },
      run: withSink('api-latency', (_sink, data, p) => judgeApiLatency(data.requests, (p.p99Ms as number | undefined) ?? API_SLO_P99_MS, (p.listP99Ms as number | undefined) ?? API_LIST_SLO_P99_MS)),
    },
    {
      name: 'no-pdb-violation',
      description: 'no pod a drain took away (evicted, or deleted by a broken drain) left a PodDisruptionBudget with fewer healthy pods than it keeps, judged from the watched pod health at each disruption',
      schema: { properties: { watchLagMs: { type: 'number', minimum: 0, description: 'a pod the watch shows turning healthy this soon after a disruption counts as healthy at it (default 0)' } } },
      run: withSink('no-pdb-violation', (sink, _data, p) => judgeNoPdbViolation(sink.budgets, sink.health, sink.disruptions, (p.watchLagMs as number | undefined) ?? 0)),
    },
    {
      name: 'statefulset-members',
      description: 'every StatefulSet has each member name-0..name-(N-1) Running and Ready under its own name (and no other pod) within maxMs after the last fault',
      schema: { properties: { maxMs: { type: 'number', minimum: 0, description: 'default 30000' } } },
      run: withSink('statefulset-members', (sink, data, p) => judgeStatefulSetMembers(sink.statefulsetFinal, lastFaultEndMs(data.figures), (p.maxMs as number | undefined) ?? 30_000)),
    },
    {
      name: 'daemonset-coverage',
      description: 'every DaemonSet has exactly one Ready pod on each live node within maxMs after the last fault',
      schema: { properties: { maxMs: { type: 'number', minimum: 0, description: 'default 30000' } } },
      run: withSink('daemonset-coverage', (sink, data, p) => judgeDaemonSetCoverage(sink.daemonsetFinal, lastFaultEndMs(data.figures), (p.maxMs as number | undefined) ?? 30_000)),
    },
    {
      name: 'jobs-complete',
      description: 'every Job is Complete (none Failed) within maxMs after the last fault',
      schema: { properties: { maxMs: { type: 'number', minimum: 0, description: 'default 30000' } } },
      run: withSink('jobs-complete', (sink, data, p) => judgeJobsComplete(sink.jobFinal, lastFaultEndMs(data.figures), (p.maxMs as number | undefined) ?? 30_000)),
    },
    {
      name: 'service-availability',
      description: 'at least minSuccess of the Service requests succeeded, and (with maxGapMs) no gap between successful requests longer than maxGapMs',
      schema: {
        properties: {
          minSuccess: { type: 'number', minimum: 0, maximum: 1, description: 'default 0.99' },
          maxGapMs: { type: 'number', minimum: 0, description: 'default: not checked' },
        },
      },
      run: async (data, p) => judgeServiceAvailability(data.requests, data.scenario.durationMs, (p.minSuccess as number | undefined) ?? 0.99, p.maxGapMs as number | undefined),
    },
  ];
}
