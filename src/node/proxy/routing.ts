/**
 * kube-proxy's pure core: from Services and their EndpointSlices (or v1
 * Endpoints), the routing table of one node, and round-robin picking over it.
 * No I/O: the TCP forwarder (threaded) and the message router (simulated)
 * both read this table.
 *
 * Which endpoints a Service port uses, as kube-proxy's CategorizeEndpoints does:
 *   - ready endpoints; when none is ready, those still serving while terminating
 *     (so connections drain to pods shutting down gracefully rather than fail);
 *   - internalTrafficPolicy Local: only endpoints on this node, and none means
 *     no route (traffic is dropped, as in Kubernetes: no silent fallback);
 *   - trafficDistribution PreferClose, or the annotation
 *     service.kubernetes.io/topology-mode: Auto: endpoints on this node first,
 *     else endpoints hinted for (or in) this node's zone, else all. The
 *     same-node tier is ours: on one machine "close" is first of all "here";
 *   - NodePort traffic with externalTrafficPolicy Local: only this node's endpoints.
 */
import { SERVICE_NAME_LABEL, type EndpointSlice, type Endpoints, type Service, type ServiceWithTrafficDistribution } from './types.js';

export const TOPOLOGY_MODE_ANNOTATION = 'service.kubernetes.io/topology-mode';
/** Ports per Service: the API server allows far fewer in practice; this bounds a malformed object's cost. */
export const SERVICE_PORTS_MAX = 256;

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

export interface Backend {
  ip: string;
  port: number;
  nodeName: string | undefined;
  zone: string | undefined;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  /** Zones this endpoint is hinted for, when the slice carries hints. */
  hintZones: string[] | undefined;
  /** The pod behind it, when the slice names it. */
  podName: string | undefined;
}

export interface ServicePortRoute {
  /** `namespace/name:portName` (portName is '' for an unnamed single port). */
  key: string;
  serviceKey: string;
  portName: string;
  protocol: Protocol;
  /** Undefined for headless Services (they get no virtual IP). */
  clusterIP: string | undefined;
  port: number;
  nodePort: number | undefined;
  /** Every endpoint known for the port, whatever its state (for status and debugging). */
  allBackends: readonly Backend[];
  /** Where traffic to the ClusterIP goes, after readiness and policy. */
  clusterBackends: readonly Backend[];
  /** Where traffic to the NodePort goes. */
  nodePortBackends: readonly Backend[];
  /** How `clusterBackends` were chosen: 'local-only', 'same-node', 'same-zone', 'cluster', or 'none'. */
  clusterTier: string;
}

export interface NodeTopology {
  nodeName: string;
  zone?: string;
}

export interface RoutingInput {
  services: readonly Service[];
  endpointSlices?: readonly EndpointSlice[];
  /** Used for a Service that has no EndpointSlices at all. */
  endpoints?: readonly Endpoints[];
  node: NodeTopology;
}

export interface RoutingTable {
  routes: Map<string, ServicePortRoute>;
  /** `ip:port` → route key. */
  byClusterAddress: Map<string, string>;
  /** nodePort → route key. */
  byNodePort: Map<number, string>;
}

function keyOf(namespace: string | undefined, name: string | undefined): string {
  return `${namespace ?? 'default'}/${name ?? ''}`;
}

interface PortBackends {
  /** Keyed by port name. */
  byPortName: Map<string, Map<string, Backend>>;
}

function addBackend(into: PortBackends, portName: string, backend: Backend): void {
  let byAddress = into.byPortName.get(portName);
  if (byAddress === undefined) into.byPortName.set(portName, (byAddress = new Map()));
  const id = `${backend.ip}:${backend.port}`;
  const existing = byAddress.get(id);
  // The same endpoint in two slices (mid-update): trust the readier copy.
  if (existing === undefined || (!existing.ready && backend.ready)) byAddress.set(id, backend);
}

