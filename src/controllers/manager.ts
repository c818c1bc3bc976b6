/**
 * The controller manager's core without the actor: shared informers and
 * the controllers over them, started when this replica becomes leader and
 * torn down (informers stopped, queues shut) when it stops leading. Every
 * write goes through `guardedApi`, so nothing is written once `mayAct()`
 * turns false, even by a sync already in flight.
 */
import type { ControllerRevision, CronJob, DaemonSet, Deployment, EndpointSlice, Endpoints, Job, Lease, Namespace, Node, Pod, PodDisruptionBudget, ReplicaSet, Service, ServiceAccount, StatefulSet } from '../api/types/index.js';
import {
  CONTROLLERREVISIONS, DAEMONSETS, DEPLOYMENTS, ENDPOINTS, ENDPOINTSLICES, LEASES, NAMESPACES, NODES, PODS, REPLICASETS, SERVICES, STATEFULSETS, type ApiClient, type Clock,
} from '../client/index.js';
import { eventRecorder, guardedApi, type ControllerApi, type WriteRecord } from './common.js';
import { DaemonSetController } from './daemonset.js';
import { DeploymentController } from './deployment.js';
import { EndpointsController } from './endpoints.js';
import { GarbageCollector } from './garbage-collector.js';
import { NodeLifecycleController } from './node-lifecycle.js';
import { ReplicaSetController } from './replicaset.js';
import { CronJobController } from './cronjob.js';
import { DisruptionController } from './disruption.js';
import { JobController } from './job.js';
import { TtlAfterFinishedController } from './ttl-after-finished.js';
import { CRONJOBS, JOBS, PODDISRUPTIONBUDGETS, SERVICEACCOUNTS } from './workload-resources.js';
import { ServiceAccountsController } from './serviceaccounts.js';
import { SharedInformers, type Logger } from './runtime.js';
import { StatefulSetController } from './statefulset.js';

export interface ControllerTiming {
  /** Node lifecycle: a node whose lease was not renewed for this long is NotReady / Unknown (Kubernetes: 50 s). */
  nodeMonitorGraceMs: number;
  /** What Kubernetes' 300 s default tolerationSeconds becomes under the time profile; tolerationSeconds scale by podEvictionTimeoutMs / 300 s. */
  podEvictionTimeoutMs: number;
}

export interface ControllerManagerOptions {
  client: ApiClient;
  clock: Clock;
  identity: string;
  timing: ControllerTiming;
  mayAct(): boolean;
  log?: Logger;
  onWrite?(record: WriteRecord): void;
}

export class ControllerManager {
  readonly informers: SharedInformers;
  readonly api: ControllerApi;
  readonly replicaSets: ReplicaSetController;
  readonly deployments: DeploymentController;
  readonly endpoints: EndpointsController;
  readonly garbageCollector: GarbageCollector;
  readonly nodeLifecycle: NodeLifecycleController;
  readonly statefulSets: StatefulSetController;
  readonly daemonSets: DaemonSetController;
  readonly jobs: JobController;
  readonly cronJobs: CronJobController;
  readonly ttlAfterFinished: TtlAfterFinishedController;
  readonly disruption: DisruptionController;
  readonly serviceAccounts: ServiceAccountsController;
  private running = false;
  private startedWorkers = false;

