/**
 * API Priority and Fairness, as kube-apiserver's flow control (`--enable-priority-and-fairness`): every request
 * is classified by the first matching FlowSchema into a priority level and a flow, and once requests wait, the
 * dispatcher decides which start first, so that a burst in one level (the kubelets' pod status writes and
 * events, the controllers' creates) does not hold up another (leader election, node heartbeats, a user's call),
 * and within a level one flow does not hold up another.
 *
 * What is the same: the suggested and mandatory FlowSchemas Kubernetes installs (names, matching precedence,
 * distinguishers), the priority levels, `exempt` never waiting, the `apiserver_flowcontrol_*` series.
 * What differs, and why: Kubernetes divides *seats* (requests executing at once) among the levels by their
 * shares and lends idle levels' seats to busy ones. Here the scarce thing is the API server's one thread, and a
 * request holds nothing while it waits for the store, so the thread's *turns* are what is divided: a turn starts
 * a batch, first the oldest of every level that has requests waiting, then the oldest of any level — each quiet
 * level keeps its own start, the busy levels share the rest in proportion to what they ask, which is what
 * lending does when the busy levels' demand is far above their shares. (A fixed share per level, tried first,
 * held the kubelets' writes past their clients' timeout: docs/performance.md.) Queues are not bounded and
 * nothing is rejected with 429: every in-process client would only retry.
 *
 * Pure: the caller gives the turn scheduler (the actor's `afterArrivals`) and the clock.
 */
import type { UserInfo } from './rbac.js';

/** Kubernetes' suggested and mandatory priority levels. */
export type PriorityLevelName = 'exempt' | 'system' | 'node-high' | 'leader-election' | 'workload-high' | 'workload-low' | 'global-default' | 'catch-all';

/**
 * The limited levels in the order a turn serves them. Kubernetes gives each nominal shares (system 30, node-high
 * 40, leader-election 10, workload-high 40, workload-low 100, global-default 20, catch-all 5) and a lendable
 * part; here turns, not seats, are divided, and only the order is used (see above).
 */
const LIMITED_LEVELS: readonly Exclude<PriorityLevelName, 'exempt'>[] = ['leader-election', 'node-high', 'system', 'workload-high', 'global-default', 'workload-low', 'catch-all'];

/** What a FlowSchema matches on. */
export interface FlowRequest {
  user: UserInfo;
  verb: string;
  /** API group ('' for the core group). */
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
}

export interface FlowClassification {
  flowSchema: string;
  level: PriorityLevelName;
  /** The flow within the level: the schema and its distinguisher (the user or the namespace). */
  flow: string;
}

const SERVICE_ACCOUNT_PREFIX = 'system:serviceaccount:';
const KUBE_SYSTEM = 'kube-system';

function isKubeSystemServiceAccount(user: UserInfo): boolean {
  return user.name.startsWith(`${SERVICE_ACCOUNT_PREFIX}${KUBE_SYSTEM}:`);
}

function leaderElectionTarget(r: FlowRequest, anyNamespaceForCore: boolean): boolean {
  if (r.verb !== 'get' && r.verb !== 'create' && r.verb !== 'update') return false;
  if (r.group === 'coordination.k8s.io' && r.resource === 'leases') return true;
  return r.group === '' && (r.resource === 'endpoints' || r.resource === 'configmaps') && (anyNamespaceForCore || r.namespace === KUBE_SYSTEM);
}

/**
 * The first matching FlowSchema of Kubernetes' defaults, in matching precedence: exempt (system:masters),
 * system-leader-election, workload-leader-election, system-node-high, system-nodes, kube-controller-manager,
 * kube-scheduler, kube-system-service-accounts, service-accounts, global-default, catch-all.
 */