function fromSlices(slices: readonly EndpointSlice[]): Map<string, PortBackends> {
  const out = new Map<string, PortBackends>();
  for (const slice of slices) {
    const serviceName = slice.metadata.labels?.[SERVICE_NAME_LABEL];
    if (serviceName === undefined || slice.addressType === 'FQDN') continue;
    const key = keyOf(slice.metadata.namespace, serviceName);
    let entry = out.get(key);
    if (entry === undefined) out.set(key, (entry = { byPortName: new Map() }));
    for (const port of slice.ports ?? []) {
      if (typeof port.port !== 'number') continue;
      for (const endpoint of slice.endpoints ?? []) {
        const ready = endpoint.conditions?.ready ?? true;
        const serving = endpoint.conditions?.serving ?? ready;
        const terminating = endpoint.conditions?.terminating ?? false;
        for (const ip of endpoint.addresses ?? []) {
          addBackend(entry, port.name ?? '', {
            ip,
            port: port.port,
            nodeName: endpoint.nodeName,
            zone: endpoint.zone,
            ready: ready === true,
            serving: serving === true,
            terminating: terminating === true,
            hintZones: endpoint.hints?.forZones?.map((z) => z.name),
            podName: endpoint.targetRef?.kind === 'Pod' ? endpoint.targetRef.name : undefined,
          });
        }
      }
    }
  }
  return out;
}

function fromEndpoints(list: readonly Endpoints[]): Map<string, PortBackends> {
  const out = new Map<string, PortBackends>();
  for (const ep of list) {
    const entry: PortBackends = { byPortName: new Map() };
    out.set(keyOf(ep.metadata.namespace, ep.metadata.name), entry);
    for (const subset of ep.subsets ?? []) {
      for (const port of subset.ports ?? []) {
        const add = (ready: boolean) => (address: { ip: string; nodeName?: string; targetRef?: { kind?: string; name?: string } }) =>
          addBackend(entry, port.name ?? '', {
            ip: address.ip,
            port: port.port,
            nodeName: address.nodeName,
            zone: undefined,
            ready,
            serving: ready,
            terminating: false,
            hintZones: undefined,
            podName: address.targetRef?.kind === 'Pod' ? address.targetRef.name : undefined,
          });
        (subset.addresses ?? []).forEach(add(true));
        (subset.notReadyAddresses ?? []).forEach(add(false));
      }
    }
  }
  return out;
}

/** Ready endpoints, or when there are none, the serving ones that are terminating. */
export function usableBackends(all: readonly Backend[]): readonly Backend[] {
  const ready = all.filter((b) => b.ready);
  return ready.length > 0 ? ready : all.filter((b) => b.serving && b.terminating);
}

function preferCloseOf(service: ServiceWithTrafficDistribution): boolean {
  return service.spec?.trafficDistribution === 'PreferClose' || service.metadata.annotations?.[TOPOLOGY_MODE_ANNOTATION] === 'Auto';
}

/** The endpoints cluster-internal traffic may use, and how they were chosen. */
export function clusterBackendsFor(service: Service, usable: readonly Backend[], node: NodeTopology): { backends: readonly Backend[]; tier: string } {
  if (service.spec?.internalTrafficPolicy === 'Local') {
    const local = usable.filter((b) => b.nodeName === node.nodeName);
    return { backends: local, tier: local.length > 0 ? 'local-only' : 'none' };
  }
  if (usable.length === 0) return { backends: [], tier: 'none' };
  if (preferCloseOf(service as ServiceWithTrafficDistribution)) {
    const sameNode = usable.filter((b) => b.nodeName === node.nodeName);
    if (sameNode.length > 0) return { backends: sameNode, tier: 'same-node' };
    if (node.zone !== undefined) {
      const hinted = usable.some((b) => b.hintZones !== undefined);
      const sameZone = usable.filter((b) => (hinted ? b.hintZones?.includes(node.zone!) === true : b.zone === node.zone));
      if (sameZone.length > 0) return { backends: sameZone, tier: 'same-zone' };
    }
  }
  return { backends: usable, tier: 'cluster' };
}

