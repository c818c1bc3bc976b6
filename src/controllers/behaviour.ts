/**
 * The kube-controller-manager actor: two replicas (`controller-manager-0`
 * and `-1`) campaign for the Lease `kube-system/kube-controller-manager`;
 * the leader runs the controllers of src/controllers, the other waits. A
 * leader that cannot renew stops acting (every write is refused) by its
 * renewDeadline, before its lease can expire and the standby take over.
 *
 * ```ts
 * await spawnControllerManagers(system, { timing: timingFor('fast') });
 * ```
 */
import { defineBehaviour, unhandled, type ActorRef, type ActorSystem, type Message } from '../actor/index.js';
import { APISERVER_NAME } from '../api/protocol.js';
import { ActorClock, ApiClient, ClientMetrics, CONTROL_PLANE_LIST_SLICE_ITEMS, LeaderElector, type ClientTimerMsg } from '../client/index.js';
import { ControllerManager, type ControllerTiming } from './manager.js';
import type { WriteRecord } from './common.js';
import { leaderActivitySender, type LeaderActivity } from '../client/leader-activity.js';

export interface ControllerManagerTiming extends ControllerTiming {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export interface ControllerManagerArgs {
  timing: ControllerManagerTiming;
  apiserver?: string;
  /** Lease name in kube-system (Kubernetes: kube-controller-manager). */
  leaseName?: string;
  /**
   * false: run the controllers at once and always, without a Lease, as
   * kube-controller-manager's `--leader-elect=false`. Safe with one replica
   * only; with two it is the broken configuration the chaos engine's
   * single-active check must catch.
   */
  leaderElect?: boolean;
  /** Tell every guarded write and every term start/stop to this actor (`leader.activity`): a record that survives this actor's death, for HA tests and chaos checks. */
  recordTo?: string;
  /** The records of one turn in one message (the simulated runtime only: see `leaderActivitySender`). */
  recordBatched?: boolean;
  /** kube-controller-manager's `--kube-api-qps` / `--kube-api-burst`: the controllers' client's token bucket (ApiClient `qps` / `burst`); undefined: no limit. */
  apiQps?: number;
  apiBurst?: number;
}


/** What `cm.status` answers: enough for tests and `kubethreads status`. */
export interface ControllerManagerStatus {
  identity: string;
  leading: boolean;
  leader: string;
  terms: number;
  /** [startMs, endMs | undefined] of each term this incarnation led. */
  termsMs: [number, number | undefined][];
  writes: WriteRecord[];
  /** Lists this replica's client took in slices (CONTROL_PLANE_LIST_SLICE_ITEMS), over its life. */
  listsSliced: number;
}

/** `cm.status` with `{ writes: false }` leaves the write record out: a sampler asking several times a second needs who leads, not 10,000 records. */
export type ControllerManagerMsg = ClientTimerMsg | Message<'cm.status', null | { writes?: boolean }>;

/** Writes remembered for `cm.status` (the HA test's record); older ones are dropped. */
const WRITE_RECORDS_MAX = 10_000;
export const CONTROLLER_MANAGER_LEASE = 'kube-controller-manager';
export const CONTROLLER_MANAGER_USER = { name: 'system:kube-controller-manager', groups: [] as string[] };

export const controllerManager = defineBehaviour<ControllerManagerMsg, ControllerManagerArgs>(import.meta.url, 'controller-manager', (ctx, args) => {
  const clientMetrics = new ClientMetrics(ctx.name);
  const clock = new ActorClock(ctx, undefined, clientMetrics);
  const client = new ApiClient(ctx, { clock, apiserver: args.apiserver ?? APISERVER_NAME, as: CONTROLLER_MANAGER_USER, listSliceItems: CONTROL_PLANE_LIST_SLICE_ITEMS, qps: args.apiQps, burst: args.apiBurst });
  const writes: WriteRecord[] = [];
  const terms: [number, number | undefined][] = [];
  let manager: ControllerManager | undefined;
  const recordTo = args.recordTo;
  const sendRecord = recordTo === undefined ? undefined : leaderActivitySender((msg) => ctx.send(recordTo, msg), args.recordBatched === true);
  const record = (what: LeaderActivity['what'], atMs: number, detail?: string): void => {
    sendRecord?.({ component: CONTROLLER_MANAGER_LEASE, actor: ctx.name, identity: elector.identity, atMs, what, ...(detail !== undefined ? { detail } : {}) });
  };
  const log = {
    debug: (object: object, message: string) => ctx.log.debug(object, message),
    warn: (object: object, message: string) => ctx.log.warn(object, message),
  };
  // Unique per incarnation, as client-go's hostname_uuid: a restarted replica must not resume a term its predecessor held without waiting for the lease.
  let incarnation = '';
  for (let i = 0; i < 8; i++) incarnation += Math.floor(ctx.random() * 16).toString(16);
  /** The last other replica seen holding the lease: a term that follows one is a handover, worth a warning (the controllers start again from a full LIST). */
  let otherHolder = '';
  /** The actor is being stopped: its step-down is not a lost lease. */
  let stopping = false;
  const elector: LeaderElector = new LeaderElector({
    namespace: 'kube-system', name: args.leaseName ?? CONTROLLER_MANAGER_LEASE, identity: `${ctx.name}_${incarnation}`, client: client.leaseClient(), clock,
    leaseDurationMs: args.timing.leaseDurationMs, renewDeadlineMs: args.timing.renewDeadlineMs, retryPeriodMs: args.timing.retryPeriodMs,
    callbacks: {
      onStartedLeading: () => startLeading(),
      onStoppedLeading: () => stopLeading(),
      onNewLeader: (holder) => {
        if (holder !== elector.identity) otherHolder = holder;
      },
    },
  });
  function startLeading(): void {
    terms.push([ctx.now(), undefined]);
    record('started', ctx.now());
    if (otherHolder === '' && terms.length === 1) ctx.log.info({ identity: ctx.name }, 'leading: starting controllers');
    else ctx.log.warn({ identity: ctx.name, previousHolder: otherHolder, term: terms.length, elector: { ...elector.stats } }, 'leading after a handover: starting controllers');
    manager = new ControllerManager({
      client, clock, identity: ctx.name, timing: args.timing, mayAct: acting, log,
      onWrite: (write) => {
        writes.push(write);
        record('write', write.atMs, `${write.verb} ${write.resource}/${write.name}`);
        if (writes.length > WRITE_RECORDS_MAX) writes.splice(0, writes.length - WRITE_RECORDS_MAX);
      },
    });
    manager.start();
  }
  function stopLeading(): void {
    const term = terms[terms.length - 1];
    if (term !== undefined) term[1] = ctx.now();
    record('stopped', ctx.now());
    // Kubernetes' controller-manager exits here ("leaderelection lost", an error); this one stops its controllers and campaigns again.
    if (stopping) ctx.log.info({ identity: ctx.name }, 'stopped leading: controllers stopped');
    else ctx.log.warn({ identity: ctx.name, term: terms.length, elector: { ...elector.stats } }, 'lost the lease (not renewed within renewDeadline, or taken): controllers stopped');
    manager?.stop();
    manager = undefined;
  }
  const elect = args.leaderElect !== false;
  function acting(): boolean {
    return elect ? elector.isLeader() : true;
  }
  if (elect) elector.start();
  else startLeading();
  return {
    receive(msg) {
      if (client.handle(msg as Message)) return undefined;
      switch (msg.type) {
        case 'client.timer':
          clock.fire(msg.body.key);
          return undefined;
        case 'cm.status':
          return {
            identity: ctx.name, leading: acting(), leader: elect ? elector.leader : ctx.name, terms: elector.stats.terms, termsMs: terms.map((t) => [...t] as [number, number | undefined]), writes: msg.body?.writes === false ? [] : [...writes], listsSliced: client.stats.listsSliced,
          } satisfies ControllerManagerStatus;
        default:
          return unhandled;
      }
    },
    onStop() {
      stopping = true;
      manager?.stop();
      void elector.stop();
      client.close();
    },
    metrics: () => clientMetrics.text(),
    inspect() {
      return { leading: acting(), leader: elect ? elector.leader : ctx.name, terms: elector.stats.terms };
    },
  };
});

export const CONTROLLER_MANAGER_REPLICAS = 2;

/** Spawn `controller-manager-0..n-1` (two by default: one leader, one standby). */
export async function spawnControllerManagers(
  system: ActorSystem,
  options: { timing: ControllerManagerTiming; replicas?: number; apiserver?: string; apiserverFor?: () => string; recordTo?: string; recordBatched?: boolean; leaderElect?: boolean; apiQps?: number; apiBurst?: number },
): Promise<ActorRef<ControllerManagerMsg>[]> {
  const replicas = options.replicas ?? CONTROLLER_MANAGER_REPLICAS;
  const refs: ActorRef<ControllerManagerMsg>[] = [];
  for (let i = 0; i < replicas; i++) {
    refs.push(await system.spawn(controllerManager, { name: `controller-manager-${i}`, args: { timing: options.timing, apiserver: options.apiserverFor?.() ?? options.apiserver, recordTo: options.recordTo, recordBatched: options.recordBatched, leaderElect: options.leaderElect, apiQps: options.apiQps, apiBurst: options.apiBurst } }));
  }
  return refs;
}
