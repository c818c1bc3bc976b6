/**
 * The cloud's API: one request type per operation and what it answers.
 * `CloudRequest` is the discriminated union the actor receives in
 * `cloud.call`; `CloudResponse<K>` names the value a successful call of
 * operation K carries.
 */
import type { Instance, LoadBalancer, LoadBalancerListener, Route } from './types.js';

export interface CloudOps {
  'instances.create': { params: { name: string; zone?: string; instanceType?: string; internalIP?: string; tags?: Record<string, string> }; result: Instance };
  /** Terminated instances stay listed (state `terminated`), as real clouds show them for a while. */
  'instances.list': { params: { name?: string }; result: Instance[] };
  'instances.get': { params: { id: string }; result: Instance };
  'instances.terminate': { params: { id: string }; result: Instance };
  'instances.stop': { params: { id: string }; result: Instance };
  'instances.start': { params: { id: string }; result: Instance };
  /** Targets are instance IDs; terminated ones are dropped silently, unknown ones refused. Not idempotent by name. With a `clientToken` that created a load balancer still alive, answers that one instead of creating another. */
  'lb.create': { params: { name: string; listeners: LoadBalancerListener[]; targets: string[]; clientToken?: string; tags?: Record<string, string> }; result: LoadBalancer };
  'lb.list': { params: { name?: string }; result: LoadBalancer[] };
  'lb.get': { params: { id: string }; result: LoadBalancer };
  'lb.update': { params: { id: string; listeners?: LoadBalancerListener[]; targets?: string[] }; result: LoadBalancer };
  'lb.delete': { params: { id: string }; result: { id: string } };
  'routes.create': { params: { name: string; destinationCidr: string; targetInstanceId: string }; result: Route };
  'routes.list': { params: { targetInstanceId?: string }; result: Route[] };
  'routes.delete': { params: { name: string }; result: { name: string } };
}

export type CloudOp = keyof CloudOps;

export type CloudRequest = { [K in CloudOp]: { op: K } & CloudOps[K]['params'] }[CloudOp];

export type CloudRequestOf<K extends CloudOp> = { op: K } & CloudOps[K]['params'];

export type CloudResponse<K extends CloudOp> = CloudOps[K]['result'];

/** Operations that change state (an ambiguous failure of one of these may still have been applied). */
export const MUTATING_OPS: ReadonlySet<CloudOp> = new Set<CloudOp>([
  'instances.create', 'instances.terminate', 'instances.stop', 'instances.start',
  'lb.create', 'lb.update', 'lb.delete', 'routes.create', 'routes.delete',
]);
