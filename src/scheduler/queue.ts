/**
 * The scheduling queue, as kube-scheduler's PriorityQueue:
 *
 * - activeQ: pods ready to be tried, highest priority first, then oldest;
 * - backoffQ: pods that failed recently and wait out a per-pod backoff
 *   (1 s doubling to 10 s per attempt);
 * - unschedulable: pods no node fits; they move back when a cluster event
 *   one of the plugins that rejected them cares about happens (a node added,
 *   a pod deleted...), or after 5 minutes in any case.
 *
 * A pod that fails in a cycle during which such an event arrived goes to
 * backoffQ rather than unschedulable, so the event is never lost
 * (Kubernetes' moveRequestCycle). Every pod is in at most one place.
 */
import type { Pod } from '../api/types/index.js';
import type { Clock } from '../client/clock.js';
import { INTER_POD_AFFINITY } from './plugins/inter-pod-affinity.js';
import { NODE_AFFINITY } from './plugins/node-affinity.js';
import { NODE_NAME } from './plugins/node-name.js';
import { NODE_RESOURCES_FIT } from './plugins/node-resources.js';
import { NODE_UNSCHEDULABLE } from './plugins/node-unschedulable.js';
import { TAINT_TOLERATION } from './plugins/taint-toleration.js';
import { POD_TOPOLOGY_SPREAD } from './plugins/pod-topology-spread.js';
import { podKey } from './types.js';

export type ClusterEvent = 'NodeAdd' | 'NodeUpdate' | 'AssignedPodAdd' | 'AssignedPodUpdate' | 'AssignedPodDelete' | 'UnschedulableTimeout';

/** Which events can make a pod rejected by each plugin fit (Kubernetes' EventsToRegister). */
export const PLUGIN_EVENTS: Readonly<Record<string, readonly ClusterEvent[]>> = Object.freeze({
  [NODE_UNSCHEDULABLE]: ['NodeAdd', 'NodeUpdate'],
  [NODE_NAME]: ['NodeAdd'],
  [TAINT_TOLERATION]: ['NodeAdd', 'NodeUpdate'],
  [NODE_AFFINITY]: ['NodeAdd', 'NodeUpdate'],
  [NODE_RESOURCES_FIT]: ['NodeAdd', 'NodeUpdate', 'AssignedPodUpdate', 'AssignedPodDelete'],
  [INTER_POD_AFFINITY]: ['NodeAdd', 'NodeUpdate', 'AssignedPodAdd', 'AssignedPodUpdate', 'AssignedPodDelete'],
  [POD_TOPOLOGY_SPREAD]: ['NodeAdd', 'NodeUpdate', 'AssignedPodAdd', 'AssignedPodUpdate', 'AssignedPodDelete'],
});

/** Kubernetes' podInitialBackoffSeconds and podMaxBackoffSeconds. */
export const POD_INITIAL_BACKOFF_MS = 1_000;
export const POD_MAX_BACKOFF_MS = 10_000;
/** Kubernetes' podMaxInUnschedulablePodsDuration: a pod no event has freed is retried after this anyway. */
export const POD_MAX_IN_UNSCHEDULABLE_MS = 5 * 60_000;
/** How often the leftover unschedulable pods are checked (Kubernetes: 30 s). */
export const UNSCHEDULABLE_FLUSH_PERIOD_MS = 30_000;

export interface QueuedPodInfo {
  pod: Pod;
  key: string;
  /** Scheduling attempts so far (the backoff doubles per attempt). */
  attempts: number;
  /** When the pod last entered the queue (orders equal priorities). */
  timestampMs: number;
  /** When the pod was first added (for latency: created -> bound). */
  initialAttemptMs: number;
  unschedulablePlugins: Set<string>;
  /** Set when popped: the move-request cycle at that moment. */
  schedulingCycle: number;
  /** When the pod entered unschedulable or backoff. */
  parkedAtMs: number;
}

function priorityOf(pod: Pod): number {
  return pod.spec?.priority ?? 0;
}

