/**
 * kube-scheduler as an actor: pod and node informers over the API server's
 * actor protocol, the scheduler's run loop (scheduler.ts), binding through
 * the pods/binding subresource, Events as Kubernetes writes them, and leader
 * election over a Lease in kube-system so that of two replicas only one
 * binds. All time and randomness come from the actor context (ActorClock).
 */
import type { ActorContext, Handlers } from '../actor/behaviour.js';
import { unhandled } from '../actor/behaviour.js';
import type { Message } from '../actor/protocol.js';
import { ApiClient, ApiStatusError, CONTROL_PLANE_LIST_SLICE_ITEMS, EVENTS, NODES, PODDISRUPTIONBUDGETS, PODS } from '../client/api-client.js';
import { ActorClock, type ClientTimerMsg } from '../client/clock.js';
import { Informer } from '../client/informer.js';
import { LeaderElector } from '../client/leader-election.js';
import { leaderActivitySender, type LeaderActivity } from '../client/leader-activity.js';
import type { ApiReply, ApiServerMsg } from '../api/protocol.js';
import type { Event, Node, Pod } from '../api/types/index.js';
import type { PodDisruptionBudget } from '../api/types/policy.js';
import { disruptionBudgetCheck } from './disruption-budgets.js';
import { Scheduler, type Binder, type EventRecorder, type Preemptor } from './scheduler.js';
import { SchedulerMetrics } from './metrics.js';
import { ClientMetrics } from '../client/metrics.js';
import { DEFAULT_SCHEDULER_NAME, type SchedulerProfileConfig } from './profile.js';

export interface SchedulerComponentArgs {
  /** Leader election timings (Kubernetes: 15 s / 10 s / 2 s; scaled by the cluster's profile). */
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  profile?: SchedulerProfileConfig;
  apiserver?: string;
  /**
   * false: act at once and always, without a Lease, as kube-scheduler's
   * `--leader-elect=false`. Safe with one replica only; with two it is the
   * broken configuration the chaos engine's single-active check must catch.
   */
  leaderElect?: boolean;
  /** Tell every term start/stop and every bind to this actor (`leader.activity`): a record that survives this actor's death, for chaos checks. */
  recordTo?: string;
  /** The records of one turn in one message (the simulated runtime only: see `leaderActivitySender`). */
  recordBatched?: boolean;
}

export type SchedulerComponentMsg = ClientTimerMsg | Message<'scheduler.status', null> | Message<string, unknown>;

export interface SchedulerComponentStatus {
  name: string;
  /** This incarnation's lease identity (`<name>_<random>`). */
  identity: string;
  leader: boolean;
  /** Who this replica believes holds the lease. */
  observedLeader: string;
  scheduled: number;
  unschedulable: number;
  bindFailures: number;
  /** Cycles whose preemption evicted victims, and the victims. */
  preemptions: number;
  victims: number;
  /** Pods waiting in the scheduling queue (active, backoff and unschedulable). */
  pending: number;
}

export const SCHEDULER_LEASE = 'kube-scheduler';
const SCHEDULER_USER = { name: 'system:kube-scheduler', groups: ['system:authenticated'] };