/** A Service port's endpoints as every node sees them: sorted, and those traffic may use (frozen: shared by every node's routes). */
interface PortView {
  all: readonly Backend[];
  usable: readonly Backend[];
}

const NO_BACKENDS: readonly Backend[] = Object.freeze([]);

function portViews(backends: PortBackends | undefined): Map<string, PortView> {
  const views = new Map<string, PortView>();
  for (const [portName, byAddress] of backends?.byPortName ?? []) {
    const all = [...byAddress.values()].sort((a, b) => (a.ip === b.ip ? a.port - b.port : a.ip < b.ip ? -1 : 1));
    for (const backend of all) Object.freeze(backend);
    views.set(portName, { all: Object.freeze(all), usable: Object.freeze(usableBackends(all)) as readonly Backend[] });
  }
  return views;
}

/**
 * Port views by the very slice objects they came from, keyed by the first
 * slice. Every kube-proxy that got the same slices gets the same views: in
 * the simulated runtime a watch event is one frozen object shared by every
 * receiver, so a thousand proxies merge and sort a Service's endpoints once
 * per change instead of a thousand times (in a thread each proxy has its own
 * objects, and its own entries). A pure function of frozen input: no actor
 * can see another through it.
 */
const viewsBySlices = new WeakMap<EndpointSlice, { slices: readonly EndpointSlice[]; views: Map<string, PortView> }>();

function sliceViews(serviceKey: string, slices: readonly EndpointSlice[]): Map<string, PortView> {
  const first = slices[0]!;
  const memo = viewsBySlices.get(first);
  if (memo !== undefined && sameObjects(memo.slices, slices)) return memo.views;
  const views = portViews(fromSlices(slices).get(serviceKey));
  viewsBySlices.set(first, { slices: [...slices], views });
  return views;
}

/** The routes of one Service's ports; none for an ExternalName Service or one without a spec. */
function serviceRoutes(service: Service, views: Map<string, PortView>, node: NodeTopology): ServicePortRoute[] {
  const spec = service.spec;
  if (spec === undefined || spec.type === 'ExternalName') return [];
  const serviceKey = keyOf(service.metadata.namespace, service.metadata.name);
  const clusterIP = spec.clusterIP === undefined || spec.clusterIP === '' || spec.clusterIP === 'None' ? undefined : spec.clusterIP;
  const hasNodePorts = spec.type === 'NodePort' || spec.type === 'LoadBalancer';
  const ports = spec.ports ?? [];
  if (ports.length > SERVICE_PORTS_MAX) throw new Error(`service ${serviceKey} has ${ports.length} ports; at most ${SERVICE_PORTS_MAX}`);
  const routes: ServicePortRoute[] = [];
  for (const port of ports) {
    const portName = port.name ?? '';
    const view = views.get(portName);
    const all = view?.all ?? NO_BACKENDS;
    const usable = view?.usable ?? NO_BACKENDS;
    const cluster = clusterBackendsFor(service, usable, node);
    const nodePort = hasNodePorts && typeof port.nodePort === 'number' ? port.nodePort : undefined;
    const nodePortBackends = spec.externalTrafficPolicy === 'Local' ? usable.filter((b) => b.nodeName === node.nodeName) : usable;
    routes.push({
      key: `${serviceKey}:${portName}`,
      serviceKey,
      portName,
      protocol: port.protocol ?? 'TCP',
      clusterIP,
      port: port.port,
      nodePort,
      allBackends: all,
      clusterBackends: cluster.backends,
      nodePortBackends,
      clusterTier: cluster.tier,
    });
  }
  return routes;
}

export function buildRoutingTable(input: RoutingInput): RoutingTable {
  return new RoutingTableBuilder(input.node).build(input);
}

/** What one Service's routes were built from: the very objects, compared by identity. */
interface BuiltService {
  service: Service;
  slices: readonly EndpointSlice[];
  endpoints: Endpoints | undefined;
  routes: ServicePortRoute[];
}