export function classifyRequest(r: FlowRequest): FlowClassification {
  const { user } = r;
  const byUser = (schema: string, level: PriorityLevelName): FlowClassification => ({ flowSchema: schema, level, flow: `${schema}/${user.name}` });
  const byNamespace = (schema: string, level: PriorityLevelName): FlowClassification => ({ flowSchema: schema, level, flow: `${schema}/${r.namespace ?? ''}` });
  if (user.groups.includes('system:masters')) return { flowSchema: 'exempt', level: 'exempt', flow: 'exempt' };
  const controlPlane = user.name === 'system:kube-controller-manager' || user.name === 'system:kube-scheduler';
  if ((controlPlane || isKubeSystemServiceAccount(user)) && leaderElectionTarget(r, false)) return byUser('system-leader-election', 'leader-election');
  if (isKubeSystemServiceAccount(user) && leaderElectionTarget(r, true)) return byUser('workload-leader-election', 'leader-election');
  if (user.groups.includes('system:nodes')) {
    const nodeHealth = (r.group === '' && r.resource === 'nodes') || (r.group === 'coordination.k8s.io' && r.resource === 'leases');
    return nodeHealth ? byUser('system-node-high', 'node-high') : byUser('system-nodes', 'system');
  }
  if (user.name === 'system:kube-controller-manager') return byNamespace('kube-controller-manager', 'workload-high');
  if (user.name === 'system:kube-scheduler') return byNamespace('kube-scheduler', 'workload-high');
  if (isKubeSystemServiceAccount(user)) return byNamespace('kube-system-service-accounts', 'workload-high');
  if (user.groups.includes('system:serviceaccounts')) return byUser('service-accounts', 'workload-low');
  if (user.groups.includes('system:authenticated') || user.groups.includes('system:unauthenticated')) return byUser('global-default', 'global-default');
  return byUser('catch-all', 'catch-all');
}

/**
 * Who an in-process client is for flow control. The cluster's components talk to the API server as actors,
 * authorized with the actors' trusted identity; for priority they are classified as the users they are in
 * Kubernetes (a kubelet as `system:node:<node>` in `system:nodes`, the scheduler and controller-manager as
 * theirs, the cloud controller-manager as its kube-system service account). Any other actor (a benchmark's
 * probe, a library's host) counts as an ordinary authenticated user, not as `system:masters`: its calls wait
 * their turn in global-default like a user's.
 */
export function actorFlowUser(actor: string): UserInfo {
  const kubelet = /^kubelet-(.+)$/.exec(actor);
  if (kubelet !== null) return { name: `system:node:${kubelet[1]}`, groups: ['system:nodes', 'system:authenticated'] };
  if (/^scheduler(-\d+)?$/.test(actor)) return { name: 'system:kube-scheduler', groups: ['system:authenticated'] };
  if (/^controller-manager(-\d+)?$/.test(actor)) return { name: 'system:kube-controller-manager', groups: ['system:authenticated'] };
  if (/^cloud-controller-manager(-\d+)?$/.test(actor)) {
    return { name: `${SERVICE_ACCOUNT_PREFIX}${KUBE_SYSTEM}:cloud-controller-manager`, groups: ['system:serviceaccounts', `system:serviceaccounts:${KUBE_SYSTEM}`, 'system:authenticated'] };
  }
  if (/^kube-proxy-/.test(actor)) return { name: 'system:kube-proxy', groups: ['system:authenticated'] };
  return { name: `actor:${actor}`, groups: ['system:authenticated'] };
}

export interface FlowControlOptions {
  /**
   * Milliseconds a turn's starts should take (default 8): a turn starts a batch of waiting requests together
   * (each runs until it first waits, for the store), the batch sized from how long the last one took; then the
   * thread reads what arrived (the store's answers, watch events, new requests) before the next turn.
   */
  turnBudgetMs?: number;
  /**
   * A request that has waited this long (default 1 s) starts in the next turn whatever the batch: past it the
   * dispatcher falls back to arrival order rather than let its queue grow past clients' timeouts.
   */
  maxWaitMs?: number;
}

/** What the dispatcher reports, for the API server's `apiserver_flowcontrol_*` series. */
export interface FlowControlObserver {
  dispatched(c: FlowClassification, waitedMs: number): void;
}

interface Waiting {
  c: FlowClassification;
  start: () => void;
  queuedAtMs: number;
  /** Taken by either pass: the other skips it (lazy removal from the queue it is still in). */
  taken: boolean;
}

/** A FIFO with a moving head: O(1) at both ends, compacted when half of it is spent. */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(item: T): void {
    this.items.push(item);
  }
  peek(): T | undefined {
    return this.items[this.head];
  }
  shift(): T | undefined {
    const item = this.items[this.head];
    if (item === undefined) return undefined;
    this.items[this.head++] = undefined as T;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
  /** Keep only what `keep` says, in order. */
  retain(keep: (item: T) => boolean): void {
    this.items = this.items.slice(this.head).filter(keep);
    this.head = 0;
  }
}

