/**
 * What every controller shares: the API it writes through (guarded by
 * leadership), pod and owner-reference helpers, label selectors, time
 * formatting, and the Kubernetes event recorder. Pure except the recorder,
 * which only calls the injected API.
 */
import { matchesLabels, selectorFromObject } from '../api/selectors.js';
import type { DeleteOptions, Event, KubeObject, LabelSelector, OwnerReference, Pod, PodCondition, Status } from '../api/types/index.js';
import type { PatchType } from '../api/registry.js';
import { ClientError, EVENTS, EventCorrelator, type ApiClient, type ClientListOptions, type ListResult, type ResourceType } from '../client/index.js';

/**
 * The slice of ApiClient controllers use. Every write is refused (503,
 * reason `NotLeader`) unless the replica may act at the moment it is sent:
 * a leader that cannot renew stops writing before its lease can expire.
 */
export interface ControllerApi {
  get<T extends KubeObject>(type: ResourceType<T>, namespace: string | undefined, name: string): Promise<T>;
  tryGet<T extends KubeObject>(type: ResourceType<T>, namespace: string | undefined, name: string): Promise<T | null>;
  list<T extends KubeObject>(type: ResourceType<T>, options?: ClientListOptions): Promise<ListResult<T>>;
  create<T extends KubeObject>(type: ResourceType<T>, object: T): Promise<T>;
  update<T extends KubeObject>(type: ResourceType<T>, object: T): Promise<T>;
  updateStatus<T extends KubeObject>(type: ResourceType<T>, object: T): Promise<T>;
  patch<T extends KubeObject>(type: ResourceType<T>, namespace: string | undefined, name: string, patchType: PatchType, patch: unknown, options?: { subresource?: string }): Promise<T>;
  delete<T extends KubeObject>(type: ResourceType<T>, namespace: string | undefined, name: string, options?: DeleteOptions): Promise<T | Status>;
}

export interface WriteRecord {
  atMs: number;
  verb: string;
  resource: string;
  name: string;
}

/** Wraps the client: reads pass, writes need `mayAct()` to hold, and each write is reported to `onWrite` (the HA test's record). */
export function guardedApi(client: ApiClient, mayAct: () => boolean, now: () => number, onWrite?: (record: WriteRecord) => void): ControllerApi {
  const guard = (verb: string, resource: string, name: string): void => {
    if (!mayAct()) throw new ClientError(503, 'NotLeader', `${verb} ${resource}/${name} refused: this replica is not the acting leader`);
    onWrite?.({ atMs: now(), verb, resource, name });
  };
  return {
    get: (type, namespace, name) => client.get(type, namespace, name),
    tryGet: (type, namespace, name) => client.tryGet(type, namespace, name),
    list: (type, options) => client.list(type, options),
    create: (type, object) => {
      guard('create', type.resource, object.metadata.name ?? object.metadata.generateName ?? '');
      return client.create(type, object);
    },
    update: (type, object) => {
      guard('update', type.resource, object.metadata.name ?? '');
      return client.update(type, object);
    },
    updateStatus: (type, object) => {
      guard('updateStatus', type.resource, object.metadata.name ?? '');
      return client.updateStatus(type, object);
    },
    patch: (type, namespace, name, patchType, patch, options) => {
      guard('patch', type.resource, name);
      return client.patch(type, namespace, name, patchType, patch, options);
    },
    delete: (type, namespace, name, options) => {
      guard('delete', type.resource, name);
      return client.delete(type, namespace, name, options);
    },
  };
}

// ---------- time ----------

/** metav1.Time: RFC 3339, seconds precision. */
export function formatTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

