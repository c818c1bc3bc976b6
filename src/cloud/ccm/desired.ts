/**
 * What the cloud-controller-manager wants, as pure functions of Kubernetes
 * objects and cloud resources: how an initialized Node looks, which
 * Services need a load balancer and what it should be, which route a node
 * needs. The controllers compare these with what exists and take one step.
 */
import type { Node, NodeAddress, Service, Taint } from '../../api/types/index.js';
import type { Instance, LoadBalancer, LoadBalancerListener, Route } from '../provider/types.js';

/** Set by the kubelet (--cloud-provider=external) until the cloud-controller-manager has initialized the node. */
export const UNINITIALIZED_TAINT_KEY = 'node.cloudprovider.kubernetes.io/uninitialized';
/** Put on a NotReady node whose instance is shut down, removed when it is Ready again. */
export const SHUTDOWN_TAINT_KEY = 'node.cloudprovider.kubernetes.io/shutdown';
export const SHUTDOWN_TAINT: Taint = Object.freeze({ key: SHUTDOWN_TAINT_KEY, effect: 'NoSchedule' });
export const ZONE_LABEL = 'topology.kubernetes.io/zone';
export const REGION_LABEL = 'topology.kubernetes.io/region';
export const INSTANCE_TYPE_LABEL = 'node.kubernetes.io/instance-type';
/** Nodes with this label are never load balancer targets (Kubernetes' own label). */
export const EXCLUDE_FROM_LB_LABEL = 'node.kubernetes.io/exclude-from-external-load-balancers';
/** Held on a LoadBalancer Service until its load balancer is gone, so deleting the Service cannot leak one. */
export const LB_CLEANUP_FINALIZER = 'service.kubernetes.io/load-balancer-cleanup';
/** Load balancer names, as Kubernetes' DefaultLoadBalancerName: 'a' + the Service UID without dashes, at most 32 characters. */
export const LOAD_BALANCER_NAME_LENGTH_MAX = 32;

export const PROVIDER_ID_PREFIX = 'kubethreads:///';

/**
 * A Node whose providerID names another provider (a `kubethreads nodes` process's, kwok's): this cloud has no
 * instance for it and must neither initialize nor delete it, as k8s' cloud node lifecycle controller skips a
 * node its provider cannot look up.
 */
export function ownedByAnotherProvider(node: Node): boolean {
  const providerID = node.spec?.providerID ?? '';
  return providerID !== '' && !providerID.startsWith(PROVIDER_ID_PREFIX);
}

/** `kubethreads:///<zone>/<id>` → the instance ID; undefined for another provider's or a malformed ID. */
export function instanceIdFromProviderID(providerID: string | undefined): string | undefined {
  if (providerID === undefined || !providerID.startsWith(PROVIDER_ID_PREFIX)) return undefined;
  const parts = providerID.slice(PROVIDER_ID_PREFIX.length).split('/');
  const id = parts[parts.length - 1];
  return parts.length === 2 && id !== undefined && /^i-[0-9a-f]+$/.test(id) ? id : undefined;
}

export function loadBalancerName(service: Service): string {
  const uid = service.metadata.uid;
  if (uid === undefined || uid === '') throw new Error(`service ${service.metadata.namespace}/${service.metadata.name} has no uid: it was not read from the API server`);
  return `a${uid.replace(/-/g, '')}`.slice(0, LOAD_BALANCER_NAME_LENGTH_MAX);
}

export function hasTaint(node: Node, key: string): boolean {
  return (node.spec?.taints ?? []).some((t) => t.key === key);
}