interface LevelState {
  name: PriorityLevelName;
  waiting: number;
  /** Flows with requests waiting, in round-robin order (a Map keeps insertion order); each flow's FIFO. */
  flows: Map<string, Fifo<Waiting>>;
}

const FLOW_CONTROL_TURN_BUDGET_MS_DEFAULT = 8;
const FLOW_CONTROL_MAX_WAIT_MS_DEFAULT = 1_000;
/** A turn's batch: at least this many (each level's one, and some), at most this many (a frame's worth). */
const TURN_STARTS_MIN = 8;
const TURN_STARTS_MAX = 1024;

/**
 * The dispatcher. An idle server starts a request at once; once one has started, what arrives before the next
 * turn waits for it, so a frame full of requests is ordered rather than started in arrival order. Each turn
 * starts a batch — the oldest of every waiting level in level order (leader-election, node-high, system,
 * workload-high, global-default, workload-low, catch-all; a level's flows in turn), then the oldest of any
 * level — sized from how long the last full batch took, toward `turnBudgetMs`, and whatever has waited
 * `maxWaitMs`. Between turns the thread reads what arrived (the store's answers, which finish requests already
 * started, and watch events).
 */
export class FlowDispatcher {
  private readonly levels: LevelState[] = [];
  private readonly byName = new Map<PriorityLevelName, LevelState>();
  /** Every waiting request in arrival order, for the turn's borrowed starts. */
  private readonly arrivals = new Fifo<Waiting>();
  private readonly turnBudgetMs: number;
  /** The next turn's batch, sized so that a turn takes about `turnBudgetMs`. */
  private turnStarts = 32;
  private queued = 0;
  /** A turn is queued and has not started yet: arrivals wait for it. */
  private turnScheduled = false;
  private turnId = 0;
  /** When the current turn's batch started, and how many it started. */
  private turnStartedMs = 0;
  private batch = 0;
  /** Started this turn past the batch because they had waited `maxWaitMs`. */
  private overdue = 0;
  private readonly maxWaitMs: number;
  /** Requests started past a turn's batch because they had waited `maxWaitMs`. */
  readonly counts = { overdue: 0 };

  /**
   * `afterTurn(fn)` runs `fn` after what has already reached the thread is handled (the actor's `afterArrivals`:
   * on threads a `setImmediate`, after whose callback the microtasks run, so a started request runs to its
   * first wait before the next callback: the turn's second times its batch).
   */
  constructor(
    private readonly afterTurn: (fn: () => void) => void,
    private readonly now: () => number,
    options: FlowControlOptions = {},
    private readonly observer?: FlowControlObserver,
  ) {
    this.turnBudgetMs = options.turnBudgetMs ?? FLOW_CONTROL_TURN_BUDGET_MS_DEFAULT;
    this.maxWaitMs = options.maxWaitMs ?? FLOW_CONTROL_MAX_WAIT_MS_DEFAULT;
    if (!(this.maxWaitMs >= 0)) throw new RangeError(`flow control: maxWaitMs must be 0 or more, not ${this.maxWaitMs}`);
    if (!(this.turnBudgetMs > 0)) throw new RangeError(`flow control: turnBudgetMs must be above 0, not ${this.turnBudgetMs}`);
    for (const name of LIMITED_LEVELS) {
      const state: LevelState = { name, waiting: 0, flows: new Map() };
      this.levels.push(state);
      this.byName.set(name, state);
    }
  }

  /** Requests waiting, by level (for the `apiserver_flowcontrol_current_inqueue_requests` gauge). */
  waitingByLevel(): [PriorityLevelName, number][] {
    return this.levels.map((l) => [l.name, l.waiting]);
  }

  /** Requests waiting in all. */
  get waiting(): number {
    return this.queued;
  }

  /**
   * Run `start` now when the dispatcher is idle (nothing waits, no turn pending: an unloaded server is not
   * slowed), else in its turn. Exempt requests never wait. `start` must not throw.
   */
  submit(c: FlowClassification, start: () => void): void {
    if (c.level === 'exempt') {
      this.observer?.dispatched(c, 0);
      start();
      return;
    }
    if (this.queued === 0 && !this.turnScheduled) {
      // What else arrives before the next turn waits for it, so that a frame full of requests is ordered.
      this.scheduleTurn();
      this.observer?.dispatched(c, 0);
      start();
      return;
    }
    const level = this.byName.get(c.level)!;
    const waiting: Waiting = { c, start, queuedAtMs: this.now(), taken: false };
    let flow = level.flows.get(c.flow);
    if (flow === undefined) level.flows.set(c.flow, (flow = new Fifo()));
    flow.push(waiting);
    this.arrivals.push(waiting);
    // Requests taken by their level's kept starts stay in the arrivals until passed; drop them if they pile up.
    if (this.arrivals.length > 4 * this.queued + 4096) this.arrivals.retain((w) => !w.taken);
    level.waiting++;
    this.queued++;
    this.scheduleTurn();
  }

