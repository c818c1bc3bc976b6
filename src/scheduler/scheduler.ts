/**
 * The scheduler's run loop: informers feed a cache of nodes and assigned
 * pods and the scheduling queue of pending pods; one cycle at a time, a pod
 * is popped, `scheduleOne` decides on a snapshot, the pod is assumed on its
 * node (so the next cycle already counts it) and bound asynchronously
 * through the Binder. Events go through the EventRecorder, worded as
 * Kubernetes writes them. Works against the API server through these
 * interfaces; tests run it against the in-memory fake on virtual time.
 */
import { secondsBetween } from '../metrics/index.js';
import type { AttemptResult, SchedulerMetricsSink } from './metrics.js';
import type { Node, Pod } from '../api/types/index.js';
import type { Clock } from '../client/clock.js';
import type { Informer } from '../client/informer.js';
import type { DisruptionBudgetCheck, Framework } from './framework.js';
import { Nominator } from './nominator.js';
import { DEFAULT_PREEMPTION } from './plugins/default-preemption.js';
import { buildProfile, DEFAULT_SCHEDULER_NAME, type SchedulerProfileConfig } from './profile.js';
import { SchedulingQueue, type ClusterEvent, type QueuedPodInfo } from './queue.js';
import { scheduledMessage, scheduleOne } from './schedule-one.js';
import { holdsResources, NodeInfo, podKey, podPriority, type Snapshot } from './types.js';

/** POST pods/{name}/binding. Rejects when the API refuses (the pod is then retried with backoff). */
export interface Binder {
  bind(pod: Pod, nodeName: string): Promise<void>;
}

/** Writes core/v1 Events (a recorder may aggregate repeats into `count`, as client-go's does). */
export interface EventRecorder {
  event(pod: Pod, type: 'Normal' | 'Warning', reason: 'Scheduled' | 'FailedScheduling' | 'Preempted', message: string): void;
}

/** The writes preemption makes. Rejections are logged by the caller's catch and retried by the next cycle. */
export interface Preemptor {
  /** Writes `status.nominatedNodeName`; null clears it. */
  setNominatedNodeName(pod: Pod, nodeName: string | null): Promise<void>;
  /** Adds the DisruptionTarget condition (reason PreemptionByScheduler) to the victim, then deletes it with its grace period. */
  evict(victim: Pod, preemptor: Pod): Promise<void>;
}

export interface SchedulerOptions {
  clock: Clock;
  podInformer: Informer<Pod>;
  nodeInformer: Informer<Node>;
  binder: Binder;
  recorder: EventRecorder;
  profile?: SchedulerProfileConfig;
  /** Leader election's `isLeader`; a standby schedules nothing. Default: always leader. */
  isLeader?: () => boolean;
  /** Without it, DefaultPreemption is off (nothing could carry its decisions out). */
  preemptor?: Preemptor;
  /** Which victims an eviction would take below a PodDisruptionBudget; default: no budgets. */
  violatesDisruptionBudget?: DisruptionBudgetCheck;
  /** Where attempts are counted and timed (scheduler_* series). */
  metrics?: SchedulerMetricsSink;
  /**
   * Lets the rest of the thread run (messages that arrived, due timers) and resolves after. The loop calls it
   * once a stretch of back-to-back cycles has run `SCHEDULER_TURN_BUDGET_MS` by `clock`. Without it the loop
   * never gives way (tests with a virtual clock, where a turn takes no time anyway).
   */
  yieldTurn?: () => Promise<void>;
}

export interface SchedulerStats {
  cycles: number;
  scheduled: number;
  unschedulable: number;
  bindFailures: number;
  /** Cycles that nominated a node and evicted victims. */
  preemptions: number;
  victims: number;
  /** Times the loop gave the thread way after a stretch of `SCHEDULER_TURN_BUDGET_MS` (`yieldTurn`). */
  turnsYielded: number;
}

