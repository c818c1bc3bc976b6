/**
 * The simulated cloud's vocabulary: instances, load balancers, routes, the
 * errors its API answers, and the faults a nemesis can throw at it. Plain
 * data, msgpack-serializable, shared by the pure state machine (state.ts),
 * the actor (behaviour.ts), its clients and the cloud-controller-manager.
 */

export type InstanceState = 'running' | 'stopped' | 'terminated';

export interface InstanceAddress {
  type: 'InternalIP' | 'ExternalIP' | 'Hostname' | 'InternalDNS';
  address: string;
}

export interface Instance {
  /** `i-` and 8 hex digits, never reused. */
  id: string;
  /** The name it was launched with; the node of the same name runs on it. */
  name: string;
  region: string;
  zone: string;
  instanceType: string;
  /** `kubethreads:///<zone>/<id>`: what a Node's spec.providerID holds. */
  providerID: string;
  addresses: InstanceAddress[];
  state: InstanceState;
  /** Why it is in that state when the cloud put it there ('zone-outage', 'terminated by fault', 'user request'). */
  stateReason: string;
  launchedAtMs: number;
  /** Free-form labels; `kubethreads.io/actors` lists the node's actors (comma separated) so a nemesis can take them down with the machine. */
  tags: Record<string, string>;
}

export interface LoadBalancerListener {
  protocol: 'TCP';
  /** Where clients connect, on the load balancer's address. */
  port: number;
  /** Where it forwards, on every target instance (a Service's NodePort). */
  targetPort: number;
}

export interface LoadBalancer {
  /** `lb-` and 8 hex digits, never reused. */
  id: string;
  /** Not unique: the cloud, like EC2 tags, lets two load balancers share a name. Idempotency is the caller's job (clientToken). */
  name: string;
  region: string;
  /** The ingress address (from the cloud's loopback range, 127.30.0.0/16 by default). */
  address: string;
  hostname: string;
  listeners: LoadBalancerListener[];
  /** Instance IDs. A terminated instance is deregistered by the cloud itself, as real clouds do. */
  targets: string[];
  createdAtMs: number;
  /** The token it was created with, if any. */
  clientToken?: string;
  tags: Record<string, string>;
}

export interface Route {
  /** Unique: creating an existing name is a Conflict. */
  name: string;
  destinationCidr: string;
  targetInstanceId: string;
  /** `blackhole` once the target instance is terminated (what AWS route tables show). */
  state: 'active' | 'blackhole';
  createdAtMs: number;
}

/**
 * Error codes of the cloud API. `retryable` errors may succeed later;
 * `Timeout` is the ambiguous one: the request may or may not have been
 * applied (a gateway timeout after the backend acted), which is what makes
 * idempotent creation necessary.
 */
export type CloudErrorCode =
  | 'Unavailable' // 503: the API is down (outage)
  | 'Throttled' // 429: request rate over the account's limit
  | 'InternalError' // 500: a transient failure; nothing was applied
  | 'Timeout' // 504: outcome unknown; it may have been applied
  | 'ZoneUnavailable' // 503: the zone named by the request is lost
  | 'NotFound' // 404
  | 'Conflict' // 409
  | 'InvalidParameter' // 400
  | 'LimitExceeded'; // 400: a named quota (instances, load balancers, routes, targets) is full

export const CLOUD_ERROR_HTTP_STATUS: Readonly<Record<CloudErrorCode, number>> = Object.freeze({
  Unavailable: 503,
  Throttled: 429,
  InternalError: 500,
  Timeout: 504,
  ZoneUnavailable: 503,
  NotFound: 404,
  Conflict: 409,
  InvalidParameter: 400,
  LimitExceeded: 400,
});

const RETRYABLE: ReadonlySet<CloudErrorCode> = new Set(['Unavailable', 'Throttled', 'InternalError', 'Timeout', 'ZoneUnavailable']);

export function isRetryableCloudError(code: CloudErrorCode): boolean {
  return RETRYABLE.has(code);
}