  /**
   * A turn is two callbacks queued together on the thread: the first starts a batch, the second — which runs
   * once the batch's requests have run to their first wait (the microtasks run between two callbacks) — times
   * it and sizes the next batch. A batch's store calls leave together, as a frame's worth of requests started on
   * arrival did: batches of a few requests each cost the store a proposal and an fsync apiece.
   */
  private scheduleTurn(): void {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    const turn = ++this.turnId;
    this.afterTurn(() => this.startBatch(turn));
    this.afterTurn(() => this.endTurn(turn));
  }

  private startBatch(turn: number): void {
    if (turn !== this.turnId) return;
    this.turnScheduled = false;
    this.turnStartedMs = this.now();
    // First the oldest of every level that has requests waiting, in level order (each flow in turn within a
    // level), then the oldest of any level.
    const picked: Waiting[] = [];
    for (const level of this.levels) {
      if (level.waiting > 0) picked.push(this.take(this.nextOfLevel(level)));
    }
    while (picked.length < this.turnStarts && this.queued > 0) picked.push(this.take(this.oldest()));
    this.batch = picked.length;
    // Whatever has waited `maxWaitMs` starts now too, in arrival order: when the thread is behind, what it reads
    // between two turns takes longer than a batch, and batches alone would let the queue outgrow its clients'
    // timeouts (Kubernetes answers 429 past its queues' limits; the in-process clients would only retry).
    for (;;) {
      const oldest = this.peekOldest();
      if (oldest === undefined || this.turnStartedMs - oldest.queuedAtMs < this.maxWaitMs) break;
      picked.push(this.take(this.oldest()));
    }
    this.overdue = picked.length - this.batch;
    this.counts.overdue += this.overdue;
    for (const next of picked) {
      this.observer?.dispatched(next.c, this.turnStartedMs - next.queuedAtMs);
      next.start();
    }
  }

  private endTurn(turn: number): void {
    if (turn !== this.turnId || this.turnScheduled) return;
    const tookMs = this.now() - this.turnStartedMs;
    if (this.batch >= this.turnStarts && this.overdue === 0) {
      // A full batch: size the next one for the budget (halfway there, so one odd turn does not swing it).
      const target = tookMs <= 0 ? this.turnStarts * 2 : (this.turnStarts * this.turnBudgetMs) / tookMs;
      this.turnStarts = Math.round(Math.min(TURN_STARTS_MAX, Math.max(TURN_STARTS_MIN, (this.turnStarts + target) / 2)));
    }
    if (this.queued > 0) this.scheduleTurn();
  }

  /** The oldest waiting request of any level, left waiting; undefined when none. */
  private peekOldest(): Waiting | undefined {
    while (this.arrivals.length > 0 && this.arrivals.peek()!.taken) this.arrivals.shift();
    return this.arrivals.peek();
  }

  /** The oldest waiting request of any level. */
  private oldest(): Waiting {
    for (;;) {
      const w = this.arrivals.shift()!;
      if (!w.taken) return w;
    }
  }

  /** Round robin over the level's flows: the first flow's oldest, then that flow goes to the back. */
  private nextOfLevel(level: LevelState): Waiting {
    for (;;) {
      const [key, flow] = level.flows.entries().next().value as [string, Fifo<Waiting>];
      const head = flow.shift()!;
      level.flows.delete(key);
      if (flow.length > 0) level.flows.set(key, flow);
      if (!head.taken) return head;
    }
  }

  private take(w: Waiting): Waiting {
    w.taken = true;
    const level = this.byName.get(w.c.level)!;
    level.waiting--;
    this.queued--;
    // The other queue drops it lazily; a flow whose every request was taken from the arrivals is emptied here.
    const flow = level.flows.get(w.c.flow);
    if (flow !== undefined) {
      while (flow.length > 0 && flow.peek()!.taken) flow.shift();
      if (flow.length === 0) level.flows.delete(w.c.flow);
    }
    return w;
  }
}