function sameObjects(a: readonly object[], b: readonly object[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const NO_SLICES: readonly EndpointSlice[] = Object.freeze([]);

/**
 * Builds a node's routing table again and again, redoing only the Services
 * whose object or EndpointSlices changed since the last build (the input's
 * objects are compared by identity: an informer replaces an object when it
 * changes and keeps it when it does not). The result is always what
 * `buildRoutingTable` gives for the same input. Kubernetes' kube-proxy does
 * the same with its change trackers: a pod becoming ready rewrites one
 * Service's rules, not every Service's; with a thousand nodes each rebuilding
 * every Service on every endpoint change, that was a quarter of a run.
 */
export class RoutingTableBuilder {
  private built = new Map<string, BuiltService>();

  constructor(private readonly node: NodeTopology) {}

  build(input: Omit<RoutingInput, 'node'>): RoutingTable {
    const slicesByService = new Map<string, EndpointSlice[]>();
    for (const slice of input.endpointSlices ?? []) {
      const serviceName = slice.metadata.labels?.[SERVICE_NAME_LABEL];
      if (serviceName === undefined || slice.addressType === 'FQDN') continue;
      const key = keyOf(slice.metadata.namespace, serviceName);
      let list = slicesByService.get(key);
      if (list === undefined) slicesByService.set(key, (list = []));
      list.push(slice);
    }
    const endpointsByService = new Map<string, Endpoints>();
    for (const ep of input.endpoints ?? []) endpointsByService.set(keyOf(ep.metadata.namespace, ep.metadata.name), ep);

    const table: RoutingTable = { routes: new Map(), byClusterAddress: new Map(), byNodePort: new Map() };
    const built = new Map<string, BuiltService>();
    for (const service of input.services) {
      const serviceKey = keyOf(service.metadata.namespace, service.metadata.name);
      const slices = slicesByService.get(serviceKey) ?? NO_SLICES;
      // v1 Endpoints count only for a Service that has no EndpointSlices at all.
      const endpoints = slices.length === 0 ? endpointsByService.get(serviceKey) : undefined;
      const before = this.built.get(serviceKey);
      let entry: BuiltService;
      if (before !== undefined && before.service === service && before.endpoints === endpoints && sameObjects(before.slices, slices)) {
        entry = before;
      } else {
        const views = slices.length > 0 ? sliceViews(serviceKey, slices) : portViews(endpoints !== undefined ? fromEndpoints([endpoints]).get(serviceKey) : undefined);
        entry = { service, slices, endpoints, routes: serviceRoutes(service, views, this.node) };
      }
      built.set(serviceKey, entry);
      for (const route of entry.routes) {
        table.routes.set(route.key, route);
        if (route.clusterIP !== undefined) table.byClusterAddress.set(`${route.clusterIP}:${route.port}`, route.key);
        if (route.nodePort !== undefined) table.byNodePort.set(route.nodePort, route.key);
      }
    }
    this.built = built;
    return table;
  }
}

/**
 * Round-robin per route and traffic kind. Cursors survive table rebuilds (by
 * route key), so an endpoint change does not send the next burst to the first
 * endpoint again. `exclude` skips endpoints a retry already failed on.
 */
export class RoundRobin {
  private readonly cursors = new Map<string, number>();

  pick(route: ServicePortRoute, kind: 'cluster' | 'nodePort', exclude?: ReadonlySet<string>): Backend | undefined {
    const backends = kind === 'cluster' ? route.clusterBackends : route.nodePortBackends;
    if (backends.length === 0) return undefined;
    const cursorKey = `${kind}|${route.key}`;
    const start = this.cursors.get(cursorKey) ?? 0;
    for (let i = 0; i < backends.length; i++) {
      const index = (start + i) % backends.length;
      const backend = backends[index]!;
      if (exclude?.has(backendId(backend))) continue;
      this.cursors.set(cursorKey, (index + 1) % backends.length);
      return backend;
    }
    return undefined;
  }
}

export function backendId(backend: Backend): string {
  return `${backend.ip}:${backend.port}`;
}