/** A binary heap ordered by `less`. */
class Heap<T> {
  private readonly items: T[] = [];
  constructor(private readonly less: (a: T, b: T) => boolean) {}
  get size(): number {
    return this.items.length;
  }
  push(item: T): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(a[i]!, a[parent]!)) break;
      [a[i], a[parent]] = [a[parent]!, a[i]!];
      i = parent;
    }
  }
  peek(): T | undefined {
    return this.items[0];
  }
  pop(): T | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l]!, a[m]!)) m = l;
        if (r < a.length && this.less(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

export interface SchedulingQueueOptions {
  clock: Clock;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  maxInUnschedulableMs?: number;
  /** Names the queue's timers on a shared clock. */
  name?: string;
}

type Place = 'active' | 'backoff' | 'unschedulable' | 'inFlight';

export class SchedulingQueue {
  private readonly active = new Heap<QueuedPodInfo>((a, b) => {
    const pa = priorityOf(a.pod);
    const pb = priorityOf(b.pod);
    return pa !== pb ? pa > pb : a.timestampMs < b.timestampMs;
  });
  private readonly backoff = new Heap<QueuedPodInfo>((a, b) => this.backoffExpiryMs(a) < this.backoffExpiryMs(b));
  private readonly unschedulable = new Map<string, QueuedPodInfo>();
  /** Where each known pod is; heap entries whose place no longer matches are stale and skipped on pop. */
  private readonly place = new Map<string, { place: Place; info: QueuedPodInfo }>();
  private moveRequestCycle = -1;
  private schedulingCycle = 0;
  private readonly waiters: ((info: QueuedPodInfo | undefined) => void)[] = [];
  private closed = false;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly maxInUnschedulableMs: number;

  constructor(private readonly options: SchedulingQueueOptions) {
    this.initialBackoffMs = options.initialBackoffMs ?? POD_INITIAL_BACKOFF_MS;
    this.maxBackoffMs = options.maxBackoffMs ?? POD_MAX_BACKOFF_MS;
    this.maxInUnschedulableMs = options.maxInUnschedulableMs ?? POD_MAX_IN_UNSCHEDULABLE_MS;
    this.armLeftoverFlush();
  }

  /** Counts per place (stale heap entries excluded). */
  counts(): Record<Place, number> {
    const out: Record<Place, number> = { active: 0, backoff: 0, unschedulable: 0, inFlight: 0 };
    for (const { place } of this.place.values()) out[place]++;
    return out;
  }

  where(pod: Pod | string): Place | undefined {
    return this.place.get(typeof pod === 'string' ? pod : podKey(pod))?.place;
  }

  /** A new pending pod. */
  add(pod: Pod): void {
    const key = podKey(pod);
    if (this.place.has(key)) {
      this.update(pod);
      return;
    }
    const now = this.options.clock.now();
    this.toActive({ pod, key, attempts: 0, timestampMs: now, initialAttemptMs: now, unschedulablePlugins: new Set(), schedulingCycle: 0, parkedAtMs: now });
  }

  /** The pending pod changed: keep the newest object; a parked pod gets another try now (its spec may fit now). */
  update(pod: Pod): void {
    const entry = this.place.get(podKey(pod));
    if (entry === undefined) {
      this.add(pod);
      return;
    }
    entry.info.pod = pod;
    if (entry.place === 'unschedulable') {
      this.unschedulable.delete(entry.info.key);
      this.toActiveOrBackoff(entry.info);
    }
  }

  /** The pod was deleted or bound by someone else: forget it wherever it is. */
  delete(pod: Pod | string): void {
    const key = typeof pod === 'string' ? pod : podKey(pod);
    this.unschedulable.delete(key);
    this.place.delete(key);
  }

  /** Next pod to schedule, waiting for one; undefined once closed. */
  pop(): Promise<QueuedPodInfo | undefined> {
    const info = this.tryPop();
    if (info !== undefined || this.closed) return Promise.resolve(info);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  tryPop(): QueuedPodInfo | undefined {
    for (;;) {
      const info = this.active.pop();
      if (info === undefined) return undefined;
      if (!this.isAt(info, 'active')) continue;
      return this.takeForScheduling(info);
    }
  }

  /**
   * A popped pod whose cycle did not run (this replica stopped leading in
   * between): back to the active queue as it was, the attempt not counted,
   * so a leadership gap never turns into backoff.
   */
  requeue(info: QueuedPodInfo): void {
    if (!this.isAt(info, 'inFlight')) return; // deleted meanwhile
    info.attempts--;
    this.toActive(info);
  }

  /** The pod was bound (or given up on): it leaves the queue. */
  done(key: string): void {
    const entry = this.place.get(key);
    if (entry?.place === 'inFlight') this.place.delete(key);
  }

  /**
   * The pod did not fit. With `unschedulablePlugins` it parks until a
   * relevant event; without (an error such as a failed bind) it only backs off.
   */
  addUnschedulable(info: QueuedPodInfo, unschedulablePlugins: Set<string> | undefined): void {
    const entry = this.place.get(info.key);
    if (entry === undefined || entry.place !== 'inFlight' || entry.info !== info) return; // deleted meanwhile
    info.timestampMs = this.options.clock.now();
    info.parkedAtMs = info.timestampMs;
    if (unschedulablePlugins === undefined || this.moveRequestCycle >= info.schedulingCycle) {
      // An error, or a cluster event arrived while this pod was being scheduled: it may fit now.
      info.unschedulablePlugins = unschedulablePlugins ?? new Set();
      this.toBackoff(info);
      return;
    }
    info.unschedulablePlugins = unschedulablePlugins;
    this.place.set(info.key, { place: 'unschedulable', info });
    this.unschedulable.set(info.key, info);
  }

  /** A cluster event: move the unschedulable pods it could help. */
  onEvent(event: ClusterEvent): void {
    this.moveRequestCycle = this.schedulingCycle;
    for (const info of [...this.unschedulable.values()]) {
      if (!this.eventCouldHelp(event, info.unschedulablePlugins)) continue;
      this.unschedulable.delete(info.key);
      this.toActiveOrBackoff(info);
    }
  }

  close(): void {
    this.closed = true;
    this.options.clock.cancelTimer(this.timerKey('backoff'));
    this.options.clock.cancelTimer(this.timerKey('leftover'));
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  backoffDurationMs(info: QueuedPodInfo): number {
    if (info.attempts <= 0) return 0;
    return Math.min(this.initialBackoffMs * 2 ** (info.attempts - 1), this.maxBackoffMs);
  }

  private backoffExpiryMs(info: QueuedPodInfo): number {
    return info.timestampMs + this.backoffDurationMs(info);
  }

  private eventCouldHelp(event: ClusterEvent, plugins: Set<string>): boolean {
    if (event === 'UnschedulableTimeout' || plugins.size === 0) return true;
    for (const plugin of plugins) {
      const interest = PLUGIN_EVENTS[plugin];
      if (interest === undefined || interest.includes(event)) return true;
    }
    return false;
  }

  private isAt(info: QueuedPodInfo, place: Place): boolean {
    const entry = this.place.get(info.key);
    return entry !== undefined && entry.place === place && entry.info === info;
  }

  private takeForScheduling(info: QueuedPodInfo): QueuedPodInfo {
    info.attempts++;
    info.schedulingCycle = ++this.schedulingCycle;
    this.place.set(info.key, { place: 'inFlight', info });
    return info;
  }

  private toActive(info: QueuedPodInfo): void {
    if (this.closed) return;
    this.place.set(info.key, { place: 'active', info });
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      waiter(this.takeForScheduling(info));
      return;
    }
    this.active.push(info);
  }

  private toBackoff(info: QueuedPodInfo): void {
    this.place.set(info.key, { place: 'backoff', info });
    this.backoff.push(info);
    this.armBackoffFlush();
  }

  private toActiveOrBackoff(info: QueuedPodInfo): void {
    if (this.backoffExpiryMs(info) > this.options.clock.now()) this.toBackoff(info);
    else this.toActive(info);
  }

  private timerKey(what: string): string {
    return `scheduling-queue/${this.options.name ?? 'default'}/${what}`;
  }

  private armBackoffFlush(): void {
    for (;;) {
      const head = this.backoff.peek();
      if (head === undefined) {
        this.options.clock.cancelTimer(this.timerKey('backoff'));
        return;
      }
      if (!this.isAt(head, 'backoff')) {
        this.backoff.pop();
        continue;
      }
      this.options.clock.timer(this.timerKey('backoff'), Math.max(0, this.backoffExpiryMs(head) - this.options.clock.now()), () => this.flushBackoff());
      return;
    }
  }

  private flushBackoff(): void {
    const now = this.options.clock.now();
    for (;;) {
      const head = this.backoff.peek();
      if (head === undefined) break;
      if (!this.isAt(head, 'backoff')) {
        this.backoff.pop();
        continue;
      }
      if (this.backoffExpiryMs(head) > now) break;
      this.backoff.pop();
      this.toActive(head);
    }
    this.armBackoffFlush();
  }

  private armLeftoverFlush(): void {
    this.options.clock.timer(this.timerKey('leftover'), UNSCHEDULABLE_FLUSH_PERIOD_MS, () => {
      if (this.closed) return;
      const now = this.options.clock.now();
      for (const info of [...this.unschedulable.values()]) {
        if (now - info.parkedAtMs < this.maxInUnschedulableMs) continue;
        this.unschedulable.delete(info.key);
        this.toActiveOrBackoff(info);
      }
      this.armLeftoverFlush();
    });
  }
}
