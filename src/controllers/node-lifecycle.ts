/**
 * The node lifecycle controller (Kubernetes' nodelifecycle with its taint
 * manager). Every monitor period it looks at each node's heartbeats — its
 * Lease in kube-node-lease and its Ready condition — as this controller
 * observed them on its own clock. A node silent for longer than
 * nodeMonitorGracePeriod gets its conditions set to Unknown ("Kubelet
 * stopped posting node status."), its pods marked not Ready, and the
 * `node.kubernetes.io/unreachable` taints (NoSchedule and NoExecute); a node
 * that reports Ready=False gets the `not-ready` ones. Pods on a node with a
 * NoExecute taint are evicted when their toleration runs out: at once
 * without a toleration, after tolerationSeconds with one, never with one
 * that has no seconds. Pods without an explicit not-ready / unreachable
 * toleration get Kubernetes' DefaultTolerationSeconds (300 s), as its
 * admission plugin would have added. Toleration seconds are scaled by the
 * cluster's time profile (podEvictionTimeoutMs / 300 s).
 */
import type { Lease, Node, NodeCondition, Pod, Taint, Toleration } from '../api/types/index.js';
import { INDEX_NODE_NAME, NODES, PODS, isConflict, isNotFound, type Clock, type Informer } from '../client/index.js';
import { formatTime, isDeleting, parseTime, type ControllerApi, type EventRecorder } from './common.js';
import type { Logger } from './runtime.js';

export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
/** Kubernetes' DefaultTolerationSeconds admission default. */
export const DEFAULT_TOLERATION_SECONDS = 300;
/** Kubernetes' node-monitor-period (5 s) is a tenth of the grace period (50 s); we keep the ratio under every time profile. */
export const MONITOR_PERIODS_PER_GRACE = 10;
/** Evictions per monitor pass: a zone-wide outage must not turn into a flood of deletes at once (Kubernetes rate-limits at 0.1/s per zone). */
export const EVICTIONS_PER_PASS_MAX = 100;
const CONDITIONS_SET_UNKNOWN = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'];

export interface NodeLifecycleOptions {
  api: ControllerApi;
  clock: Clock;
  nodes: Informer<Node>;
  leases: Informer<Lease>;
  pods: Informer<Pod>;
  recorder: EventRecorder;
  nodeMonitorGraceMs: number;
  podEvictionTimeoutMs: number;
  log?: Logger;
}

interface Health {
  /** What we last saw of the node's heartbeats; a change is a probe. */
  leaseRenewTime: string;
  readyHeartbeat: string;
  /** Local time of the last probe (Kubernetes judges on its own clock, never on timestamps written by the kubelet). */
  probeMs: number;
}

export class NodeLifecycleController {
  private readonly health = new Map<string, Health>();
  private running = false;
  private readonly periodMs: number;
  private readonly tolerationScale: number;
  readonly stats = { passes: 0, markedUnknown: 0, evictions: 0 };

  constructor(private readonly options: NodeLifecycleOptions) {
    if (!(options.nodeMonitorGraceMs > 0) || !(options.podEvictionTimeoutMs > 0)) throw new Error('node lifecycle: nodeMonitorGraceMs and podEvictionTimeoutMs must be positive');
    this.periodMs = options.nodeMonitorGraceMs / MONITOR_PERIODS_PER_GRACE;
    this.tolerationScale = options.podEvictionTimeoutMs / (DEFAULT_TOLERATION_SECONDS * 1000);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule();
  }

  stop(): void {
    this.running = false;
    this.options.clock.cancelTimer('node-lifecycle/monitor');
  }

  private schedule(): void {
    this.options.clock.timer('node-lifecycle/monitor', this.periodMs, () => {
      if (!this.running) return;
      this.monitor().catch((error: unknown) => this.options.log?.warn({ err: error instanceof Error ? error.message : String(error) }, 'node monitor pass failed'))
        .finally(() => {
          if (this.running) this.schedule();
        });
    });
  }

  /** One pass: update health, conditions and taints of every node, then evict what no longer tolerates its node. */
  async monitor(): Promise<void> {
    this.stats.passes++;
    const nowMs = this.options.clock.now();
    const seen = new Set<string>();
    for (const node of this.options.nodes.store.list()) {
      const name = node.metadata.name!;
      seen.add(name);
      const health = this.observe(node, nowMs);
      const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
      let current = node;
      if (nowMs - health.probeMs > this.options.nodeMonitorGraceMs && ready?.status !== 'Unknown') {
        current = await this.markUnknown(node, nowMs);
      }
      current = await this.syncTaints(current, nowMs);
      await this.evict(current, nowMs);
    }
    for (const name of [...this.health.keys()]) if (!seen.has(name)) this.health.delete(name);
  }

  private observe(node: Node, nowMs: number): Health {
    const name = node.metadata.name!;
    const lease = this.options.leases.store.get(`kube-node-lease/${name}`);
    const leaseRenewTime = lease?.spec?.renewTime ?? '';
    const readyHeartbeat = node.status?.conditions?.find((c) => c.type === 'Ready')?.lastHeartbeatTime ?? '';
    const previous = this.health.get(name);
    if (previous === undefined || previous.leaseRenewTime !== leaseRenewTime || previous.readyHeartbeat !== readyHeartbeat) {
      const health = { leaseRenewTime, readyHeartbeat, probeMs: nowMs };
      this.health.set(name, health);
      return health;
    }
    return previous;
  }