/** Nodes and assigned pods, with pods this scheduler has assumed (bound in flight) already counted. */
export class SchedulerCache {
  private readonly byName = new Map<string, NodeInfo>();
  private nodesView: NodeInfo[] | undefined;
  /** pod key -> node it is counted on. */
  private readonly podNode = new Map<string, string>();
  /** Pods counted only because we are binding them; dropped if the bind fails. */
  private readonly assumed = new Set<string>();
  /** Assigned pods whose node the cache does not know yet. */
  private readonly orphans = new Map<string, Pod>();

  /** Nodes hosting pods with affinity, and with required anti-affinity; rebuilt only after such a pod or a node came or went. */
  private affinityViews: { withAffinity: NodeInfo[]; withRequiredAntiAffinity: NodeInfo[] } | undefined;

  snapshot(): Snapshot {
    this.nodesView ??= [...this.byName.values()];
    return {
      nodes: this.nodesView,
      byName: this.byName,
      havePodsWithAffinity: () => this.views().withAffinity,
      havePodsWithRequiredAntiAffinity: () => this.views().withRequiredAntiAffinity,
    };
  }

  // Most clusters have no pod with affinity: InterPodAffinity then looks at no node instead of every node, every cycle.
  private views(): { withAffinity: NodeInfo[]; withRequiredAntiAffinity: NodeInfo[] } {
    if (this.affinityViews === undefined) {
      const withAffinity: NodeInfo[] = [];
      const withRequiredAntiAffinity: NodeInfo[] = [];
      for (const info of this.byName.values()) {
        if (info.podsWithAffinity.size > 0) withAffinity.push(info);
        if (info.podsWithRequiredAntiAffinity.size > 0) withRequiredAntiAffinity.push(info);
      }
      this.affinityViews = { withAffinity, withRequiredAntiAffinity };
    }
    return this.affinityViews;
  }

  upsertNode(node: Node): void {
    const name = node.metadata.name!;
    const existing = this.byName.get(name);
    if (existing !== undefined) {
      existing.setNode(node);
      return;
    }
    const info = new NodeInfo(node);
    this.byName.set(name, info);
    this.nodesView = undefined;
    this.affinityViews = undefined;
    for (const [key, pod] of this.orphans) {
      if (pod.spec?.nodeName !== name) continue;
      this.orphans.delete(key);
      this.upsertPod(pod);
    }
  }

  deleteNode(name: string): void {
    const info = this.byName.get(name);
    if (info === undefined) return;
    for (const [key, pod] of info.pods) {
      this.podNode.delete(key);
      this.assumed.delete(key);
      this.orphans.set(key, pod);
    }
    this.byName.delete(name);
    this.nodesView = undefined;
    this.affinityViews = undefined;
  }

  /** An assigned, running pod as the informer reports it (confirms an assumed pod). */
  upsertPod(pod: Pod): void {
    const key = podKey(pod);
    this.removePod(key);
    if (!holdsResources(pod)) return;
    const info = this.byName.get(pod.spec!.nodeName!);
    if (info === undefined) {
      this.orphans.set(key, pod);
      return;
    }
    info.addPod(pod);
    this.podNode.set(key, info.name);
    if (info.podsWithAffinity.has(key)) this.affinityViews = undefined;
  }

  removePod(key: string): void {
    this.orphans.delete(key);
    this.assumed.delete(key);
    const nodeName = this.podNode.get(key);
    if (nodeName === undefined) return;
    this.podNode.delete(key);
    const info = this.byName.get(nodeName);
    if (info?.podsWithAffinity.has(key)) this.affinityViews = undefined;
    info?.removePod(key);
  }

  assume(pod: Pod, nodeName: string): void {
    const assumedPod: Pod = { ...pod, spec: { ...pod.spec!, nodeName } };
    this.upsertPod(assumedPod);
    this.assumed.add(podKey(pod));
  }

  forget(key: string): void {
    if (this.assumed.has(key)) this.removePod(key);
  }