export function createSchedulerComponent(ctx: ActorContext<SchedulerComponentMsg>, args: SchedulerComponentArgs): Handlers<SchedulerComponentMsg> {
  const clientMetrics = new ClientMetrics(ctx.name);
  const clock = new ActorClock(ctx as never, undefined, clientMetrics);
  const apiserver = args.apiserver ?? 'apiserver';
  const api = new ApiClient(ctx as never, { apiserver, as: SCHEDULER_USER, clock, listSliceItems: CONTROL_PLANE_LIST_SLICE_ITEMS });
  const podInformer = new Informer<Pod>({ name: 'pods', clock, listWatcher: api.listWatcher(PODS) });
  const nodeInformer = new Informer<Node>({ name: 'nodes', clock, listWatcher: api.listWatcher(NODES) });
  // Preemption prefers victims whose eviction breaks no PodDisruptionBudget (DefaultPreemption).
  const budgetInformer = new Informer<PodDisruptionBudget>({ name: 'poddisruptionbudgets', clock, listWatcher: api.listWatcher(PODDISRUPTIONBUDGETS) });
  let observedLeader = '';
  // Kubernetes' identity is hostname_uuid: a restarted replica is a new candidate and must wait out
  // the lease its previous incarnation held, rather than renew it as if it never died.
  const identity = `${ctx.name}_${Math.floor(ctx.random() * 2 ** 32).toString(16).padStart(8, '0')}`;

  const recordTo = args.recordTo;
  const sendRecord = recordTo === undefined ? undefined : leaderActivitySender((msg) => ctx.send(recordTo, msg), args.recordBatched === true);
  const record = (what: LeaderActivity['what'], detail?: string): void => {
    sendRecord?.({ component: SCHEDULER_LEASE, actor: ctx.name, identity, atMs: ctx.now(), what, ...(detail !== undefined ? { detail } : {}) });
  };

  const binder: Binder = {
    async bind(pod, nodeName) {
      record('write', `bind ${pod.metadata.namespace}/${pod.metadata.name} ${nodeName}`);
      const reply = await ctx.ask<ApiReply>(apiserver, {
        type: 'api.create',
        body: {
          group: '', version: 'v1', resource: 'pods', namespace: pod.metadata.namespace, name: pod.metadata.name!, subresource: 'binding', as: SCHEDULER_USER,
          object: { apiVersion: 'v1', kind: 'Binding', metadata: { name: pod.metadata.name, namespace: pod.metadata.namespace, uid: pod.metadata.uid }, target: { apiVersion: 'v1', kind: 'Node', name: nodeName } },
        },
      } satisfies ApiServerMsg, { timeoutMs: 10_000 }).catch((error: unknown) => {
        clientMetrics.request(apiserver, 'POST', '<error>');
        throw error;
      });
      clientMetrics.request(apiserver, 'POST', String(reply.ok ? reply.code : reply.status.code ?? 500));
      if (!reply.ok) throw new Error(`binding ${pod.metadata.namespace}/${pod.metadata.name} to ${nodeName}: ${reply.status.reason} ${reply.status.message ?? ''}`);
    },
  };

  let eventSeq = 0;
  const recorder: EventRecorder = {
    event(pod, type, reason, message) {
      const nowIso = new Date(ctx.now()).toISOString();
      const event: Event = {
        apiVersion: 'v1', kind: 'Event',
        metadata: { name: `${pod.metadata.name}.${ctx.now().toString(16)}${(eventSeq++).toString(16)}`, namespace: pod.metadata.namespace },
        involvedObject: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata.name, namespace: pod.metadata.namespace, uid: pod.metadata.uid },
        reason, message, type, count: 1, firstTimestamp: nowIso, lastTimestamp: nowIso,
        source: { component: 'default-scheduler' }, reportingComponent: 'default-scheduler', reportingInstance: ctx.name,
      } as Event;
      // Events are best effort, as in Kubernetes: losing one never blocks scheduling.
      api.create(EVENTS, event).catch((error: unknown) => ctx.log.debug({ err: String(error) }, 'event not recorded'));
    },
  };

  const schedulerName = args.profile?.schedulerName ?? DEFAULT_SCHEDULER_NAME;
  const preemptor: Preemptor = {
    async setNominatedNodeName(pod, nodeName) {
      record('write', `nominate ${pod.metadata.namespace}/${pod.metadata.name} ${nodeName ?? '-'}`);
      await api.patch(PODS, pod.metadata.namespace, pod.metadata.name!, 'merge', { status: { nominatedNodeName: nodeName } }, { subresource: 'status' });
    },
    async evict(victim) {
      record('write', `preempt ${victim.metadata.namespace}/${victim.metadata.name}`);
      const condition = {
        type: 'DisruptionTarget', status: 'True', reason: 'PreemptionByScheduler',
        message: `${schedulerName}: preempting to accommodate a higher priority pod`, lastTransitionTime: new Date(ctx.now()).toISOString(),
      };
      try {
        await api.patch(PODS, victim.metadata.namespace, victim.metadata.name!, 'strategic', { status: { conditions: [condition] } }, { subresource: 'status' });
        // The pod's own grace period, as Kubernetes' DeletePod (no options).
        await api.delete(PODS, victim.metadata.namespace, victim.metadata.name!);
      } catch (error) {
        // Gone already: what preemption wanted.
        if (!(error instanceof ApiStatusError && error.status.code === 404)) throw error;
      }
    },
  };

  /** The actor is being stopped: its step-down is not a lost lease. */
  let stopping = false;
  const elector: LeaderElector = new LeaderElector({
    namespace: 'kube-system', name: SCHEDULER_LEASE, identity, client: api.leaseClient(), clock,
    leaseDurationMs: args.leaseDurationMs, renewDeadlineMs: args.renewDeadlineMs, retryPeriodMs: args.retryPeriodMs,
    callbacks: {
      onStartedLeading: () => {
        record('started');
        ctx.log.info('became the active scheduler');
      },
      onStoppedLeading: () => {
        record('stopped');
        // kube-scheduler exits here with an error ("leaderelection lost"); this one goes on as a standby.
        if (stopping) ctx.log.info('stopped leading');
        else ctx.log.warn({ elector: { ...elector.stats } }, 'lost the lease (not renewed within renewDeadline, or taken): scheduling stopped');
      },
      onNewLeader: (identity) => (observedLeader = identity),
    },
  });
  const elect = args.leaderElect !== false;
  const acting = (): boolean => (elect ? elector.isLeader() : true);
  // The queue is read only when scraped, by which time `scheduler` is bound.
  const metrics = new SchedulerMetrics(clientMetrics.registry, args.profile?.schedulerName ?? DEFAULT_SCHEDULER_NAME, () => scheduler.queue.counts());
  const scheduler: Scheduler = new Scheduler({
    clock, podInformer, nodeInformer, binder, recorder, preemptor, profile: args.profile, isLeader: acting, metrics,
    violatesDisruptionBudget: disruptionBudgetCheck(() => budgetInformer.store.list()),
    // After the messages already on the thread (a lease answer, watch events, bind replies): a setImmediate on threads.
    yieldTurn: () => new Promise<void>((resolve) => ctx.afterArrivals(resolve)),
  });
  podInformer.start();
  nodeInformer.start();
  budgetInformer.start();
  if (elect) elector.start();
  else record('started');
  scheduler.start();

  const status = (): SchedulerComponentStatus => ({
    name: ctx.name, identity, leader: acting(), observedLeader, ...scheduler.stats, pending: Object.values(scheduler.queue.counts()).reduce((a, b) => a + b, 0),
  });

  return {
    receive(msg) {
      if (api.handle(msg as Message)) return undefined;
      if (msg.type === 'client.timer') {
        clock.fire((msg as ClientTimerMsg).body.key);
        return undefined;
      }
      if (msg.type === 'scheduler.status') return status();
      return unhandled;
    },
    onStop() {
      stopping = true;
      void scheduler.stop();
      elector.stop();
      podInformer.stop();
      nodeInformer.stop();
      budgetInformer.stop();
      api.close();
    },
    metrics: () => clientMetrics.text(),
    inspect: status,
  };
}
