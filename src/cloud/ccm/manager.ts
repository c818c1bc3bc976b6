/**
 * The cloud-controller-manager: a Lease-elected replica that, while it
 * leads, runs the cloud node, node lifecycle, service and route controllers
 * over one pair of shared informers (nodes, services). Each leadership term
 * builds fresh informers and controllers and tears them down when the term
 * ends; every write is guarded by the term, so a replica that lost its
 * lease (or whose term ended) stops at its next write.
 */
import type { Logger } from 'pino';
import type { Node, Service } from '../../api/types/index.js';
import { NODES, SERVICES, type ApiClient } from '../../client/api-client.js';
import type { Clock } from '../../client/clock.js';
import { Informer } from '../../client/informer.js';
import { LeaderElector, type LeaderElectionTimings } from '../../client/leader-election.js';
import type { CloudClient } from '../provider/client.js';
import type { ControllerContext } from './context.js';
import { NotLeaderError, RETRY_BACKOFF_DEFAULT, type RetryBackoff } from './controller.js';
import { CloudNodeController, CloudNodeLifecycleController } from './node-controller.js';
import { RouteController } from './route-controller.js';
import { ServiceController } from './service-controller.js';

export type CcmControllerName = 'node' | 'node-lifecycle' | 'service' | 'route';

export const CCM_CONTROLLERS_ALL: readonly CcmControllerName[] = Object.freeze(['node', 'node-lifecycle', 'service', 'route']);

export interface CcmOptions {
  identity: string;
  clusterName: string;
  controllers: readonly CcmControllerName[];
  /** undefined: no election, act at once (a single replica in tests). */
  leaderElection: LeaderElectionTimings | undefined;
  leaseNamespace: string;
  leaseName: string;
  /** cloud-node-lifecycle-controller's --node-monitor-period (Kubernetes: 5 s). */
  nodeMonitorPeriodMs: number;
  /** --route-reconciliation-period (Kubernetes: 10 s). */
  routeReconcilePeriodMs: number;
  /** Informer resync: every cached object revisited (level-triggered repair). */
  resyncPeriodMs: number;
  retry: RetryBackoff;
  /** --concurrent-service-syncs (Kubernetes: 1). */
  serviceWorkers: number;
  /**
   * Also initialize Nodes without providerID that lack the uninitialized
   * taint. Kubernetes initializes only tainted Nodes (kubelets of an external
   * cloud provider register with the taint); this cluster's kubelet does not
   * take that flag yet, so the default is true.
   */
  adoptUntaintedNodes: boolean;
  /** Test only, see ServiceControllerOptions. */
  unsafeNonIdempotentCreate?: boolean;
}

export const CCM_DEFAULTS: Readonly<Omit<CcmOptions, 'identity' | 'leaderElection'>> = Object.freeze({
  clusterName: 'kubethreads',
  controllers: CCM_CONTROLLERS_ALL,
  leaseNamespace: 'kube-system',
  leaseName: 'cloud-controller-manager',
  nodeMonitorPeriodMs: 5_000,
  routeReconcilePeriodMs: 10_000,
  resyncPeriodMs: 30_000,
  retry: RETRY_BACKOFF_DEFAULT,
  serviceWorkers: 1,
  adoptUntaintedNodes: true,
});

/** How often a new term checks whether its informers have synced. */
const SYNC_POLL_MS = 50;

interface Term {
  seq: number;
  nodes: Informer<Node>;
  services: Informer<Service>;
  node?: CloudNodeController;
  lifecycle?: CloudNodeLifecycleController;
  service?: ServiceController;
  route?: RouteController;
  started: boolean;
}

export interface CcmStatus {
  identity: string;
  leading: boolean;
  leader: string;
  terms: number;
  synced: boolean;
  controllers: Record<string, unknown>;
}

export class CloudControllerManager {
  private readonly elector: LeaderElector | undefined;
  private term: Term | undefined;
  private termSeq = 0;
  private stopped = false;

  constructor(
    private readonly deps: { api: ApiClient; cloud: CloudClient; clock: Clock; log: Logger },
    readonly options: CcmOptions,
  ) {
    if (options.leaderElection !== undefined) {
      this.elector = new LeaderElector({
        ...options.leaderElection,
        namespace: options.leaseNamespace,
        name: options.leaseName,
        identity: options.identity,
        client: deps.api.leaseClient(),
        clock: deps.clock,
        callbacks: {
          onStartedLeading: () => this.startTerm(),
          onStoppedLeading: () => this.endTerm('lost the lease'),
          onNewLeader: (identity) => deps.log.info({ leader: identity }, 'cloud-controller-manager leader observed'),
        },
      });
    }
  }

