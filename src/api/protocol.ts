/**
 * The API server's actor protocol: the same handlers as the HTTPS face,
 * for the cluster's own components (scheduler, controllers, kubelets).
 * Every request is an ask whose reply is an `ApiReply`: errors come back as
 * the Kubernetes `Status` value, never as a thrown remote error, so callers
 * can switch on `status.reason` exactly as client-go does.
 *
 * Watches: the subscriber asks `api.watch` with its own `watchId`; events
 * then arrive as `api.watchEvents` tells (batched, in order), and the end as
 * `api.watchEnd` (with a Status when it ended on an error such as 410 Gone).
 * A subscriber that stops is noticed and its watches cancelled.
 */
import type { Message } from '../actor/protocol.js';
import type { TokenEntry, UserInfo } from './auth.js';
import type { ApiQuery } from './handlers.js';
import type { PatchType } from './registry.js';
import type { PodLogQuery } from './pod-log.js';
import type { HealthEndpoint } from './health.js';
import type { DeleteOptions, KubeObject, List, Status, WatchEvent } from './types/index.js';

/** Which object or collection a request is about. */
export interface ApiTarget {
  /** '' for the core group. */
  group: string;
  version: string;
  /** Plural resource name: 'pods', 'deployments'. */
  resource: string;
  namespace?: string;
  name?: string;
  subresource?: string;
  /**
   * Act as this user (RBAC applies). Actors are in-process and trusted to
   * name themselves; without `as` a request runs with system:masters rights.
   */
  as?: UserInfo;
}

export type ApiServerMsg =
  | Message<'api.get', ApiTarget & { name: string; query?: ApiQuery }>
  | Message<'api.list', ApiTarget & { query?: ApiQuery; slices?: ApiListSlicing }>
  | Message<'api.create', ApiTarget & { object: unknown; query?: ApiQuery }>
  | Message<'api.update', ApiTarget & { name: string; object: unknown; query?: ApiQuery }>
  | Message<'api.patch', ApiTarget & { name: string; patchType: PatchType; patch: unknown; query?: ApiQuery }>
  | Message<'api.delete', ApiTarget & { name: string; options?: DeleteOptions }>
  | Message<'api.deleteCollection', ApiTarget & { query?: ApiQuery; options?: DeleteOptions }>
  | Message<'api.watch', ApiTarget & { watchId: string; query?: ApiQuery }>
  | Message<'api.unwatch', { watchId: string }>
  /** `kubectl logs` without -f: the whole log of a pod's container now, read from its kubelet (`{ log }`). */
  | Message<'api.podLog', { namespace: string; name: string; query?: PodLogQuery; as?: UserInfo }>
  /** Where the HTTPS face listens, its CA and the admin token (for kubeconfigs). */
  | Message<'api.info', null>
  /**
   * The secrets every API server of a cluster must share (`ApiServerSecrets`): the first one's, handed to the
   * others at their spawn, as kube-apiservers behind one load balancer share their token file and
   * --service-account-key-file (a token one issues, another accepts).
   */
  | Message<'api.secrets', null>
  /** What GET /metrics serves: the API server's series and its store replicas', as text exposition (`{ text }`). */
  | Message<'api.metrics', null>
  /** What GET /livez, /readyz, /healthz (or `/<endpoint>/<check>`) answers: `ApiHealthReply`. */
  | Message<'api.health', { endpoint: HealthEndpoint; verbose?: boolean; exclude?: string[]; check?: string }>
  /** Internal: the periodic tick (bookmarks, expired graceful deletions). */
  | Message<'api.tick', null>
  /** Internal: send the next slice of a sliced list (`ApiListSlicing`), one slice a turn. */
  | Message<'api.listSliceNext', null>;

/**
 * A list answered in slices (asked for with `slices` on `api.list`): the reply carries the list with its
 * first `items` items and `slices`, how many slices there are in all; the rest follow as `api.listSlice`
 * tells to the asker, one per turn of the API server, so a 20,000-pod list is never one long job of its
 * thread (each slice is encoded in its own frame, and what arrives between slices is served between them).
 * Every slice comes from the one list the handler built, so all of them are at the reply's resourceVersion.
 */
export interface ApiListSlicing {
  /** Chosen by the client, unique among its lists in flight: names the slices. */
  id: string;
  /** Items per slice (at least 1). A list of at most this many items is answered whole. */
  items: number;
}