export function parseTime(text: string | undefined | null): number | undefined {
  if (text === undefined || text === null || text === '') return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

// ---------- selectors and owners ----------

/** As Kubernetes' controllers: an empty (or missing) selector selects nothing, so a typo never adopts a namespace's pods. */
export function selectorMatches(selector: LabelSelector | undefined, labels: Record<string, string> | undefined): boolean {
  if (selector === undefined) return false;
  // What matchesLabels(selectorFromObject(selector), labels) answers, without building the requirements:
  // controllers ask it for every pod and owner on every pod event and sync (1 % of the 20-node run's allocation).
  const l = labels ?? {};
  let requirements = 0;
  let matched = true;
  const matchLabels = selector.matchLabels ?? {};
  for (const key in matchLabels) {
    if (!hasOwn.call(matchLabels, key)) continue;
    requirements++;
    if (matched && (!hasOwn.call(l, key) || l[key] !== matchLabels[key])) matched = false;
  }
  for (const e of selector.matchExpressions ?? []) {
    requirements++;
    const has = hasOwn.call(l, e.key);
    switch (e.operator) {
      case 'In': if (matched && (!has || !(e.values ?? []).includes(l[e.key]!))) matched = false; break;
      case 'NotIn': if (matched && has && (e.values ?? []).includes(l[e.key]!)) matched = false; break;
      case 'Exists': if (!has) matched = false; break;
      case 'DoesNotExist': if (has) matched = false; break;
      // Not a valid operator: the parser's own refusal (a 400 naming the operator).
      default: return matchesLabels(selectorFromObject(selector), labels);
    }
  }
  return requirements > 0 && matched;
}

const hasOwn = Object.prototype.hasOwnProperty;

export function controllerRefOf(object: KubeObject): OwnerReference | undefined {
  return (object.metadata.ownerReferences ?? []).find((r) => r.controller === true);
}

export function ownerRefTo(owner: KubeObject, apiVersion: string, kind: string): OwnerReference {
  const { name, uid } = owner.metadata;
  if (!name || !uid) throw new Error(`ownerRefTo: the owner ${kind} needs a name and a uid`);
  return { apiVersion, kind, name, uid, controller: true, blockOwnerDeletion: true };
}

export function isDeleting(object: KubeObject): boolean {
  return object.metadata.deletionTimestamp !== undefined && object.metadata.deletionTimestamp !== null;
}

// ---------- pods ----------

export function podCondition(pod: Pod, type: string): PodCondition | undefined {
  return (pod.status?.conditions ?? []).find((c) => c.type === type);
}

export function isPodReady(pod: Pod): boolean {
  return podCondition(pod, 'Ready')?.status === 'True';
}

/** Ready for at least minReadySeconds (Kubernetes' podutil.IsPodAvailable). */
export function isPodAvailable(pod: Pod, minReadySeconds: number, nowMs: number): boolean {
  const ready = podCondition(pod, 'Ready');
  if (ready?.status !== 'True') return false;
  if (minReadySeconds <= 0) return true;
  const since = parseTime(ready.lastTransitionTime);
  return since !== undefined && since + minReadySeconds * 1000 <= nowMs;
}

/** Not finished and not being deleted: what a ReplicaSet counts (controller.FilterActivePods). */
export function isPodActive(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed' && !isDeleting(pod);
}

// ---------- hashing ----------

/** JSON with sorted keys: a stable input for hashing. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export function fnv32a(text: string): number {
  let hash = 0x811c9dc5;
  const bytes = Buffer.from(text, 'utf8');
  for (const byte of bytes) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** Kubernetes' rand.SafeEncodeString alphabet: no vowels (no words), no confusable characters. */
const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export function safeEncode(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) out += SAFE_ALPHABET[text.charCodeAt(i) % SAFE_ALPHABET.length];
  return out;
}

// ---------- events ----------

export interface EventRecorder {
  normal(object: KubeObject, reason: string, message: string): void;
  warning(object: KubeObject, reason: string, message: string): void;
}

/** Events at most this long in flight: a flood of failures must not build an unbounded queue of event writes. */
const EVENTS_IN_FLIGHT_MAX = 256;

/**
 * Writes core/v1 Events as Kubernetes' recorder does (name `<object>.<hex
 * nanoseconds>`, source component, first/last timestamps), through
 * client-go's correlator: repeats patch the first event's count, the 10th
 * distinct message of one reason about one object starts a combined event,
 * and past 25 events about one object the rest are dropped (one more every
 * 5 minutes). Best effort: an event that cannot be written is dropped, never
 * retried forever.
 */
export function eventRecorder(api: ControllerApi, component: string, host: string, now: () => number, onError?: (error: unknown) => void): EventRecorder {
  let inFlight = 0;
  let seq = 0;
  const correlator = new EventCorrelator();
  const record = (object: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void => {
    try {
      write(object, type, reason, message);
    } catch (error) {
      onError?.(error); // an event is never worth failing a sync for
    }
  };
  const write = (object: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void => {
    if (inFlight >= EVENTS_IN_FLIGHT_MAX) return;
    const namespace = object.metadata.namespace || 'default';
    const nowMs = now();
    // Nanoseconds as Kubernetes names events; a sequence number keeps two events of one millisecond apart.
    const name = (): string => `${object.metadata.name}.${(BigInt(Math.floor(nowMs)) * 1_000_000n + BigInt(seq++ % 1_000_000)).toString(16)}`;
    const event: Event = {
      metadata: { name: name(), namespace },
      involvedObject: {
        kind: object.kind, namespace: object.metadata.namespace, name: object.metadata.name, uid: object.metadata.uid,
        apiVersion: object.apiVersion, resourceVersion: object.metadata.resourceVersion,
      },
      reason, message, type,
      source: { component },
      firstTimestamp: formatTime(nowMs),
      lastTimestamp: formatTime(nowMs),
      count: 1,
      reportingComponent: component,
      reportingInstance: host,
    };
    const correlated = correlator.correlate(event, nowMs, name);
    if (correlated.skip) return;
    inFlight++;
    let sent: Promise<unknown>;
    try {
      const { event: toWrite, patch } = correlated;
      sent = patch === undefined
        ? api.create(EVENTS, toWrite)
        // As client-go: a patch that finds the event gone (expired, deleted) creates it instead.
        : api.patch(EVENTS, namespace, toWrite.metadata.name ?? '', 'strategic', patch).catch((error: unknown) => {
          if (error instanceof ClientError && error.code === 404) return api.create(EVENTS, toWrite);
          throw error;
        });
    } catch (error) {
      inFlight--;
      onError?.(error);
      return;
    }
    sent.then(() => inFlight--, (error: unknown) => {
      inFlight--;
      onError?.(error);
    });
  };
  return {
    normal: (object, reason, message) => record(object, 'Normal', reason, message),
    warning: (object, reason, message) => record(object, 'Warning', reason, message),
  };
}