export interface CloudErrorValue {
  code: CloudErrorCode;
  message: string;
  httpStatus: number;
  retryable: boolean;
}

export type CloudResult<T> = { ok: true; value: T } | { ok: false; error: CloudErrorValue };

export function cloudError(code: CloudErrorCode, message: string): CloudErrorValue {
  return { code, message, httpStatus: CLOUD_ERROR_HTTP_STATUS[code], retryable: isRetryableCloudError(code) };
}

/** Thrown by cloud clients so callers can `catch` and switch on `code`. */
export class CloudApiError extends Error {
  override readonly name = 'CloudApiError';
  constructor(readonly code: CloudErrorCode, message: string, readonly retryable: boolean = isRetryableCloudError(code)) {
    super(message);
  }
}

/** Latency of every API call, drawn uniformly from [minMs, maxMs]. */
export interface LatencyConfig {
  minMs: number;
  maxMs: number;
}

/** Random failures: `errorRate` fail without effect (500); `ambiguousRate` are applied and then answered 504 Timeout. */
export interface ErrorRateConfig {
  errorRate: number;
  ambiguousRate: number;
}

/** An account-wide token bucket: `qps` requests a second, `burst` saved up; beyond it, 429 Throttled. */
export interface ThrottleConfig {
  qps: number;
  burst: number;
}

/** Faults a nemesis throws with `cloud.fault`; the lasting ones are undone with `cloud.heal`. */
export type CloudFault =
  | { kind: 'api-outage' }
  | ({ kind: 'throttle' } & ThrottleConfig)
  | ({ kind: 'error-rate' } & ErrorRateConfig)
  | ({ kind: 'latency' } & LatencyConfig)
  /** The instance is gone for good. Pick it by ID or by name; neither: a random running instance. */
  | { kind: 'terminate-instance'; instanceId?: string; name?: string }
  /** The instance shuts down (it can be started again with start-instance). */
  | { kind: 'stop-instance'; instanceId?: string; name?: string }
  | { kind: 'start-instance'; instanceId?: string; name?: string }
  /** Every instance of the zone stops, and requests about the zone fail, until healed. */
  | { kind: 'zone-outage'; zone?: string };

export type LastingFaultKind = 'api-outage' | 'throttle' | 'error-rate' | 'latency' | 'zone-outage';

export interface CloudHeal {
  kind: LastingFaultKind;
  /** zone-outage: which zone (default: every lost zone). */
  zone?: string;
}

/** What a fault did, for the chaos log and for the nemesis (which may take a node's actors down with its instance). */
export interface FaultOutcome {
  description: string;
  /** Instances whose state the fault changed. */
  instances: Instance[];
}

/** Counters of the API, for reports and tests. */
export interface CloudStats {
  calls: number;
  ok: number;
  failed: Partial<Record<CloudErrorCode, number>>;
  /** Requests applied but answered 504 (their callers cannot know they succeeded). */
  appliedButTimedOut: number;
  /** The same, by operation (`lb.create` is the one idempotency is about). */
  appliedButTimedOutByOp: Partial<Record<string, number>>;
  loadBalancersCreated: number;
  loadBalancersDeleted: number;
  /** Creations answered with an existing load balancer because the clientToken matched. */
  idempotentReplays: number;
}

/** One load balancer creation, kept for the life of the cloud so duplicate checks can look back. */
export interface LoadBalancerCreation {
  id: string;
  name: string;
  atMs: number;
  clientToken?: string;
}

/** The whole visible state, for tests, checks and `kubethreads` status. */
export interface CloudSnapshot {
  nowMs: number;
  region: string;
  zones: string[];
  lostZones: string[];
  apiOutage: boolean;
  throttle: ThrottleConfig | null;
  errorRate: ErrorRateConfig;
  latency: LatencyConfig;
  instances: Instance[];
  loadBalancers: LoadBalancer[];
  routes: Route[];
  creations: LoadBalancerCreation[];
  stats: CloudStats;
}