/** Told to the asker of a sliced list: slice `index` (1 to `count` - 1; the reply was slice 0) of list `id`. */
export type ApiListSliceMsg = Message<'api.listSlice', { id: string; index: number; count: number; items: unknown[] }>;

export interface ApiMetricsReply {
  text: string;
}

/** `code` and `body` as the HTTP endpoint answers them; `found: false` for a check that does not exist (404). */
export interface ApiHealthReply {
  found: boolean;
  code: number;
  body: string;
}

export type ApiReply<T = KubeObject | List | Status> =
  /** `slices`: the body is the first of that many slices of a list (`ApiListSlicing`). */
  | { ok: true; code: number; body: T; slices?: number }
  | { ok: false; status: Status };

/** Told to a watch's subscriber. */
/**
 * Told to a watcher. `seq` numbers the messages of one watch from 1: the
 * actor transport can drop messages under link faults without breaking any
 * connection (where a lost TCP segment would reset the stream), so a client
 * that sees a gap treats the watch as broken and re-watches from the last
 * resourceVersion it saw. Bookmarks (about once a minute) carry a number
 * too, so a gap is noticed even on a quiet watch.
 */
export type ApiWatchMsg =
  | Message<'api.watchEvents', { watchId: string; events: WatchEvent[]; seq?: number }>
  | Message<'api.watchEnd', { watchId: string; status?: Status; seq?: number }>;

/** What a watch client makes of a message's sequence number: in order, or a gap (messages were lost). */
export function watchSeqGap(expected: number, seq: number | undefined): string | undefined {
  if (seq === undefined || seq === expected) return undefined;
  return `the watch stream lost messages (got message ${seq}, expected ${expected}); watching again from the last resourceVersion seen`;
}

export interface ApiServerInfo {
  /** `https://127.0.0.1:<port>`, or undefined when HTTP is off. */
  url: string | undefined;
  caPem: string | undefined;
  adminToken: string;
  /** A complete kubeconfig for the admin (undefined when HTTP is off). */
  kubeconfig: string | undefined;
  /** Tokens of the component users, by user name (for spawning components that use HTTP). */
  componentTokens: Record<string, string>;
}

/** The actor's default name. */
export const APISERVER_NAME = 'apiserver';

/** API servers per cluster (kube-apiserver HA). Why 8: each is a thread with its own watch cache of every object; past a few, a 2-core machine only pays for more copies. */
export const APISERVERS_MAX = 8;

/** The name of a cluster's `index`-th API server: the first keeps the default name, so a cluster of one is as before. */
export function apiserverName(index: number): string {
  return index === 0 ? APISERVER_NAME : `${APISERVER_NAME}-${index}`;
}

/** What `api.secrets` answers, and what the second and later API servers are spawned with. */
export interface ApiServerSecrets {
  tokens: TokenEntry[];
  serviceAccountSigningKey: Uint8Array;
}

// ---------- pods/log: the API server asks the pod's kubelet ----------

/** The kubelet actor of a node: where the API server sends `pods/log` reads. */
export function kubeletActorName(nodeName: string): string {
  return `kubelet-${nodeName}`;
}

/**
 * One read of a container's log, as the API server asks the kubelet for it
 * (`kubelet.logs`). Following (`-f`) is a loop of reads: pass back
 * `containerId` and `nextOffsetBytes` with `waitMs`, stop at `complete`.
 */
export interface KubeletLogsRequest {
  namespace: string;
  pod: string;
  /** The pod's uid: a read for a pod that was replaced by one of the same name fails instead of showing the wrong log. */
  uid?: string;
  container: string;
  previous?: boolean;
  /** Stay on this container instance (a follower must not jump to the next instance after a restart). */
  containerId?: string;
  offsetBytes?: number;
  tailLines?: number;
  limitBytes?: number;
  /** Hold the reply up to this long for new bytes (at most 60 s, the runtime's limit). */
  waitMs?: number;
}

export type KubeletLogsReply =
  | { ok: true; containerId: string; data: string; nextOffsetBytes: number; complete: boolean }
  | { ok: false; code: number; message: string };

export type KubeletLogsMsg = Message<'kubelet.logs', KubeletLogsRequest>;
