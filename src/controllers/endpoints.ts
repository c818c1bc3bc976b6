/**
 * The Endpoints and EndpointSlice controllers (Kubernetes'
 * pkg/controller/endpoint and endpointslice), folded into one sync per
 * Service: the pods its selector picks, with an IP, become
 * - an Endpoints object (ready pods in `addresses`, not-ready ones in
 *   `notReadyAddresses`, terminating ones left out), and
 * - EndpointSlices of at most 100 endpoints with ready / serving /
 *   terminating conditions, the pod's node and the node's zone, owned by the
 *   Service (so the garbage collector removes them with it).
 * Slices are named `<service>-<n>` rather than with a random suffix: a name
 * that follows from the state means a stale cache can never make two.
 */
import type { Endpoints, EndpointAddress, EndpointPort, EndpointSlice, EndpointSliceEndpoint, EndpointSubset, Node, Pod, Service, ServicePort } from '../api/types/index.js';
import { ENDPOINTS, ENDPOINTSLICES, INDEX_NAMESPACE, isConflict, isNotFound, objectKey, type Clock, type Informer } from '../client/index.js';
import { isDeleting, isPodReady, ownerRefTo, type ControllerApi } from './common.js';
import { sameJson } from '../api/json-equal.js';
import { KeyedWorkers, type Logger, type SyncResult } from './runtime.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
export const MANAGED_BY = 'endpointslice-controller.k8s.io';
export const ZONE_LABEL = 'topology.kubernetes.io/zone';
/** On the Endpoints and slices of a Service without a cluster IP (`clusterIP: None`), as Kubernetes labels them. */
export const HEADLESS_LABEL = 'service.kubernetes.io/headless';
/** Kubernetes' --max-endpoints-per-slice default. */
export const ENDPOINTS_PER_SLICE_MAX = 100;

export interface EndpointsControllerOptions {
  api: ControllerApi;
  clock: Clock;
  services: Informer<Service>;
  pods: Informer<Pod>;
  nodes: Informer<Node>;
  endpoints: Informer<Endpoints>;
  slices: Informer<EndpointSlice>;
  workers?: number;
  log?: Logger;
}

interface Resolved {
  pod: Pod;
  ports: EndpointPort[];
}

export class EndpointsController {
  readonly workers: KeyedWorkers;

  constructor(private readonly options: EndpointsControllerOptions) {
    this.workers = new KeyedWorkers({ name: 'endpoints', clock: options.clock, workers: options.workers ?? 5, sync: (key) => this.sync(key), log: options.log });
    const svc = (s: Service) => this.workers.enqueue(objectKey(s));
    options.services.addEventHandler({ onAdd: svc, onUpdate: (_o, s) => svc(s), onDelete: svc });
    options.pods.addEventHandler({
      onAdd: (p) => this.podChanged(p),
      onUpdate: (old, p) => {
        this.podChanged(p);
        if (!sameLabels(old.metadata.labels, p.metadata.labels)) this.podChanged(old);
      },
      onDelete: (p) => this.podChanged(p),
    });
    // A slice or Endpoints changed by someone else is put back.
    const owned = (o: Endpoints | EndpointSlice) => {
      const name = o.kind === 'EndpointSlice' || (o as EndpointSlice).endpoints !== undefined ? o.metadata.labels?.[SERVICE_NAME_LABEL] : o.metadata.name;
      if (name !== undefined) this.workers.enqueue(`${o.metadata.namespace}/${name}`);
    };
    options.slices.addEventHandler({ onUpdate: (_o, s) => owned(s), onDelete: owned });
    // Endpoints: ours put back; a selectorless Service's (the user's) mirrored.
    options.endpoints.addEventHandler({ onAdd: owned, onUpdate: (_o, e) => owned(e), onDelete: owned });
  }

  start(): void {
    this.workers.start();
  }

  stop(): void {
    this.workers.stop();
  }

  private podChanged(pod: Pod): void {
    for (const s of this.options.services.store.byIndex(INDEX_NAMESPACE, pod.metadata.namespace ?? '')) {
      if (selects(s, pod)) this.workers.enqueue(objectKey(s));
    }
  }

