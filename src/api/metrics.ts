/**
 * kube-apiserver's own series, under Kubernetes' names and buckets, in the
 * API server's own registry (src/metrics). The handlers call `request` and
 * `watchEventCounter` on their paths; gauges that mirror state (watchers,
 * stored objects) are read when scraped, so they cost nothing per request.
 * `meteredKv` times the server's store calls (etcd_request_duration_seconds).
 *
 * Times come from the handlers' clock (the actor's `ctx.now()`).
 */
import type { KvClient, KvWatch, WatchHandlers, WatchOptions } from '../kv/client/types.js';
import { Gauge, KUBE_REQUEST_DURATION_BUCKETS, TallyCounter, TallyHistogram, componentRegistry, secondsBetween, type CounterChild, type HistogramChild, type Registry } from '../metrics/index.js';
import type { Verb } from './handlers.js';
import type { FlowClassification, FlowControlObserver, FlowDispatcher } from './flow-control.js';

export const APISERVER_COMPONENT = 'apiserver';

/** The verb label as kube-apiserver reports it: HTTP-method style, LIST and WATCH apart from GET, APPLY apart from PATCH. */
export function reportedVerb(verb: Verb, apply: boolean): string {
  switch (verb) {
    case 'get': return 'GET';
    case 'list': return 'LIST';
    case 'watch': return 'WATCH';
    case 'create': return 'POST';
    case 'update': return 'PUT';
    case 'patch': return apply ? 'APPLY' : 'PATCH';
    case 'delete': return 'DELETE';
    case 'deletecollection': return 'DELETECOLLECTION';
  }
}

/** apiserver_current_inflight_requests' request_kind: reads and writes are limited apart in Kubernetes. */
export function requestKind(verb: Verb): 'readOnly' | 'mutating' {
  return verb === 'get' || verb === 'list' || verb === 'watch' ? 'readOnly' : 'mutating';
}

export interface ApiStateSource {
  /** Watchers registered on each watch cache. */
  watchers(): Iterable<{ group: string; version: string; kind: string; count: number }>;
  /** Objects in each watch cache, by Kubernetes' resource label (`pods`, `deployments.apps`). */
  objects(): Iterable<{ resource: string; count: number }>;
}

export class ApiServerMetrics {
  readonly registry: Registry;
  private readonly requestTotal: TallyCounter;
  private readonly requestDuration: TallyHistogram;
  /** Requests in flight by kind: plain numbers, read by the gauge when scraped. */
  private readonly inflight = { readOnly: 0, mutating: 0 };
  private readonly watchEvents: TallyCounter;
  private readonly storeDuration: TallyHistogram;
  private state: ApiStateSource | undefined;
  /** verb → resource → code → that request's counter and histogram: three Map lookups, no string built per request. */
  private readonly requestSeries = new Map<string, Map<string, Map<number, { total: CounterChild; duration: HistogramChild }>>>();
  /** operation → type → histogram child, for the same reason. */
  private readonly storeSeries = new Map<string, Map<string, HistogramChild>>();

  constructor(component = APISERVER_COMPONENT) {
    const registers = [(this.registry = componentRegistry(component))];
    // The per-request instruments are tallies (src/metrics): prom-client's own cost a microsecond per call.
    this.requestTotal = new TallyCounter({
      name: 'apiserver_request_total', registers, labelNames: ['verb', 'resource', 'code'],
      help: 'Counter of apiserver requests broken out for each verb, resource and HTTP response code.',
    });
    this.requestDuration = new TallyHistogram({
      name: 'apiserver_request_duration_seconds', registers, labelNames: ['verb', 'resource', 'code'], buckets: [...KUBE_REQUEST_DURATION_BUCKETS],
      help: 'Response latency distribution in seconds for each verb, resource and HTTP response code (watches are counted, not timed).',
    });
    const metrics = this;
    new Gauge({
      name: 'apiserver_current_inflight_requests', registers, labelNames: ['request_kind'],
      help: 'Number of requests being served right now, by kind (readOnly or mutating).',
      collect() {
        this.set({ request_kind: 'readOnly' }, metrics.inflight.readOnly);
        this.set({ request_kind: 'mutating' }, metrics.inflight.mutating);
      },
    });
    this.watchEvents = new TallyCounter({
      name: 'apiserver_watch_events_total', registers, labelNames: ['group', 'version', 'kind'],
      help: 'Number of events sent in watch clients.',
    });
    this.storeDuration = new TallyHistogram({
      name: 'etcd_request_duration_seconds', registers, labelNames: ['operation', 'type'], buckets: [...KUBE_REQUEST_DURATION_BUCKETS],
      help: 'Latency in seconds of the API server\'s calls to the store, by operation and resource type.',
    });
    new Gauge({
      name: 'apiserver_registered_watchers', registers, labelNames: ['group', 'version', 'kind'],
      help: 'Number of currently registered watchers for a given resource.',
      collect() {
        this.reset();
        for (const w of metrics.state?.watchers() ?? []) this.set({ group: w.group, version: w.version, kind: w.kind }, w.count);
      },
    });
    new Gauge({
      name: 'apiserver_storage_objects', registers, labelNames: ['resource'],
      help: 'Number of stored objects at the time of last check split by kind (counted in the watch cache).',
      collect() {
        this.reset();
        for (const o of metrics.state?.objects() ?? []) this.set({ resource: o.resource }, o.count);
      },
    });
  }

