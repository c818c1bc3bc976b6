/**
 * The simulated cloud as a pure state machine: instances, load balancers and
 * routes, the API's admission (outage, throttling, random and ambiguous
 * errors, lost zones) and the faults a nemesis throws. No clock, no
 * randomness, no I/O of its own: every call takes `nowMs` and a `random`
 * function, so the actor replays exactly in the simulated runtime and tests
 * drive it directly.
 */
import { type CloudOp, type CloudRequest, type CloudRequestOf, type CloudResponse } from './api.js';
import { AddressPool, parseCidr } from './ip.js';
import {
  cloudError,
  type CloudErrorValue,
  type CloudFault,
  type CloudHeal,
  type CloudResult,
  type CloudSnapshot,
  type CloudStats,
  type ErrorRateConfig,
  type FaultOutcome,
  type Instance,
  type LatencyConfig,
  type LoadBalancer,
  type LoadBalancerCreation,
  type LoadBalancerListener,
  type Route,
  type ThrottleConfig,
} from './types.js';

/** Live (non-terminated) instances per cloud. Why: 5,000 nodes is the cluster's limit (NODES_MAX); twice that leaves room for churn. */
export const INSTANCES_MAX = 10_000;
/** Terminated instances kept visible; the oldest are forgotten beyond this (real clouds show them for about an hour). */
export const TERMINATED_INSTANCES_KEPT_MAX = 2_000;
/** Live load balancers. Why: one per LoadBalancer Service; a study with more than this is a leak, not a workload. */
export const LOAD_BALANCERS_MAX = 1_000;
/** Listeners per load balancer (AWS NLB allows 50). A Service has at most this many ports of type LoadBalancer. */
export const LISTENERS_PER_LOAD_BALANCER_MAX = 50;
/** Targets per load balancer: every node of the largest cluster. */
export const TARGETS_PER_LOAD_BALANCER_MAX = INSTANCES_MAX;
/** Routes in the route table: one per node's pod CIDR. */
export const ROUTES_MAX = INSTANCES_MAX;
/** Load balancer creations remembered for duplicate checks; beyond it the oldest are dropped (and counted). */
export const CREATIONS_KEPT_MAX = 100_000;
/** Names are bounded so a runaway caller cannot grow the state with one request. */
export const NAME_LENGTH_MAX = 253;

export interface CloudConfig {
  region: string;
  zones: string[];
  /** Load balancer ingress addresses (loopback, so a real listener can bind them without privileges). */
  loadBalancerCidr: string;
  /** Instance InternalIPs when the launch request names none. */
  instanceCidr: string;
  latency: LatencyConfig;
  errorRate: ErrorRateConfig;
  throttle: ThrottleConfig | null;
}

export const DEFAULT_CLOUD_CONFIG: Readonly<CloudConfig> = Object.freeze({
  region: 'sim-region-1',
  zones: ['sim-region-1a', 'sim-region-1b', 'sim-region-1c'],
  loadBalancerCidr: '127.30.0.0/16',
  instanceCidr: '127.40.0.0/16',
  // A cloud control plane answers in tens to hundreds of milliseconds.
  latency: { minMs: 20, maxMs: 120 },
  errorRate: { errorRate: 0, ambiguousRate: 0 },
  throttle: null,
});

export function resolveCloudConfig(input: Partial<CloudConfig> = {}): CloudConfig {
  const config: CloudConfig = { ...DEFAULT_CLOUD_CONFIG, ...input, zones: [...(input.zones ?? DEFAULT_CLOUD_CONFIG.zones)] };
  if (config.region === '') throw new Error('cloud config: region must not be empty');
  if (config.zones.length === 0) throw new Error('cloud config: at least one zone is needed');
  if (new Set(config.zones).size !== config.zones.length) throw new Error(`cloud config: zones must be distinct, got ${config.zones.join(', ')}`);
  parseCidr(config.loadBalancerCidr);
  parseCidr(config.instanceCidr);
  validateLatency(config.latency);
  validateErrorRate(config.errorRate);
  if (config.throttle !== null) validateThrottle(config.throttle);
  return config;
}

function validateLatency(l: LatencyConfig): void {
  if (!(l.minMs >= 0) || !(l.maxMs >= l.minMs) || !Number.isFinite(l.maxMs)) throw new Error(`cloud latency: need 0 <= minMs <= maxMs, got ${l.minMs}..${l.maxMs}`);
}