  start(): void {
    if (this.elector !== undefined) this.elector.start();
    else this.startTerm();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.endTerm('stopping');
    await this.elector?.stop();
  }

  /** The last leadership term's controllers (tests look at their stats). */
  get current(): Term | undefined {
    return this.term;
  }

  private mayAct(term: Term): boolean {
    if (this.stopped || this.term !== term) return false;
    return this.elector === undefined || this.elector.isLeader();
  }

  private startTerm(): void {
    if (this.stopped) return;
    this.endTerm('a new term starts');
    const { api, clock, log, cloud } = this.deps;
    const o = this.options;
    const seq = ++this.termSeq;
    const nodes = new Informer<Node>({ name: `ccm-${seq}-nodes`, clock, listWatcher: api.listWatcher(NODES), resyncPeriodMs: o.resyncPeriodMs });
    const services = new Informer<Service>({ name: `ccm-${seq}-services`, clock, listWatcher: api.listWatcher(SERVICES), resyncPeriodMs: o.resyncPeriodMs });
    const term: Term = { seq, nodes, services, started: false };
    const context: ControllerContext = {
      api, cloud, clock, log, nodes, services, clusterName: o.clusterName,
      guard: () => {
        if (!this.mayAct(term)) throw new NotLeaderError(`${o.identity} is not the leader (term ${seq} over)`);
      },
    };
    if (o.controllers.includes('node')) term.node = new CloudNodeController(context, o.retry, o.adoptUntaintedNodes);
    if (o.controllers.includes('node-lifecycle')) term.lifecycle = new CloudNodeLifecycleController(context, o.nodeMonitorPeriodMs);
    if (o.controllers.includes('service')) term.service = new ServiceController(context, { backoff: o.retry, workers: o.serviceWorkers, unsafeNonIdempotentCreate: o.unsafeNonIdempotentCreate });
    if (o.controllers.includes('route')) term.route = new RouteController(context, o.routeReconcilePeriodMs, o.retry);
    this.term = term;
    log.info({ identity: o.identity, term: seq }, 'cloud-controller-manager leading: starting controllers once informers sync');
    nodes.start();
    services.start();
    this.startWhenSynced(term);
  }

  /** Controllers act only on a complete cache: a partial node list would strip load balancer targets. */
  private startWhenSynced(term: Term): void {
    if (this.term !== term) return;
    if (!term.nodes.hasSynced() || !term.services.hasSynced()) {
      this.deps.clock.timer(`ccm/term-${term.seq}/sync`, SYNC_POLL_MS, () => this.startWhenSynced(term));
      return;
    }
    term.started = true;
    term.node?.controller.start();
    term.lifecycle?.start();
    term.service?.controller.start();
    term.route?.start();
  }

  private endTerm(reason: string): void {
    const term = this.term;
    if (term === undefined) return;
    this.term = undefined;
    this.deps.clock.cancelTimer(`ccm/term-${term.seq}/sync`);
    term.node?.controller.stop();
    term.lifecycle?.stop();
    term.service?.controller.stop();
    term.route?.stop();
    term.nodes.stop();
    term.services.stop();
    this.lastTerm = term;
    this.deps.log.info({ identity: this.options.identity, term: term.seq, reason }, 'cloud-controller-manager term ended');
  }

  private lastTerm: Term | undefined;

  status(): CcmStatus {
    const term = this.term ?? this.lastTerm;
    const controllers: Record<string, unknown> = {};
    if (term?.node) controllers.node = { ...term.node.stats, ...term.node.controller.stats, pending: term.node.controller.pending };
    if (term?.lifecycle) controllers.nodeLifecycle = { ...term.lifecycle.stats };
    if (term?.service) controllers.service = { ...term.service.stats, ...term.service.controller.stats, pending: term.service.controller.pending, errors: Object.fromEntries(term.service.controller.lastErrors) };
    if (term?.route) controllers.route = { ...term.route.stats, ...term.route.controller.stats };
    return {
      identity: this.options.identity,
      leading: this.term !== undefined && this.mayAct(this.term),
      leader: this.elector?.leader ?? this.options.identity,
      terms: this.termSeq,
      synced: this.term?.started ?? false,
      controllers,
    };
  }
}