  async sync(key: string): Promise<SyncResult> {
    const service = this.options.services.store.get(key);
    const [namespace, name] = key.split('/') as [string, string];
    if (service === undefined || isDeleting(service)) {
      // The slices go with the Service through their ownerReference; Endpoints carry none, so they go here.
      const stale = this.options.endpoints.store.get(key);
      if (stale !== undefined) await this.ignoreNotFound(this.options.api.delete(ENDPOINTS, namespace, name));
      return;
    }
    if (service.spec?.selector === undefined || Object.keys(service.spec.selector).length === 0) {
      // Endpoints managed by the user: mirrored into EndpointSlices (Kubernetes' EndpointSliceMirroring controller), which is all kube-proxy reads.
      await this.applySlices(service, mirroredSlices(service, this.options.endpoints.store.get(key)), MIRRORED_BY);
      return;
    }
    const pods = this.options.pods.store.byIndex(INDEX_NAMESPACE, namespace).filter((p) => selects(service, p) && podIp(p) !== undefined
      && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
    const resolved = pods.map((pod) => ({ pod, ports: resolvePorts(service.spec?.ports ?? [], pod) }));
    await this.syncEndpoints(service, resolved);
    await this.syncSlices(service, resolved);
    return;
  }

  private async syncEndpoints(service: Service, resolved: Resolved[]): Promise<void> {
    const groups = new Map<string, EndpointSubset>();
    for (const { pod, ports } of resolved) {
      if (isDeleting(pod)) continue;
      const portsKey = JSON.stringify(ports);
      let subset = groups.get(portsKey);
      if (subset === undefined) groups.set(portsKey, (subset = { ports }));
      const address: EndpointAddress = { ip: podIp(pod)!, targetRef: { kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid } };
      const hostname = podHostname(service, pod);
      if (hostname !== undefined) address.hostname = hostname;
      if (pod.spec?.nodeName) address.nodeName = pod.spec.nodeName;
      if (isPodReady(pod) || service.spec?.publishNotReadyAddresses === true) (subset.addresses ??= []).push(address);
      else (subset.notReadyAddresses ??= []).push(address);
    }
    const subsets = [...groups.values()].map((s) => ({
      ...(s.addresses ? { addresses: s.addresses.sort(byIp) } : {}),
      ...(s.notReadyAddresses ? { notReadyAddresses: s.notReadyAddresses.sort(byIp) } : {}),
      ports: s.ports,
    })).sort((a, b) => JSON.stringify(a.ports).localeCompare(JSON.stringify(b.ports)));
    const existing = this.options.endpoints.store.get(objectKey(service));
    const labels: Record<string, string> = { ...(service.metadata.labels ?? {}), ...(isHeadless(service) ? { [HEADLESS_LABEL]: '' } : {}) };
    if (existing !== undefined && sameJson(existing.subsets ?? [], subsets) && sameJson(existing.metadata.labels ?? {}, labels)) return;
    const desired: Endpoints = { metadata: { name: service.metadata.name, namespace: service.metadata.namespace, labels }, subsets };
    if (existing === undefined) {
      try {
        await this.options.api.create(ENDPOINTS, desired);
      } catch (error) {
        if (!isConflict(error)) throw error;
        throw new Error(`endpoints ${objectKey(service)} exist but are not in the cache yet; retrying`);
      }
      return;
    }
    await this.options.api.update(ENDPOINTS, { ...existing, metadata: { ...existing.metadata, labels }, subsets });
  }

  private async syncSlices(service: Service, resolved: Resolved[]): Promise<void> {
    const namespace = service.metadata.namespace!;
    const byPorts = new Map<string, Resolved[]>();
    for (const r of resolved) {
      const k = JSON.stringify(r.ports);
      const list = byPorts.get(k) ?? [];
      list.push(r);
      byPorts.set(k, list);
    }
    const desired: EndpointSlice[] = [];
    const groups = [...byPorts.entries()].sort(([a], [b]) => a.localeCompare(b));
    if (groups.length === 0) groups.push([JSON.stringify([]), []]); // a Service with no endpoints keeps one empty slice, as Kubernetes does
    for (const [, members] of groups) {
      const endpoints = members.map(({ pod }) => this.sliceEndpoint(service, pod)).sort((a, b) => compareIps(a.addresses[0]!, b.addresses[0]!));
      const ports = members[0]?.ports.map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP' })) ?? [];
      for (let i = 0; i === 0 || i < endpoints.length; i += ENDPOINTS_PER_SLICE_MAX) {
        desired.push({
          apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
          metadata: {
            name: `${service.metadata.name}-${desired.length}`, namespace,
            labels: { [SERVICE_NAME_LABEL]: service.metadata.name!, [MANAGED_BY_LABEL]: MANAGED_BY, ...(isHeadless(service) ? { [HEADLESS_LABEL]: '' } : {}) },
            ownerReferences: [ownerRefTo(service, 'v1', 'Service')],
          },
          addressType: 'IPv4',
          endpoints: endpoints.slice(i, i + ENDPOINTS_PER_SLICE_MAX),
          ports,
        });
      }
    }
    await this.applySlices(service, desired, MANAGED_BY);
  }

  /** Makes the slices of `service` managed by `managedBy` exactly `desired` (created, updated, extra ones deleted). */
  private async applySlices(service: Service, desired: EndpointSlice[], managedBy: string): Promise<void> {
    const namespace = service.metadata.namespace!;
    const existing = this.options.slices.store.byIndex(INDEX_NAMESPACE, namespace)
      .filter((s) => s.metadata.labels?.[SERVICE_NAME_LABEL] === service.metadata.name && s.metadata.labels?.[MANAGED_BY_LABEL] === managedBy);
    const existingByName = new Map(existing.map((s) => [s.metadata.name, s]));
    for (const slice of desired) {
      const current = existingByName.get(slice.metadata.name);
      existingByName.delete(slice.metadata.name);
      if (current === undefined) {
        try {
          await this.options.api.create(ENDPOINTSLICES, slice);
        } catch (error) {
          if (!isConflict(error)) throw error;
          throw new Error(`endpointslice ${namespace}/${slice.metadata.name} exists but is not in the cache yet; retrying`);
        }
        continue;
      }
      if (sameJson(current.endpoints ?? [], slice.endpoints) && sameJson(current.ports ?? [], slice.ports)
        && current.metadata.ownerReferences?.[0]?.uid === service.metadata.uid) continue;
      await this.options.api.update(ENDPOINTSLICES, { ...current, metadata: { ...current.metadata, labels: slice.metadata.labels, ownerReferences: slice.metadata.ownerReferences }, endpoints: slice.endpoints, ports: slice.ports });
    }
    for (const extra of existingByName.values()) await this.ignoreNotFound(this.options.api.delete(ENDPOINTSLICES, namespace, extra.metadata.name!));
  }

  private sliceEndpoint(service: Service, pod: Pod): EndpointSliceEndpoint {
    const ready = isPodReady(pod) || service.spec?.publishNotReadyAddresses === true;
    const terminating = isDeleting(pod);
    const endpoint: EndpointSliceEndpoint = {
      addresses: [podIp(pod)!],
      conditions: { ready: ready && !terminating, serving: ready, terminating },
      targetRef: { kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid },
    };
    const hostname = podHostname(service, pod);
    if (hostname !== undefined) endpoint.hostname = hostname;
    const nodeName = pod.spec?.nodeName;
    if (nodeName) {
      endpoint.nodeName = nodeName;
      const zone = this.options.nodes.store.get(nodeName)?.metadata.labels?.[ZONE_LABEL];
      if (zone !== undefined) endpoint.zone = zone;
    }
    return endpoint;
  }

  private async ignoreNotFound(p: Promise<unknown>): Promise<void> {
    try {
      await p;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
}

/** The managed-by value of slices mirrored from a selectorless Service's Endpoints, as Kubernetes labels them. */
export const MIRRORED_BY = 'endpointslicemirroring-controller.k8s.io';

/** Pure: the EndpointSlices mirroring a selectorless Service's Endpoints (none when it has none), at most 100 endpoints each. */
export function mirroredSlices(service: Service, endpoints: Endpoints | undefined): EndpointSlice[] {
  const slices: EndpointSlice[] = [];
  for (const subset of endpoints?.subsets ?? []) {
    const ports = (subset.ports ?? []).map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP' }));
    const members: EndpointSliceEndpoint[] = [
      ...(subset.addresses ?? []).map((a) => mirroredEndpoint(a, true)),
      ...(subset.notReadyAddresses ?? []).map((a) => mirroredEndpoint(a, false)),
    ];
    for (let i = 0; i < members.length; i += ENDPOINTS_PER_SLICE_MAX) {
      slices.push({
        apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
        metadata: {
          name: `${service.metadata.name}-mirror-${slices.length}`, namespace: service.metadata.namespace,
          labels: { [SERVICE_NAME_LABEL]: service.metadata.name!, [MANAGED_BY_LABEL]: MIRRORED_BY },
          ownerReferences: [ownerRefTo(service, 'v1', 'Service')],
        },
        addressType: 'IPv4',
        endpoints: members.slice(i, i + ENDPOINTS_PER_SLICE_MAX),
        ports,
      });
    }
  }
  return slices;
}

function mirroredEndpoint(address: EndpointAddress, ready: boolean): EndpointSliceEndpoint {
  return {
    addresses: [address.ip],
    conditions: { ready, serving: ready, terminating: false },
    ...(address.targetRef !== undefined ? { targetRef: address.targetRef } : {}),
    ...(address.nodeName !== undefined ? { nodeName: address.nodeName } : {}),
  };
}

function selects(service: Service, pod: Pod): boolean {
  const selector = service.spec?.selector;
  if (selector === undefined || Object.keys(selector).length === 0) return false;
  const labels = pod.metadata.labels ?? {};
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** A headless Service (`clusterIP: None`): clients resolve its pods directly, by name when they have a hostname. */
export function isHeadless(service: Service): boolean {
  return service.spec?.clusterIP === 'None';
}

/** The pod's hostname as an endpoint carries it: only for the Service its `subdomain` names (a StatefulSet's serviceName), as Kubernetes does. */
export function podHostname(service: Service, pod: Pod): string | undefined {
  const hostname = pod.spec?.hostname;
  if (!hostname || pod.spec?.subdomain !== service.metadata.name || pod.metadata.namespace !== service.metadata.namespace) return undefined;
  return hostname;
}

function podIp(pod: Pod): string | undefined {
  const ip = pod.status?.podIP;
  return ip === undefined || ip === '' ? undefined : ip;
}

function byIp(a: EndpointAddress, b: EndpointAddress): number {
  return compareIps(a.ip, b.ip);
}

/**
 * Addresses in byte order, as Kubernetes sorts them (Go's `<` on strings). Not `localeCompare`: ICU collation was
 * 1 % of the 20-node start-up's CPU (every sync sorts every address of a Service), and it would put an IPv6 address's
 * ':' before the digits. For IPv4 the two orders are the same.
 */
export function compareIps(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Service ports with targetPort resolved against the pod (a named targetPort looks up the container port of that name). */
export function resolvePorts(ports: ServicePort[], pod: Pod): EndpointPort[] {
  const out: EndpointPort[] = [];
  for (const sp of ports) {
    const target = sp.targetPort ?? sp.port;
    let port: number | undefined;
    if (typeof target === 'number') port = target;
    else if (/^\d+$/.test(target)) port = Number(target);
    else {
      for (const c of pod.spec?.containers ?? []) {
        const found = (c.ports ?? []).find((p) => p.name === target && (p.protocol ?? 'TCP') === (sp.protocol ?? 'TCP'));
        if (found !== undefined) {
          port = found.containerPort;
          break;
        }
      }
    }
    if (port === undefined) continue; // the pod does not expose the named port: it serves none of this port
    const endpointPort: EndpointPort = { port, protocol: sp.protocol ?? 'TCP' };
    if (sp.name) endpointPort.name = sp.name;
    out.push(endpointPort);
  }
  return out;
}

/**
 * Whether two label maps are equal (order aside): a pod update that changed
 * them may take the pod out of a Service's selection. Every pod status update
 * asks, so no JSON text is built for it.
 */
export function sameLabels(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  if (a === b) return true;
  const left = a ?? {};
  const right = b ?? {};
  let n = 0;
  for (const key in left) {
    if (left[key] !== right[key] || !Object.prototype.hasOwnProperty.call(right, key)) return false;
    n++;
  }
  for (const _ in right) n--;
  return n === 0;
}