  /**
   * kube-apiserver's flow-control series (apiserver_flowcontrol_*), made when flow control is on: requests
   * dispatched and the time they waited, by priority level and flow schema, and the requests waiting now.
   */
  flowControlObserver(): FlowControlObserver {
    const registers = [this.registry];
    const dispatched = new TallyCounter({
      name: 'apiserver_flowcontrol_dispatched_requests_total', registers, labelNames: ['priority_level', 'flow_schema'],
      help: 'Number of requests executed by API Priority and Fairness subsystem.',
    });
    const waited = new TallyHistogram({
      name: 'apiserver_flowcontrol_request_wait_duration_seconds', registers, labelNames: ['priority_level', 'flow_schema', 'execute'],
      buckets: [0, 0.005, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30],
      help: 'Length of time a request spent waiting in its queue.',
    });
    const children = new Map<string, { dispatched: CounterChild; waited: HistogramChild }>();
    return {
      dispatched(c: FlowClassification, waitedMs: number): void {
        let child = children.get(c.flowSchema);
        if (child === undefined) children.set(c.flowSchema, (child = { dispatched: dispatched.child(c.level, c.flowSchema), waited: waited.child(c.level, c.flowSchema, 'true') }));
        child.dispatched.inc();
        child.waited.observe(waitedMs / 1000);
      },
    };
  }

  /** The waiting requests' gauge reads the dispatcher when scraped. */
  observeFlowControl(dispatcher: FlowDispatcher): void {
    new Gauge({
      name: 'apiserver_flowcontrol_current_inqueue_requests', registers: [this.registry], labelNames: ['priority_level'],
      help: 'Number of requests currently pending in queues of the API Priority and Fairness subsystem.',
      collect() {
        for (const [level, count] of dispatcher.waitingByLevel()) this.set({ priority_level: level }, count);
      },
    });
  }

  /** Where the scrape-time gauges read from (the handlers' watch caches). */
  observeState(state: ApiStateSource): void {
    this.state = state;
  }

  started(kind: 'readOnly' | 'mutating'): void {
    this.inflight[kind]++;
  }

  /** A request ended: counted, and timed unless `seconds` is undefined (watches). */
  finished(kind: 'readOnly' | 'mutating' | undefined, verb: string, resource: string, code: number, seconds: number | undefined): void {
    if (kind !== undefined) this.inflight[kind]--;
    let byResource = this.requestSeries.get(verb);
    if (byResource === undefined) this.requestSeries.set(verb, (byResource = new Map()));
    let byCode = byResource.get(resource);
    if (byCode === undefined) byResource.set(resource, (byCode = new Map()));
    let series = byCode.get(code);
    if (series === undefined) {
      const codeLabel = String(code);
      byCode.set(code, (series = { total: this.requestTotal.child(verb, resource, codeLabel), duration: this.requestDuration.child(verb, resource, codeLabel) }));
    }
    series.total.inc();
    if (seconds !== undefined) series.duration.observe(seconds);
  }

  /** The counter one watch increments per event sent (made once per watch, not per event). */
  watchEventCounter(group: string, version: string, kind: string): CounterChild {
    return this.watchEvents.child(group, version, kind);
  }

  storeCall(operation: string, type: string, seconds: number): void {
    let byType = this.storeSeries.get(operation);
    if (byType === undefined) this.storeSeries.set(operation, (byType = new Map()));
    let child = byType.get(type);
    if (child === undefined) byType.set(type, (child = this.storeDuration.child(operation, type)));
    child.observe(seconds);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}

/** `/registry/pods/ns/name` → `pods`: the resource a store key belongs to (bounded: one per kind). */
export function storeKeyType(key: string): string {
  if (!key.startsWith('/registry/')) return '';
  const end = key.indexOf('/', '/registry/'.length);
  return end === -1 ? key.slice('/registry/'.length) : key.slice('/registry/'.length, end);
}

/** A KvClient that times every call the API server makes to the store; watches pass through untimed. */
export function meteredKv(kv: KvClient, metrics: ApiServerMetrics, now: () => number): KvClient {
  const timed = <T>(operation: string, key: string, call: () => Promise<T>): Promise<T> => {
    const startMs = now();
    const type = storeKeyType(key);
    const done = () => metrics.storeCall(operation, type, secondsBetween(startMs, now()));
    return call().then((value) => {
      done();
      return value;
    }, (error: unknown) => {
      done();
      throw error;
    });
  };
  return {
    range: (key, options) => timed('range', key, () => kv.range(key, options)),
    put: (key, value, options) => timed('put', key, () => kv.put(key, value, options)),
    deleteRange: (key, options) => timed('deleteRange', key, () => kv.deleteRange(key, options)),
    txn: (spec, options) => timed('txn', spec.compare[0]?.key ?? firstOpKey(spec.success) ?? '', () => kv.txn(spec, options)),
    compact: (revision, options) => timed('compact', '', () => kv.compact(revision, options)),
    leaseGrant: (ttl, options) => timed('leaseGrant', '', () => kv.leaseGrant(ttl, options)),
    leaseRevoke: (id, options) => timed('leaseRevoke', '', () => kv.leaseRevoke(id, options)),
    leaseKeepAlive: (id, options) => timed('leaseKeepAlive', '', () => kv.leaseKeepAlive(id, options)),
    leaseTimeToLive: (id, options) => timed('leaseTimeToLive', '', () => kv.leaseTimeToLive(id, options)),
    watch: (key: string, options: WatchOptions, handlers: WatchHandlers): KvWatch => kv.watch(key, options, handlers),
    requestProgress: () => kv.requestProgress(),
    supportsProgressRequests: kv.supportsProgressRequests,
    close: () => kv.close(),
  };
}

function firstOpKey(ops: readonly { type: string; key?: string }[]): string | undefined {
  for (const op of ops) if (typeof op.key === 'string') return op.key;
  return undefined;
}