export function isNodeReady(node: Node): boolean {
  return (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

export function nodeAddressesOf(instance: Instance): NodeAddress[] {
  return instance.addresses.map((a) => ({ type: a.type, address: a.address }));
}

/** The node as the cloud node controller leaves it: providerID, topology labels, no uninitialized taint. Status addresses are written separately. */
export function initializedNode(node: Node, instance: Instance): Node {
  const providerID = node.spec?.providerID;
  if (providerID !== undefined && providerID !== '' && providerID !== instance.providerID) {
    throw new Error(`node ${node.metadata.name} has providerID ${providerID}, not ${instance.providerID}: refusing to initialize it from another instance`);
  }
  return {
    ...node,
    metadata: {
      ...node.metadata,
      labels: { ...(node.metadata.labels ?? {}), [ZONE_LABEL]: instance.zone, [REGION_LABEL]: instance.region, [INSTANCE_TYPE_LABEL]: instance.instanceType },
    },
    spec: {
      ...(node.spec ?? {}),
      providerID: instance.providerID,
      taints: (node.spec?.taints ?? []).filter((t) => t.key !== UNINITIALIZED_TAINT_KEY),
    },
  };
}

export function withTaint(node: Node, taint: Taint, present: boolean): Node {
  const others = (node.spec?.taints ?? []).filter((t) => t.key !== taint.key);
  return { ...node, spec: { ...(node.spec ?? {}), taints: present ? [...others, { ...taint }] : others } };
}

// ------------------------------------------------------------ services

export function wantsLoadBalancer(service: Service): boolean {
  return service.spec?.type === 'LoadBalancer' && service.metadata.deletionTimestamp === undefined;
}

export function hasCleanupFinalizer(service: Service): boolean {
  return (service.metadata.finalizers ?? []).includes(LB_CLEANUP_FINALIZER);
}

/** Load balancers target initialized, live nodes not excluded by label; the cloud forwards only to running ones (its health check). */
export function isLoadBalancerTarget(node: Node): boolean {
  if (node.metadata.deletionTimestamp !== undefined) return false;
  if (node.metadata.labels?.[EXCLUDE_FROM_LB_LABEL] !== undefined) return false;
  if (hasTaint(node, UNINITIALIZED_TAINT_KEY)) return false;
  return instanceIdFromProviderID(node.spec?.providerID) !== undefined;
}

/** The instance a node adds to every load balancer's targets, or undefined when it is not a target. */
export function targetInstanceIdOf(node: Node | undefined): string | undefined {
  return node === undefined || !isLoadBalancerTarget(node) ? undefined : instanceIdFromProviderID(node.spec?.providerID);
}

export function targetInstanceIds(nodes: readonly Node[]): string[] {
  const ids = new Set<string>();
  for (const node of nodes) {
    const id = targetInstanceIdOf(node);
    if (id !== undefined) ids.add(id);
  }
  return [...ids].sort();
}

export class ServiceSpecError extends Error {
  override readonly name = 'ServiceSpecError';
}

/** One TCP listener per Service port, forwarding to the port's NodePort. */
export function listenersFor(service: Service): LoadBalancerListener[] {
  const listeners: LoadBalancerListener[] = [];
  for (const port of service.spec?.ports ?? []) {
    if ((port.protocol ?? 'TCP') !== 'TCP') throw new ServiceSpecError(`port ${port.name ?? port.port}: only TCP load balancers are simulated, not ${port.protocol}`);
    if (port.nodePort === undefined) throw new ServiceSpecError(`port ${port.name ?? port.port} has no nodePort yet`);
    listeners.push({ protocol: 'TCP', port: port.port, targetPort: port.nodePort });
  }
  if (listeners.length === 0) throw new ServiceSpecError('a LoadBalancer Service needs at least one port');
  return listeners.sort((a, b) => a.port - b.port);
}

export function sameListeners(a: readonly LoadBalancerListener[], b: readonly LoadBalancerListener[]): boolean {
  const key = (ls: readonly LoadBalancerListener[]) => JSON.stringify([...ls].sort((x, y) => x.port - y.port).map((l) => [l.protocol, l.port, l.targetPort]));
  return key(a) === key(b);
}

export function sameTargets(a: readonly string[], b: readonly string[]): boolean {
  return JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());
}

export function ingressOf(lb: LoadBalancer): Array<{ ip: string }> {
  return [{ ip: lb.address }];
}

export function sameIngress(service: Service, ingress: ReadonlyArray<{ ip?: string; hostname?: string }>): boolean {
  const current = service.status?.loadBalancer?.ingress ?? [];
  return JSON.stringify(current.map((i) => [i.ip ?? '', i.hostname ?? ''])) === JSON.stringify(ingress.map((i) => [i.ip ?? '', i.hostname ?? '']));
}

// ------------------------------------------------------------ routes

export function routeName(clusterName: string, node: Node): string {
  return `${clusterName}-${node.metadata.name}`;
}

export interface DesiredRoute {
  name: string;
  nodeName: string;
  destinationCidr: string;
  targetInstanceId: string;
}

/** A route per node with a pod CIDR and an instance. */
/** The route a node needs (its pod CIDR to its instance), or undefined while it needs none. */
export function desiredRouteOf(clusterName: string, node: Node | undefined): DesiredRoute | undefined {
  if (node === undefined) return undefined;
  const cidr = node.spec?.podCIDR;
  const instanceId = instanceIdFromProviderID(node.spec?.providerID);
  if (cidr === undefined || cidr === '' || instanceId === undefined || node.metadata.deletionTimestamp !== undefined) return undefined;
  return { name: routeName(clusterName, node), nodeName: node.metadata.name!, destinationCidr: cidr, targetInstanceId: instanceId };
}

/** Two nodes' routes (`desiredRouteOf`) are the same route, or both none. */
export function sameDesiredRoute(a: DesiredRoute | undefined, b: DesiredRoute | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.name === b.name && a.nodeName === b.nodeName && a.destinationCidr === b.destinationCidr && a.targetInstanceId === b.targetInstanceId;
}

export function desiredRoutes(clusterName: string, nodes: readonly Node[]): DesiredRoute[] {
  const routes: DesiredRoute[] = [];
  for (const node of nodes) {
    const route = desiredRouteOf(clusterName, node);
    if (route !== undefined) routes.push(route);
  }
  return routes.sort((a, b) => a.name.localeCompare(b.name));
}

export interface RoutePlan {
  create: DesiredRoute[];
  /** Names of routes to delete: ours (by cluster prefix) that no node wants, or wrong ones to be replaced. */
  delete: string[];
}

/** Compare the cloud's route table with what the nodes need; routes not named with our cluster's prefix are left alone. */
export function planRoutes(clusterName: string, desired: readonly DesiredRoute[], existing: readonly Route[]): RoutePlan {
  const byName = new Map(existing.map((r) => [r.name, r]));
  const wanted = new Set(desired.map((d) => d.name));
  const plan: RoutePlan = { create: [], delete: [] };
  for (const route of existing) {
    if (!route.name.startsWith(`${clusterName}-`)) continue;
    if (!wanted.has(route.name)) plan.delete.push(route.name);
  }
  for (const want of desired) {
    const have = byName.get(want.name);
    if (have === undefined) {
      plan.create.push(want);
      continue;
    }
    if (have.destinationCidr !== want.destinationCidr || have.targetInstanceId !== want.targetInstanceId || have.state !== 'active') {
      plan.delete.push(have.name);
      plan.create.push(want);
    }
  }
  return plan;
}