function validateErrorRate(e: ErrorRateConfig): void {
  if (!(e.errorRate >= 0 && e.errorRate <= 1) || !(e.ambiguousRate >= 0 && e.ambiguousRate <= 1) || e.errorRate + e.ambiguousRate > 1) {
    throw new Error(`cloud error rate: errorRate and ambiguousRate must be in [0, 1] and sum to at most 1, got ${e.errorRate} and ${e.ambiguousRate}`);
  }
}

function validateThrottle(t: ThrottleConfig): void {
  if (!(t.qps > 0) || !(t.burst >= 1)) throw new Error(`cloud throttle: need qps > 0 and burst >= 1, got qps ${t.qps}, burst ${t.burst}`);
}

/** What the API decides about a request when it is processed. */
type Admission = { kind: 'apply' } | { kind: 'apply-then-timeout' } | { kind: 'reject'; error: CloudErrorValue };

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function fail<T>(error: CloudErrorValue): CloudResult<T> {
  return { ok: false, error };
}

function ok<T>(value: T): CloudResult<T> {
  return { ok: true, value };
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

export class CloudState {
  readonly config: CloudConfig;
  private readonly instances = new Map<string, Instance>();
  private readonly loadBalancers = new Map<string, LoadBalancer>();
  private readonly routes = new Map<string, Route>();
  /** clientToken → load balancer id, for live load balancers only (a token is forgotten with its load balancer). */
  private readonly tokens = new Map<string, string>();
  private readonly creations: LoadBalancerCreation[] = [];
  private creationsDropped = 0;
  private readonly lbAddresses: AddressPool;
  private readonly instanceAddresses: AddressPool;
  private nextInstance = 1;
  private nextLoadBalancer = 1;
  private nextZone = 0;
  private apiOutage = false;
  private throttle: ThrottleConfig | null;
  private tokensLeft = 0;
  private tokensAtMs = 0;
  private errorRate: ErrorRateConfig;
  private latency: LatencyConfig;
  private readonly lostZones = new Set<string>();
  /** Instances a zone outage stopped: healing the zone starts exactly these again. */
  private readonly stoppedByZone = new Set<string>();
  readonly stats: CloudStats = { calls: 0, ok: 0, failed: {}, appliedButTimedOut: 0, appliedButTimedOutByOp: {}, loadBalancersCreated: 0, loadBalancersDeleted: 0, idempotentReplays: 0 };

  constructor(config: Partial<CloudConfig> = {}) {
    this.config = resolveCloudConfig(config);
    this.lbAddresses = new AddressPool(this.config.loadBalancerCidr);
    this.instanceAddresses = new AddressPool(this.config.instanceCidr);
    this.throttle = this.config.throttle;
    if (this.throttle !== null) this.tokensLeft = this.throttle.burst;
    this.errorRate = { ...this.config.errorRate };
    this.latency = { ...this.config.latency };
  }

  /** How long the next call takes to be processed (the actor delays it by this much). */
  drawLatencyMs(random: () => number): number {
    const { minMs, maxMs } = this.latency;
    return minMs + Math.floor(random() * (maxMs - minMs + 1));
  }

  /**
   * Process one API call at `nowMs`: admission first (outage, throttling,
   * lost zones, random errors), then the operation. An ambiguous failure
   * applies the operation and answers 504 Timeout.
   */
  call(request: CloudRequest, nowMs: number, random: () => number): CloudResult<unknown> {
    this.stats.calls++;
    const admission = this.admit(request, nowMs, random);
    if (admission.kind === 'reject') return this.countFailure(admission.error);
    const result = this.apply(request, nowMs);
    if (!result.ok) return this.countFailure(result.error);
    if (admission.kind === 'apply-then-timeout') {
      this.stats.appliedButTimedOut++;
      this.stats.appliedButTimedOutByOp[request.op] = (this.stats.appliedButTimedOutByOp[request.op] ?? 0) + 1;
      return this.countFailure(cloudError('Timeout', 'the request timed out at the gateway; it may have been applied'));
    }
    this.stats.ok++;
    return result;
  }

  private countFailure(error: CloudErrorValue): CloudResult<never> {
    this.stats.failed[error.code] = (this.stats.failed[error.code] ?? 0) + 1;
    return fail(error);
  }

  private admit(request: CloudRequest, nowMs: number, random: () => number): Admission {
    // Both draws happen on every call so one call's faults do not shift the next call's randomness.
    const errorDraw = random();
    if (this.apiOutage) return { kind: 'reject', error: cloudError('Unavailable', 'the cloud API is unavailable (outage); retry later') };
    if (!this.takeToken(nowMs)) return { kind: 'reject', error: cloudError('Throttled', `request rate exceeded (limit ${this.throttle?.qps} qps); back off and retry`) };
    const zone = this.zoneOf(request);
    if (zone !== undefined && this.lostZones.has(zone)) return { kind: 'reject', error: cloudError('ZoneUnavailable', `zone ${zone} is unavailable`) };
    if (errorDraw < this.errorRate.errorRate) return { kind: 'reject', error: cloudError('InternalError', 'an internal error occurred; nothing was changed, retry') };
    if (errorDraw < this.errorRate.errorRate + this.errorRate.ambiguousRate) return { kind: 'apply-then-timeout' };
    return { kind: 'apply' };
  }

  private takeToken(nowMs: number): boolean {
    const t = this.throttle;
    if (t === null) return true;
    const elapsedMs = Math.max(0, nowMs - this.tokensAtMs);
    this.tokensLeft = Math.min(t.burst, this.tokensLeft + (elapsedMs / 1000) * t.qps);
    this.tokensAtMs = nowMs;
    if (this.tokensLeft < 1) return false;
    this.tokensLeft -= 1;
    return true;
  }

  /** The zone a request is about, when it is about one. */
  private zoneOf(request: CloudRequest): string | undefined {
    switch (request.op) {
      case 'instances.create':
        return request.zone;
      case 'instances.start':
      case 'instances.stop':
        return this.instances.get(request.id)?.zone;
      default:
        return undefined;
    }
  }

  private apply(request: CloudRequest, nowMs: number): CloudResult<unknown> {
    switch (request.op) {
      case 'instances.create': return this.createInstance(request, nowMs);
      case 'instances.list': return ok([...this.instances.values()].filter((i) => request.name === undefined || i.name === request.name).map(clone));
      case 'instances.get': return this.withInstance(request.id, (i) => ok(clone(i)));
      case 'instances.terminate': return this.withInstance(request.id, (i) => ok(clone(this.terminate(i, 'user request'))));
      case 'instances.stop': return this.withInstance(request.id, (i) => this.stopInstance(i, 'user request'));
      case 'instances.start': return this.withInstance(request.id, (i) => this.startInstance(i));
      case 'lb.create': return this.createLoadBalancer(request, nowMs);
      case 'lb.list': return ok([...this.loadBalancers.values()].filter((lb) => request.name === undefined || lb.name === request.name).map(clone));
      case 'lb.get': return this.withLoadBalancer(request.id, (lb) => ok(clone(lb)));
      case 'lb.update': return this.withLoadBalancer(request.id, (lb) => this.updateLoadBalancer(lb, request));
      case 'lb.delete': return this.withLoadBalancer(request.id, (lb) => ok(this.deleteLoadBalancer(lb)));
      case 'routes.create': return this.createRoute(request, nowMs);
      case 'routes.list': return ok([...this.routes.values()].filter((r) => request.targetInstanceId === undefined || r.targetInstanceId === request.targetInstanceId).map(clone));
      case 'routes.delete': {
        if (!this.routes.delete(request.name)) return fail(cloudError('NotFound', `route ${request.name} does not exist`));
        return ok({ name: request.name });
      }
      default: {
        const never: never = request;
        return fail(cloudError('InvalidParameter', `unknown operation ${JSON.stringify((never as { op: string }).op)}`));
      }
    }
  }

  /** Typed convenience for callers that hold the state directly (tests, the direct client). */
  callOp<K extends CloudOp>(request: CloudRequestOf<K>, nowMs: number, random: () => number): CloudResult<CloudResponse<K>> {
    return this.call(request as CloudRequest, nowMs, random) as CloudResult<CloudResponse<K>>;
  }

  // ------------------------------------------------------------ instances

  private withInstance<T>(id: string, f: (instance: Instance) => CloudResult<T>): CloudResult<T> {
    const instance = this.instances.get(id);
    if (instance === undefined) return fail(cloudError('NotFound', `instance ${id} does not exist`));
    return f(instance);
  }

  private liveInstanceCount(): number {
    let n = 0;
    for (const i of this.instances.values()) if (i.state !== 'terminated') n++;
    return n;
  }

  private createInstance(request: CloudRequestOf<'instances.create'>, nowMs: number): CloudResult<Instance> {
    if (request.name === '' || request.name.length > NAME_LENGTH_MAX) return fail(cloudError('InvalidParameter', `instance name must have 1 to ${NAME_LENGTH_MAX} characters`));
    if (request.zone !== undefined && !this.config.zones.includes(request.zone)) {
      return fail(cloudError('InvalidParameter', `zone ${request.zone} is not in region ${this.config.region} (zones: ${this.config.zones.join(', ')})`));
    }
    if (this.liveInstanceCount() >= INSTANCES_MAX) return fail(cloudError('LimitExceeded', `at most ${INSTANCES_MAX} instances may run`));
    const zone = request.zone ?? this.pickZone();
    if (this.lostZones.has(zone)) return fail(cloudError('ZoneUnavailable', `zone ${zone} is unavailable`));
    let internalIP = request.internalIP;
    if (internalIP === undefined) {
      internalIP = this.instanceAddresses.allocate();
      if (internalIP === undefined) return fail(cloudError('LimitExceeded', `no free address in ${this.config.instanceCidr}`));
    }
    const id = `i-${hex8(this.nextInstance++)}`;
    const instance: Instance = {
      id,
      name: request.name,
      region: this.config.region,
      zone,
      instanceType: request.instanceType ?? 'sim.standard',
      providerID: `kubethreads:///${zone}/${id}`,
      addresses: [
        { type: 'InternalIP', address: internalIP },
        { type: 'Hostname', address: request.name },
        { type: 'InternalDNS', address: `${request.name}.${this.config.region}.compute.internal` },
      ],
      state: 'running',
      stateReason: 'launched',
      launchedAtMs: nowMs,
      tags: { ...(request.tags ?? {}) },
    };
    this.instances.set(id, instance);
    this.forgetOldTerminated();
    return ok(clone(instance));
  }

  /** Zones in turn, skipping lost ones when another is available. */
  private pickZone(): string {
    const zones = this.config.zones;
    for (let tried = 0; tried < zones.length; tried++) {
      const zone = zones[this.nextZone++ % zones.length]!;
      if (!this.lostZones.has(zone)) return zone;
    }
    return zones[this.nextZone++ % zones.length]!;
  }

  private terminate(instance: Instance, reason: string): Instance {
    if (instance.state === 'terminated') return instance;
    instance.state = 'terminated';
    instance.stateReason = reason;
    this.stoppedByZone.delete(instance.id);
    const internal = instance.addresses.find((a) => a.type === 'InternalIP')?.address;
    if (internal !== undefined) this.instanceAddresses.release(internal);
    // As real clouds do: a terminated instance is deregistered from load balancers, and routes to it become blackholes.
    for (const lb of this.loadBalancers.values()) lb.targets = lb.targets.filter((t) => t !== instance.id);
    for (const route of this.routes.values()) if (route.targetInstanceId === instance.id) route.state = 'blackhole';
    return instance;
  }

  private stopInstance(instance: Instance, reason: string): CloudResult<Instance> {
    if (instance.state === 'terminated') return fail(cloudError('Conflict', `instance ${instance.id} is terminated`));
    instance.state = 'stopped';
    instance.stateReason = reason;
    return ok(clone(instance));
  }

  private startInstance(instance: Instance): CloudResult<Instance> {
    if (instance.state === 'terminated') return fail(cloudError('Conflict', `instance ${instance.id} is terminated and cannot start`));
    if (this.lostZones.has(instance.zone)) return fail(cloudError('ZoneUnavailable', `zone ${instance.zone} is unavailable`));
    instance.state = 'running';
    instance.stateReason = 'started';
    this.stoppedByZone.delete(instance.id);
    return ok(clone(instance));
  }

  private forgetOldTerminated(): void {
    const terminated = [...this.instances.values()].filter((i) => i.state === 'terminated');
    const excess = terminated.length - TERMINATED_INSTANCES_KEPT_MAX;
    for (let k = 0; k < excess; k++) this.instances.delete(terminated[k]!.id);
  }

  // ------------------------------------------------------------ load balancers

  private withLoadBalancer<T>(id: string, f: (lb: LoadBalancer) => CloudResult<T>): CloudResult<T> {
    const lb = this.loadBalancers.get(id);
    if (lb === undefined) return fail(cloudError('NotFound', `load balancer ${id} does not exist`));
    return f(lb);
  }

  private validateListeners(listeners: LoadBalancerListener[]): CloudErrorValue | undefined {
    if (listeners.length === 0 || listeners.length > LISTENERS_PER_LOAD_BALANCER_MAX) {
      return cloudError('InvalidParameter', `a load balancer needs 1 to ${LISTENERS_PER_LOAD_BALANCER_MAX} listeners, got ${listeners.length}`);
    }
    const ports = new Set<number>();
    for (const l of listeners) {
      const validPort = (p: number): boolean => Number.isInteger(p) && p >= 1 && p <= 65_535;
      if (l.protocol !== 'TCP') return cloudError('InvalidParameter', `listener protocol ${JSON.stringify(l.protocol)} is not supported (TCP only)`);
      if (!validPort(l.port) || !validPort(l.targetPort)) return cloudError('InvalidParameter', `listener ports must be 1-65535, got ${l.port} -> ${l.targetPort}`);
      if (ports.has(l.port)) return cloudError('InvalidParameter', `two listeners on port ${l.port}`);
      ports.add(l.port);
    }
    return undefined;
  }

  private validateTargets(targets: string[]): CloudErrorValue | undefined {
    if (targets.length > TARGETS_PER_LOAD_BALANCER_MAX) return cloudError('LimitExceeded', `at most ${TARGETS_PER_LOAD_BALANCER_MAX} targets per load balancer`);
    for (const id of targets) {
      if (!this.instances.has(id)) return cloudError('InvalidParameter', `target ${id} is not an instance`);
    }
    return undefined;
  }

  /** Terminated targets are dropped, not refused: a caller's view of the nodes lags the cloud, and one dead node must not block every update. */
  private liveTargets(targets: string[]): string[] {
    return [...new Set(targets)].filter((id) => this.instances.get(id)?.state !== 'terminated').sort();
  }

  private createLoadBalancer(request: CloudRequestOf<'lb.create'>, nowMs: number): CloudResult<LoadBalancer> {
    if (request.clientToken !== undefined) {
      const existingId = this.tokens.get(request.clientToken);
      if (existingId !== undefined) {
        this.stats.idempotentReplays++;
        return ok(clone(this.loadBalancers.get(existingId)!));
      }
    }
    if (request.name === '' || request.name.length > NAME_LENGTH_MAX) return fail(cloudError('InvalidParameter', `load balancer name must have 1 to ${NAME_LENGTH_MAX} characters`));
    const invalid = this.validateListeners(request.listeners) ?? this.validateTargets(request.targets);
    if (invalid !== undefined) return fail(invalid);
    if (this.loadBalancers.size >= LOAD_BALANCERS_MAX) return fail(cloudError('LimitExceeded', `at most ${LOAD_BALANCERS_MAX} load balancers`));
    const address = this.lbAddresses.allocate();
    if (address === undefined) return fail(cloudError('LimitExceeded', `no free address in ${this.config.loadBalancerCidr}`));
    const id = `lb-${hex8(this.nextLoadBalancer++)}`;
    const lb: LoadBalancer = {
      id,
      name: request.name,
      region: this.config.region,
      address,
      hostname: `${id}.${this.config.region}.lb.kubethreads.local`,
      listeners: request.listeners.map((l) => ({ ...l })),
      targets: this.liveTargets(request.targets),
      createdAtMs: nowMs,
      tags: { ...(request.tags ?? {}) },
    };
    if (request.clientToken !== undefined) {
      lb.clientToken = request.clientToken;
      this.tokens.set(request.clientToken, id);
    }
    this.loadBalancers.set(id, lb);
    this.stats.loadBalancersCreated++;
    this.creations.push({ id, name: lb.name, atMs: nowMs, ...(lb.clientToken !== undefined ? { clientToken: lb.clientToken } : {}) });
    if (this.creations.length > CREATIONS_KEPT_MAX) {
      this.creations.shift();
      this.creationsDropped++;
    }
    return ok(clone(lb));
  }

  private updateLoadBalancer(lb: LoadBalancer, request: CloudRequestOf<'lb.update'>): CloudResult<LoadBalancer> {
    if (request.listeners !== undefined) {
      const invalid = this.validateListeners(request.listeners);
      if (invalid !== undefined) return fail(invalid);
    }
    if (request.targets !== undefined) {
      const invalid = this.validateTargets(request.targets);
      if (invalid !== undefined) return fail(invalid);
    }
    if (request.listeners !== undefined) lb.listeners = request.listeners.map((l) => ({ ...l }));
    if (request.targets !== undefined) lb.targets = this.liveTargets(request.targets);
    return ok(clone(lb));
  }

  private deleteLoadBalancer(lb: LoadBalancer): { id: string } {
    this.loadBalancers.delete(lb.id);
    this.lbAddresses.release(lb.address);
    if (lb.clientToken !== undefined && this.tokens.get(lb.clientToken) === lb.id) this.tokens.delete(lb.clientToken);
    this.stats.loadBalancersDeleted++;
    return { id: lb.id };
  }

  // ------------------------------------------------------------ routes

  private createRoute(request: CloudRequestOf<'routes.create'>, nowMs: number): CloudResult<Route> {
    if (request.name === '' || request.name.length > NAME_LENGTH_MAX) return fail(cloudError('InvalidParameter', `route name must have 1 to ${NAME_LENGTH_MAX} characters`));
    try {
      parseCidr(request.destinationCidr);
    } catch (error) {
      return fail(cloudError('InvalidParameter', (error as Error).message));
    }
    if (this.routes.has(request.name)) return fail(cloudError('Conflict', `route ${request.name} already exists`));
    const target = this.instances.get(request.targetInstanceId);
    if (target === undefined || target.state === 'terminated') return fail(cloudError('InvalidParameter', `route target ${request.targetInstanceId} is not a live instance`));
    if (this.routes.size >= ROUTES_MAX) return fail(cloudError('LimitExceeded', `at most ${ROUTES_MAX} routes`));
    const route: Route = { name: request.name, destinationCidr: request.destinationCidr, targetInstanceId: request.targetInstanceId, state: 'active', createdAtMs: nowMs };
    this.routes.set(route.name, route);
    return ok(clone(route));
  }

  // ------------------------------------------------------------ faults

  /** Faults act on the cloud itself, not through its API: they never fail and ignore outages. */
  fault(fault: CloudFault, nowMs: number, random: () => number): FaultOutcome {
    switch (fault.kind) {
      case 'api-outage':
        this.apiOutage = true;
        return { description: 'cloud API outage: every call fails with 503 Unavailable', instances: [] };
      case 'throttle':
        validateThrottle(fault);
        this.throttle = { qps: fault.qps, burst: fault.burst };
        this.tokensLeft = 0; // throttling starts biting at once, as when an account's quota is cut
        this.tokensAtMs = nowMs;
        return { description: `cloud API throttled to ${fault.qps} qps (burst ${fault.burst}); beyond it 429 Throttled`, instances: [] };
      case 'error-rate':
        validateErrorRate(fault);
        this.errorRate = { errorRate: fault.errorRate, ambiguousRate: fault.ambiguousRate };
        return { description: `cloud API fails ${fault.errorRate * 100}% of calls (500) and times out ${fault.ambiguousRate * 100}% after applying them (504)`, instances: [] };
      case 'latency':
        validateLatency(fault);
        this.latency = { minMs: fault.minMs, maxMs: fault.maxMs };
        return { description: `cloud API latency ${fault.minMs}-${fault.maxMs} ms`, instances: [] };
      case 'terminate-instance': {
        const instance = this.pickInstance(fault, random, (i) => i.state !== 'terminated');
        if (instance === undefined) return { description: 'terminate-instance: no live instance matched', instances: [] };
        this.terminate(instance, 'terminated by fault');
        return { description: `instance ${instance.id} (${instance.name}, ${instance.zone}) terminated`, instances: [clone(instance)] };
      }
      case 'stop-instance': {
        const instance = this.pickInstance(fault, random, (i) => i.state === 'running');
        if (instance === undefined) return { description: 'stop-instance: no running instance matched', instances: [] };
        this.stopInstance(instance, 'shut down by fault');
        return { description: `instance ${instance.id} (${instance.name}) shut down`, instances: [clone(instance)] };
      }
      case 'start-instance': {
        const instance = this.pickInstance(fault, random, (i) => i.state === 'stopped');
        if (instance === undefined) return { description: 'start-instance: no stopped instance matched', instances: [] };
        const started = this.startInstance(instance);
        return { description: started.ok ? `instance ${instance.id} (${instance.name}) started` : started.error.message, instances: started.ok ? [clone(instance)] : [] };
      }
      case 'zone-outage': {
        const zone = fault.zone ?? this.config.zones[Math.floor(random() * this.config.zones.length)]!;
        if (!this.config.zones.includes(zone)) throw new Error(`zone-outage: no zone ${JSON.stringify(zone)} in ${this.config.zones.join(', ')}`);
        this.lostZones.add(zone);
        const hit: Instance[] = [];
        for (const instance of this.instances.values()) {
          if (instance.zone !== zone || instance.state !== 'running') continue;
          this.stopInstance(instance, 'zone-outage');
          this.stoppedByZone.add(instance.id);
          hit.push(clone(instance));
        }
        return { description: `zone ${zone} lost: ${hit.length} instances stopped, requests about the zone fail`, instances: hit };
      }
      default: {
        const never: never = fault;
        throw new Error(`unknown cloud fault ${JSON.stringify(never)}`);
      }
    }
  }

  heal(heal: CloudHeal, nowMs: number): FaultOutcome {
    switch (heal.kind) {
      case 'api-outage':
        this.apiOutage = false;
        return { description: 'cloud API back', instances: [] };
      case 'throttle':
        this.throttle = this.config.throttle;
        if (this.throttle !== null) {
          this.tokensLeft = this.throttle.burst;
          this.tokensAtMs = nowMs;
        }
        return { description: 'cloud API throttling back to its configured limit', instances: [] };
      case 'error-rate':
        this.errorRate = { ...this.config.errorRate };
        return { description: 'cloud API error rate back to its configured value', instances: [] };
      case 'latency':
        this.latency = { ...this.config.latency };
        return { description: 'cloud API latency back to its configured value', instances: [] };
      case 'zone-outage': {
        const zones = heal.zone !== undefined ? [heal.zone] : [...this.lostZones];
        const restarted: Instance[] = [];
        for (const zone of zones) {
          this.lostZones.delete(zone);
          for (const id of [...this.stoppedByZone]) {
            const instance = this.instances.get(id);
            if (instance === undefined || instance.zone !== zone) continue;
            this.stoppedByZone.delete(id);
            if (instance.state === 'stopped') {
              instance.state = 'running';
              instance.stateReason = 'zone recovered';
              restarted.push(clone(instance));
            }
          }
        }
        return { description: `zone ${zones.join(', ') || '(none lost)'} back: ${restarted.length} instances running again`, instances: restarted };
      }
      default: {
        const never: never = heal.kind;
        throw new Error(`unknown cloud heal ${JSON.stringify(never)}`);
      }
    }
  }

  private pickInstance(selector: { instanceId?: string; name?: string }, random: () => number, eligible: (i: Instance) => boolean): Instance | undefined {
    if (selector.instanceId !== undefined) {
      const i = this.instances.get(selector.instanceId);
      return i !== undefined && eligible(i) ? i : undefined;
    }
    const candidates = [...this.instances.values()].filter((i) => eligible(i) && (selector.name === undefined || i.name === selector.name));
    if (candidates.length === 0) return undefined;
    return candidates[Math.floor(random() * candidates.length)];
  }

  // ------------------------------------------------------------ persistence

  /** The resources and counters, to be written to disk: a cloud's control plane does not forget its instances when it restarts. Faults are not kept (a restart heals them). */
  exportState(): PersistedCloud {
    return {
      version: 1,
      instances: [...this.instances.values()].map(clone),
      loadBalancers: [...this.loadBalancers.values()].map(clone),
      routes: [...this.routes.values()].map(clone),
      creations: this.creations.map((c) => ({ ...c })),
      creationsDropped: this.creationsDropped,
      nextInstance: this.nextInstance,
      nextLoadBalancer: this.nextLoadBalancer,
      nextZone: this.nextZone,
      stats: clone(this.stats),
    };
  }

  /**
   * The persisted form as JSON text, written straight from the live state:
   * the same text as `JSON.stringify(exportState())` without first copying
   * every instance (a tenth of the cloud thread when 1,000 nodes launch).
   */
  exportJson(): string {
    const saved: PersistedCloud = {
      version: 1,
      instances: [...this.instances.values()],
      loadBalancers: [...this.loadBalancers.values()],
      routes: [...this.routes.values()],
      creations: this.creations,
      creationsDropped: this.creationsDropped,
      nextInstance: this.nextInstance,
      nextLoadBalancer: this.nextLoadBalancer,
      nextZone: this.nextZone,
      stats: this.stats,
    };
    return JSON.stringify(saved);
  }

  static restore(config: Partial<CloudConfig>, saved: PersistedCloud): CloudState {
    if (saved.version !== 1) throw new Error(`cloud state: unknown version ${String(saved.version)}; delete the cloud actor's state file to start afresh`);
    const state = new CloudState(config);
    for (const i of saved.instances) {
      state.instances.set(i.id, clone(i));
      const ip = i.addresses.find((a) => a.type === 'InternalIP')?.address;
      if (ip !== undefined && i.state !== 'terminated') state.instanceAddresses.claim(ip);
    }
    for (const lb of saved.loadBalancers) {
      state.loadBalancers.set(lb.id, clone(lb));
      if (!state.lbAddresses.claim(lb.address)) throw new Error(`cloud state: load balancer ${lb.id} has address ${lb.address} outside ${state.config.loadBalancerCidr}`);
      if (lb.clientToken !== undefined) state.tokens.set(lb.clientToken, lb.id);
    }
    for (const r of saved.routes) state.routes.set(r.name, clone(r));
    state.creations.push(...saved.creations.map((c) => ({ ...c })));
    state.creationsDropped = saved.creationsDropped;
    state.nextInstance = saved.nextInstance;
    state.nextLoadBalancer = saved.nextLoadBalancer;
    state.nextZone = saved.nextZone;
    Object.assign(state.stats, clone(saved.stats));
    // Instances a zone outage had stopped stay stopped: the outage's memory is gone with the old incarnation, so start them again.
    for (const i of state.instances.values()) {
      if (i.state === 'stopped' && i.stateReason === 'zone-outage') {
        i.state = 'running';
        i.stateReason = 'zone recovered';
      }
    }
    state.checkInvariants();
    return state;
  }

  // ------------------------------------------------------------ views

  snapshot(nowMs: number): CloudSnapshot {
    this.checkInvariants();
    return {
      nowMs,
      region: this.config.region,
      zones: [...this.config.zones],
      lostZones: [...this.lostZones].sort(),
      apiOutage: this.apiOutage,
      throttle: this.throttle === null ? null : { ...this.throttle },
      errorRate: { ...this.errorRate },
      latency: { ...this.latency },
      instances: [...this.instances.values()].map(clone),
      loadBalancers: [...this.loadBalancers.values()].map(clone),
      routes: [...this.routes.values()].map(clone),
      creations: this.creations.map((c) => ({ ...c })),
      stats: clone(this.stats),
    };
  }

  get creationsForgotten(): number {
    return this.creationsDropped;
  }

  /** Where each listener of each load balancer forwards: running targets only (the load balancer's health check). */
  dataPlane(): DataPlaneEntry[] {
    const entries: DataPlaneEntry[] = [];
    for (const lb of this.loadBalancers.values()) {
      const backends: string[] = [];
      for (const id of lb.targets) {
        const instance = this.instances.get(id);
        if (instance?.state !== 'running') continue;
        const ip = instance.addresses.find((a) => a.type === 'InternalIP')?.address;
        if (ip !== undefined) backends.push(ip);
      }
      for (const l of lb.listeners) entries.push({ loadBalancerId: lb.id, address: lb.address, port: l.port, backends: [...new Set(backends)].map((host) => ({ host, port: l.targetPort })) });
    }
    return entries;
  }

  /** Throws on a broken invariant: the state machine has a bug, and a run that continues would report nonsense. */
  checkInvariants(): void {
    const addresses = new Set<string>();
    for (const lb of this.loadBalancers.values()) {
      if (addresses.has(lb.address)) throw new Error(`cloud invariant: two load balancers share address ${lb.address}`);
      addresses.add(lb.address);
      for (const t of lb.targets) {
        const instance = this.instances.get(t);
        if (instance === undefined || instance.state === 'terminated') throw new Error(`cloud invariant: load balancer ${lb.id} targets ${t}, which is not a live instance`);
      }
    }
    for (const [token, id] of this.tokens) {
      if (this.loadBalancers.get(id)?.clientToken !== token) throw new Error(`cloud invariant: token ${token} points at ${id}, which is gone or has another token`);
    }
    for (const route of this.routes.values()) {
      const target = this.instances.get(route.targetInstanceId);
      if (route.state === 'active' && (target === undefined || target.state === 'terminated')) throw new Error(`cloud invariant: route ${route.name} is active but its target ${route.targetInstanceId} is gone`);
    }
    for (const id of this.stoppedByZone) {
      const i = this.instances.get(id);
      if (i === undefined || !this.lostZones.has(i.zone)) throw new Error(`cloud invariant: ${id} is marked stopped by a zone outage but its zone is not lost`);
    }
  }
}

export interface PersistedCloud {
  version: 1;
  instances: Instance[];
  loadBalancers: LoadBalancer[];
  routes: Route[];
  creations: LoadBalancerCreation[];
  creationsDropped: number;
  nextInstance: number;
  nextLoadBalancer: number;
  nextZone: number;
  stats: CloudStats;
}

export interface DataPlaneEntry {
  loadBalancerId: string;
  address: string;
  port: number;
  backends: Array<{ host: string; port: number }>;
}