  isAssumed(key: string): boolean {
    return this.assumed.has(key);
  }
}

/** client-go polls informers' hasSynced every 100 ms. */
export const CACHE_SYNC_POLL_MS = 100;
/** How often a standby looks again whether it leads (its elector retries far less often: 2 s, 200 ms in the fast profile). */
export const LEADERSHIP_POLL_MS = 100;
/**
 * The longest stretch of scheduling cycles the loop runs without giving way. kube-scheduler's loop is one
 * goroutine among many: the lease renewal, the informers' handlers and the binding goroutines run beside it
 * however long the queue is. Ours shares the actor's thread with them, and a popped pod is a resolved promise
 * while the queue is not empty, so without a bound a backlog of thousands is scheduled in one turn: at 5,000
 * nodes x 100,000 pods the thread once went 7.8 s without a timer or a message. 50 ms, not less: with 5 ms the
 * binds left in many small frames and a 1,000-node burst ran slower on a quiet machine (docs/performance.md).
 * On a virtual clock a turn takes no time and the loop never gives way: simulated runs keep their traces.
 */
export const SCHEDULER_TURN_BUDGET_MS = 50;

export class Scheduler {
  readonly cache = new SchedulerCache();
  readonly queue: SchedulingQueue;
  readonly framework: Framework;
  readonly schedulerName: string;
  readonly stats: SchedulerStats = { cycles: 0, scheduled: 0, unschedulable: 0, bindFailures: 0, preemptions: 0, victims: 0, turnsYielded: 0 };
  readonly nominator = new Nominator();
  private nextStartNodeIndex = 0;
  private running = false;
  private loop: Promise<void> | undefined;

  constructor(private readonly options: SchedulerOptions) {
    const profile = options.profile ?? {};
    this.framework = buildProfile(options.preemptor !== undefined ? profile : { ...profile, disabled: [...(profile.disabled ?? []), DEFAULT_PREEMPTION] });
    this.schedulerName = options.profile?.schedulerName ?? DEFAULT_SCHEDULER_NAME;
    this.queue = new SchedulingQueue({ clock: options.clock, name: this.schedulerName });
    this.wireInformers();
  }

  private isOurs(pod: Pod): boolean {
    return (pod.spec?.schedulerName ?? DEFAULT_SCHEDULER_NAME) === this.schedulerName;
  }

  /** Unassigned, ours, alive, and not already being bound by us (the informer may still show it unbound). */
  private isPending(pod: Pod): boolean {
    return (pod.spec?.nodeName ?? '') === '' && !this.cache.isAssumed(podKey(pod)) && pod.metadata.deletionTimestamp === undefined && this.isOurs(pod)
      && pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed';
  }

  private wireInformers(): void {
    const { podInformer, nodeInformer } = this.options;
    const clusterEvent = (event: ClusterEvent): void => this.queue.onEvent(event);
    nodeInformer.addEventHandler({
      onAdd: (node) => { this.cache.upsertNode(node); clusterEvent('NodeAdd'); },
      onUpdate: (_old, node) => { this.cache.upsertNode(node); clusterEvent('NodeUpdate'); },
      onDelete: (node) => this.cache.deleteNode(node.metadata.name!),
    });
    podInformer.addEventHandler({
      onAdd: (pod) => {
        if ((pod.spec?.nodeName ?? '') !== '') { this.cache.upsertPod(pod); clusterEvent('AssignedPodAdd'); }
        else if (this.isPending(pod)) {
          this.noteNomination(pod);
          this.queue.add(pod);
        }
      },
      onUpdate: (old, pod) => {
        const key = podKey(pod);
        if ((pod.spec?.nodeName ?? '') !== '') {
          this.nominator.delete(key);
          this.queue.delete(key);
          this.cache.upsertPod(pod);
          clusterEvent((old.spec?.nodeName ?? '') === '' ? 'AssignedPodAdd' : 'AssignedPodUpdate');
        } else if (this.isPending(pod)) {
          this.noteNomination(pod);
          this.queue.update(pod);
        } else {
          this.nominator.delete(key);
          this.queue.delete(key);
        }
      },
      onDelete: (pod) => {
        const key = podKey(pod);
        this.nominator.delete(key);
        this.queue.delete(key);
        if ((pod.spec?.nodeName ?? '') !== '' || this.cache.isAssumed(key)) {
          this.cache.removePod(key);
          clusterEvent('AssignedPodDelete');
        }
      },
    });
  }