  private async markUnknown(node: Node, nowMs: number): Promise<Node> {
    const conditions: NodeCondition[] = [...(node.status?.conditions ?? [])];
    for (const type of CONDITIONS_SET_UNKNOWN) {
      const i = conditions.findIndex((c) => c.type === type);
      const next: NodeCondition = {
        ...(i >= 0 ? conditions[i]! : { type }), type, status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.',
        lastTransitionTime: formatTime(nowMs),
      };
      if (i >= 0) conditions[i] = next;
      else conditions.push(next);
    }
    let updated: Node;
    try {
      updated = await this.options.api.updateStatus(NODES, { ...node, status: { ...(node.status ?? {}), conditions } });
    } catch (error) {
      if (isConflict(error) || isNotFound(error)) return node; // the kubelet wrote meanwhile, or the node went: next pass
      throw error;
    }
    this.stats.markedUnknown++;
    this.options.recorder.normal({ ...node, apiVersion: 'v1', kind: 'Node' }, 'NodeNotReady', `Node ${node.metadata.name} status is now: NodeNotReady`);
    await this.markPodsNotReady(node.metadata.name!, nowMs);
    return updated;
  }

  /** The node's pods stop counting as ready endpoints (Kubernetes' MarkPodsNotReady). */
  private async markPodsNotReady(nodeName: string, nowMs: number): Promise<void> {
    for (const pod of this.options.pods.store.byIndex(INDEX_NODE_NAME, nodeName)) {
      const conditions = pod.status?.conditions ?? [];
      const ready = conditions.find((c) => c.type === 'Ready');
      if (ready === undefined || ready.status === 'False') continue;
      const next = conditions.map((c) => (c.type === 'Ready' ? { ...c, status: 'False' as const, lastTransitionTime: formatTime(nowMs) } : c));
      try {
        await this.options.api.updateStatus(PODS, { ...pod, status: { ...(pod.status ?? {}), conditions: next } });
      } catch (error) {
        if (!isConflict(error) && !isNotFound(error)) throw error;
      }
    }
  }

  private async syncTaints(node: Node, nowMs: number): Promise<Node> {
    const ready = node.status?.conditions?.find((c) => c.type === 'Ready')?.status;
    const wanted = ready === 'Unknown' ? TAINT_UNREACHABLE : ready === 'False' ? TAINT_NOT_READY : undefined;
    const taints = node.spec?.taints ?? [];
    const ours = (t: Taint) => t.key === TAINT_UNREACHABLE || t.key === TAINT_NOT_READY;
    const kept = taints.filter((t) => !ours(t) || t.key === wanted);
    const next = [...kept];
    for (const effect of ['NoSchedule', 'NoExecute'] as const) {
      if (wanted !== undefined && !kept.some((t) => t.key === wanted && t.effect === effect)) next.push({ key: wanted, effect, timeAdded: formatTime(nowMs) });
    }
    if (next.length === taints.length && next.every((t, i) => t === taints[i])) return node;
    try {
      return await this.options.api.update(NODES, { ...node, spec: { ...(node.spec ?? {}), taints: next.length > 0 ? next : undefined } });
    } catch (error) {
      if (isConflict(error) || isNotFound(error)) return node;
      throw error;
    }
  }

  private async evict(node: Node, nowMs: number): Promise<void> {
    const noExecute = (node.spec?.taints ?? []).filter((t) => t.effect === 'NoExecute');
    if (noExecute.length === 0) return;
    let evicted = 0;
    for (const pod of this.options.pods.store.byIndex(INDEX_NODE_NAME, node.metadata.name!)) {
      if (isDeleting(pod) || evicted >= EVICTIONS_PER_PASS_MAX) continue;
      const dueMs = this.evictionDueMs(pod, noExecute);
      if (dueMs === undefined || dueMs > nowMs) continue;
      try {
        await this.options.api.delete(PODS, pod.metadata.namespace, pod.metadata.name!, { preconditions: { uid: pod.metadata.uid } });
        evicted++;
        this.stats.evictions++;
        this.options.recorder.normal({ ...pod, apiVersion: 'v1', kind: 'Pod' }, 'TaintManagerEviction', `Marking for deletion Pod ${pod.metadata.namespace}/${pod.metadata.name}`);
      } catch (error) {
        if (!isNotFound(error) && !isConflict(error)) throw error;
      }
    }
  }

  /** When the pod must go, given the node's NoExecute taints; undefined when it tolerates them forever. */
  evictionDueMs(pod: Pod, taints: Taint[]): number | undefined {
    let due: number | undefined;
    let forever = true;
    for (const taint of taints) {
      const addedMs = parseTime(taint.timeAdded) ?? this.options.clock.now();
      const toleration = (pod.spec?.tolerations ?? []).find((t) => tolerates(t, taint));
      let seconds: number | undefined;
      if (toleration !== undefined) seconds = toleration.tolerationSeconds;
      else if (taint.key === TAINT_UNREACHABLE || taint.key === TAINT_NOT_READY) seconds = DEFAULT_TOLERATION_SECONDS;
      else return addedMs; // not tolerated at all: now
      if (seconds === undefined) continue; // tolerated forever
      forever = false;
      const at = addedMs + Math.max(0, seconds) * 1000 * this.tolerationScale;
      due = due === undefined ? at : Math.min(due, at);
    }
    return forever ? undefined : due;
  }
}

/** Kubernetes' Toleration.ToleratesTaint. */
export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect !== undefined && t.effect !== '' as string && t.effect !== taint.effect) return false;
  if (t.operator === 'Exists') return t.key === undefined || t.key === '' || t.key === taint.key;
  return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
}
