/**
 * The cloud-controller-manager as an actor: an ApiClient to the API server,
 * an ActorCloudClient to the cloud actor, time from an ActorClock, and the
 * CloudControllerManager (leader election and the four controllers).
 */
import { defineBehaviour, unhandled } from '../../actor/behaviour.js';
import { ApiClient, CONTROL_PLANE_LIST_SLICE_ITEMS } from '../../client/api-client.js';
import { ActorClock } from '../../client/clock.js';
import { ClientMetrics } from '../../client/metrics.js';
import type { LeaderElectionTimings } from '../../client/leader-election.js';
import { ActorCloudClient, CLOUD_CALL_TIMEOUT_MS } from '../provider/client.js';
import { CLOUD_NAME } from '../provider/protocol.js';
import { CCM_DEFAULTS, CloudControllerManager, type CcmControllerName } from './manager.js';
import type { RetryBackoff } from './controller.js';
import type { CcmMsg } from './protocol.js';

export interface CcmArgs {
  /** Lease holder identity (default: the actor's name). */
  identity?: string;
  apiserver?: string;
  cloud?: string;
  clusterName?: string;
  controllers?: CcmControllerName[];
  /** Leader election timings; `false` runs without election (one replica). Default: Kubernetes' 15 s / 10 s / 2 s. */
  leaderElection?: LeaderElectionTimings | false;
  nodeMonitorPeriodMs?: number;
  routeReconcilePeriodMs?: number;
  resyncPeriodMs?: number;
  retry?: RetryBackoff;
  serviceWorkers?: number;
  cloudCallTimeoutMs?: number;
  apiRequestTimeoutMs?: number;
  /** Initialize Nodes without providerID even when they lack the uninitialized taint (default true; see CcmOptions). */
  adoptUntaintedNodes?: boolean;
  /** Test only: a service controller without idempotent creation, to show the duplicate check bites. */
  unsafeNonIdempotentCreate?: boolean;
}

export const cloudControllerManager = defineBehaviour<CcmMsg, CcmArgs | undefined>(import.meta.url, 'cloud-controller-manager', (ctx, rawArgs) => {
  const args = rawArgs ?? {};
  const clientMetrics = new ClientMetrics(ctx.name);
  const clock = new ActorClock(ctx, undefined, clientMetrics);
  const api = new ApiClient(ctx, { clock, apiserver: args.apiserver, requestTimeoutMs: args.apiRequestTimeoutMs, listSliceItems: CONTROL_PLANE_LIST_SLICE_ITEMS });
  const cloud = new ActorCloudClient(ctx, args.cloud ?? CLOUD_NAME, args.cloudCallTimeoutMs ?? CLOUD_CALL_TIMEOUT_MS);
  const manager = new CloudControllerManager(
    { api, cloud, clock, log: ctx.log },
    {
      identity: args.identity ?? ctx.name,
      clusterName: args.clusterName ?? CCM_DEFAULTS.clusterName,
      controllers: args.controllers ?? CCM_DEFAULTS.controllers,
      leaderElection: args.leaderElection === false ? undefined : args.leaderElection ?? { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 },
      leaseNamespace: CCM_DEFAULTS.leaseNamespace,
      leaseName: CCM_DEFAULTS.leaseName,
      nodeMonitorPeriodMs: args.nodeMonitorPeriodMs ?? CCM_DEFAULTS.nodeMonitorPeriodMs,
      routeReconcilePeriodMs: args.routeReconcilePeriodMs ?? CCM_DEFAULTS.routeReconcilePeriodMs,
      resyncPeriodMs: args.resyncPeriodMs ?? CCM_DEFAULTS.resyncPeriodMs,
      retry: args.retry ?? CCM_DEFAULTS.retry,
      serviceWorkers: args.serviceWorkers ?? CCM_DEFAULTS.serviceWorkers,
      adoptUntaintedNodes: args.adoptUntaintedNodes ?? CCM_DEFAULTS.adoptUntaintedNodes,
      unsafeNonIdempotentCreate: args.unsafeNonIdempotentCreate,
    },
  );
  manager.start();
  return {
    receive(msg) {
      if (api.handle(msg)) return undefined;
      switch (msg.type) {
        case 'client.timer':
          clock.fire(msg.body.key);
          return undefined;
        case 'ccm.status':
          return manager.status();
        default:
          return unhandled;
      }
    },
    onStop() {
      void manager.stop();
      api.close();
    },
    metrics: () => clientMetrics.text(),
    inspect() {
      return manager.status();
    },
  };
});