  constructor(private readonly options: ControllerManagerOptions) {
    const { client, clock } = options;
    this.informers = new SharedInformers(client, clock);
    this.api = guardedApi(client, options.mayAct, () => clock.now(), options.onWrite);
    const recorder = (component: string) => eventRecorder(this.api, component, options.identity, () => clock.now(), (error) => options.log?.debug({ err: String(error) }, 'event not written'));
    const pods = this.informers.get<Pod>(PODS);
    const replicaSets = this.informers.get<ReplicaSet>(REPLICASETS);
    const deployments = this.informers.get<Deployment>(DEPLOYMENTS);
    this.replicaSets = new ReplicaSetController({ api: this.api, clock, pods, replicaSets, recorder: recorder('replicaset-controller'), log: options.log });
    this.deployments = new DeploymentController({ api: this.api, clock, deployments, replicaSets, pods, recorder: recorder('deployment-controller'), log: options.log });
    const nodes = this.informers.get<Node>(NODES);
    this.endpoints = new EndpointsController({
      api: this.api, clock, pods, nodes, services: this.informers.get<Service>(SERVICES), endpoints: this.informers.get<Endpoints>(ENDPOINTS),
      slices: this.informers.get<EndpointSlice>(ENDPOINTSLICES), log: options.log,
    });
    const revisions = this.informers.get<ControllerRevision>(CONTROLLERREVISIONS);
    this.statefulSets = new StatefulSetController({
      api: this.api, clock, statefulSets: this.informers.get<StatefulSet>(STATEFULSETS), pods, revisions, recorder: recorder('statefulset-controller'), log: options.log,
    });
    this.daemonSets = new DaemonSetController({
      api: this.api, clock, daemonSets: this.informers.get<DaemonSet>(DAEMONSETS), pods, nodes, revisions, recorder: recorder('daemonset-controller'), log: options.log,
    });
    this.garbageCollector = new GarbageCollector({ api: this.api, clock, informers: this.informers, log: options.log });
    this.nodeLifecycle = new NodeLifecycleController({
      api: this.api, clock, nodes, pods, leases: this.informers.get<Lease>(LEASES, 'kube-node-lease'), recorder: recorder('node-controller'),
      nodeMonitorGraceMs: options.timing.nodeMonitorGraceMs, podEvictionTimeoutMs: options.timing.podEvictionTimeoutMs, log: options.log,
    });
    const jobs = this.informers.get<Job>(JOBS);
    this.jobs = new JobController({ api: this.api, clock, jobs, pods, recorder: recorder('job-controller'), log: options.log });
    this.cronJobs = new CronJobController({ api: this.api, clock, cronJobs: this.informers.get<CronJob>(CRONJOBS), jobs, recorder: recorder('cronjob-controller'), log: options.log });
    this.ttlAfterFinished = new TtlAfterFinishedController({ api: this.api, clock, jobs, log: options.log });
    this.disruption = new DisruptionController({
      api: this.api, clock, budgets: this.informers.get<PodDisruptionBudget>(PODDISRUPTIONBUDGETS), pods, replicaSets, deployments,
      recorder: recorder('controllermanager'), log: options.log,
    });
    this.serviceAccounts = new ServiceAccountsController({
      api: this.api, clock, namespaces: this.informers.get<Namespace>(NAMESPACES), serviceAccounts: this.informers.get<ServiceAccount>(SERVICEACCOUNTS), log: options.log,
    });
  }

  /** Start the informers; the controllers' workers start once every informer has listed (as WaitForCacheSync). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.informers.start();
    this.waitForSync();
  }

  stop(): void {
    this.running = false;
    this.informers.stop();
    for (const c of this.controllers()) c.stop();
  }

  private controllers(): { start(): void; stop(): void }[] {
    return [this.replicaSets, this.deployments, this.endpoints, this.garbageCollector, this.nodeLifecycle, this.statefulSets, this.daemonSets, this.jobs, this.cronJobs, this.ttlAfterFinished, this.disruption, this.serviceAccounts];
  }

  private waitForSync(): void {
    if (!this.running || this.startedWorkers) return;
    if (!this.informers.allSynced()) {
      this.options.clock.timer('controller-manager/wait-for-sync', CACHE_SYNC_POLL_MS, () => this.waitForSync());
      return;
    }
    this.startedWorkers = true;
    for (const c of this.controllers()) c.start();
  }
}

/** How often a starting manager checks that its caches have listed (client-go polls every 100 ms). */
const CACHE_SYNC_POLL_MS = 100;