  /** A pending pod's `status.nominatedNodeName` (another replica's decision) counts; our own pending write is not undone by an older object. */
  private noteNomination(pod: Pod): void {
    const nominated = pod.status?.nominatedNodeName;
    if (nominated) this.nominator.set(pod, nominated);
    else this.nominator.refresh(pod);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.queue.close();
    await this.loop;
  }

  /** As client-go's WaitForCacheSync: decisions on a half-listed cluster would be wrong, so wait for both first lists. */
  private waitForCacheSync(): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (!this.running || (this.options.podInformer.hasSynced() && this.options.nodeInformer.hasSynced())) resolve();
        else this.options.clock.timer(`scheduler/${this.schedulerName}/cache-sync`, CACHE_SYNC_POLL_MS, check);
      };
      check();
    });
  }

  private leading(): boolean {
    return this.options.isLeader?.() ?? true;
  }

  /** As kube-scheduler, whose scheduling loop runs only while it leads: a standby's queue fills from its informers and is not popped. */
  private waitUntilLeading(): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (!this.running || this.leading()) resolve();
        else this.options.clock.timer(`scheduler/${this.schedulerName}/leading`, LEADERSHIP_POLL_MS, check);
      };
      check();
    });
  }

  private async run(): Promise<void> {
    await this.waitForCacheSync();
    const clock = this.options.clock;
    let stretchStartMs = clock.now();
    while (this.running) {
      if (!this.leading()) {
        await this.waitUntilLeading();
        stretchStartMs = clock.now();
        continue;
      }
      const ready = this.queue.tryPop();
      // Awaited either way, as pop() is: what the last cycle queued (its bind's continuations) runs in between.
      const info = ready !== undefined ? await Promise.resolve(ready) : await this.queue.pop();
      if (info === undefined) return;
      // The queue was empty: the thread went idle until a pod came, and a new stretch starts now.
      if (ready === undefined) stretchStartMs = clock.now();
      this.scheduleCycle(info);
      if (this.options.yieldTurn !== undefined && clock.now() - stretchStartMs >= SCHEDULER_TURN_BUDGET_MS) {
        this.stats.turnsYielded++;
        await this.options.yieldTurn();
        stretchStartMs = clock.now();
      }
    }
  }

  /** One cycle; the bind it starts runs on while the next cycle begins, as in Kubernetes. */
  scheduleCycle(info: QueuedPodInfo): void {
    if (!this.leading()) {
      // Leadership ended while the pod was being popped: it waits, unattempted, for the next leader's cycle.
      this.queue.requeue(info);
      return;
    }
    let current = this.options.podInformer.store.get(info.key) ?? info.pod;
    if (!this.isPending(current)) {
      this.queue.done(info.key);
      return;
    }
    // Our own nomination counts before its status write is seen.
    const nominated = this.nominator.nodeOf(info.key);
    if (nominated !== undefined && current.status?.nominatedNodeName !== nominated) current = { ...current, status: { ...current.status, nominatedNodeName: nominated } };
    this.stats.cycles++;
    const startMs = this.options.clock.now();
    const result = scheduleOne(current, this.cache.snapshot(), this.framework, {
      random: () => this.options.clock.random(), startNodeIndex: this.nextStartNodeIndex,
      nominatedPods: (nodeName) => this.nominator.podsOn(nodeName), violatesDisruptionBudget: this.options.violatesDisruptionBudget,
    });
    switch (result.kind) {
      case 'scheduled': {
        this.nextStartNodeIndex = result.nextStartNodeIndex;
        this.nominator.delete(info.key);
        this.cache.assume(current, result.nodeName);
        void this.bind(info, current, result.nodeName, startMs);
        return;
      }
      case 'unschedulable':
        this.nextStartNodeIndex = result.nextStartNodeIndex;
        this.stats.unschedulable++;
        this.attempted('unschedulable', startMs);
        this.options.recorder.event(current, 'Warning', 'FailedScheduling', result.message);
        if (result.nominatedNodeName !== undefined) this.preempt(current, result.nominatedNodeName, result.victims ?? []);
        this.queue.addUnschedulable(info, result.unschedulablePlugins);
        return;
      case 'error':
        this.stats.unschedulable++;
        this.attempted('error', startMs);
        this.options.recorder.event(current, 'Warning', 'FailedScheduling', result.message);
        this.queue.addUnschedulable(info, new Set());
        return;
    }
  }

  /**
   * Carries out preemption's decision, as Kubernetes' prepareCandidate:
   * victims are marked and deleted, pods of lower priority nominated to the
   * same node lose their nomination, the preemptor is nominated. The writes
   * run on while the next cycle begins; the preemptor is retried when the
   * victims are gone. An empty node name clears the pod's nomination.
   */
  private preempt(pod: Pod, nodeName: string, victims: readonly Pod[]): void {
    const preemptor = this.options.preemptor;
    if (preemptor === undefined) return;
    const key = podKey(pod);
    const failed = (what: string) => (error: unknown) => this.options.recorder.event(pod, 'Warning', 'FailedScheduling', `${what}: ${error instanceof Error ? error.message : String(error)}`);
    if (nodeName === '') {
      if (this.nominator.nodeOf(key) === undefined && !pod.status?.nominatedNodeName) return;
      this.nominator.delete(key);
      preemptor.setNominatedNodeName(pod, null).catch(failed('clearing the nominated node'));
      return;
    }
    this.stats.preemptions++;
    for (const victim of victims) {
      this.stats.victims++;
      preemptor.evict(victim, pod).then(
        () => this.options.recorder.event(victim, 'Normal', 'Preempted', `Preempted by pod ${pod.metadata.uid ?? ''} on node ${nodeName}`),
        failed(`preempting ${podKey(victim)}`),
      );
    }
    const priority = podPriority(pod);
    for (const other of this.nominator.podsOn(nodeName)) {
      if (podKey(other) === key || podPriority(other) >= priority) continue;
      this.nominator.delete(podKey(other));
      preemptor.setNominatedNodeName(other, null).catch(failed(`clearing the nomination of ${podKey(other)}`));
    }
    this.nominator.set(pod, nodeName);
    preemptor.setNominatedNodeName(pod, nodeName).catch(failed('writing the nominated node'));
  }

  private attempted(result: AttemptResult, startMs: number): void {
    this.options.metrics?.attempted(result, secondsBetween(startMs, this.options.clock.now()));
  }

  private async bind(info: QueuedPodInfo, pod: Pod, nodeName: string, startMs: number): Promise<void> {
    try {
      await this.options.binder.bind(pod, nodeName);
    } catch (error) {
      this.stats.bindFailures++;
      this.attempted('error', startMs);
      this.cache.forget(info.key);
      this.options.recorder.event(pod, 'Warning', 'FailedScheduling', `Binding rejected: ${error instanceof Error ? error.message : String(error)}`);
      this.queue.addUnschedulable(info, undefined);
      return;
    }
    this.stats.scheduled++;
    this.attempted('scheduled', startMs);
    this.options.metrics?.podScheduled(info.attempts, secondsBetween(info.initialAttemptMs, this.options.clock.now()));
    this.queue.done(info.key);
    this.options.recorder.event(pod, 'Normal', 'Scheduled', scheduledMessage(pod, nodeName));
  }
}
