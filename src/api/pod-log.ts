/**
 * `pods/log`: the API server does not hold logs; it asks the kubelet of the
 * pod's node (actor `kubelet-<node>`), which asks its runtime; a node that
 * reports a kubelet endpoint (InternalIP and daemonEndpoints' port, a node
 * in another process) is read over HTTPS as Kubernetes reads any kubelet. A `PodLogStream`
 * is one `kubectl logs` request: it stays on one container instance and walks
 * its log by byte offset, long-polling when following. Transport-free: the
 * actor supplies the `PodLogReader`, the HTTP face and the actor protocol
 * both read from the stream.
 */
import type { UserInfo } from './auth.js';
import { ApiError, apiErrors } from './errors.js';
import type { ApiHandlers } from './handlers.js';
import type { KubeletLogsReply, KubeletLogsRequest } from './protocol.js';
import type { Node, Pod } from './types/index.js';

/** Asks the kubelet of `nodeName` for one read. Transport failures resolve as `{ ok: false, code: 503 }`. */
export type PodLogReader = (nodeName: string, request: KubeletLogsRequest) => Promise<KubeletLogsReply>;

/** The query of GET pods/<name>/log that we honour (kubectl's container, previous, follow, tailLines, limitBytes). */
export interface PodLogQuery {
  container?: string;
  previous?: boolean;
  follow?: boolean;
  tailLines?: number;
  limitBytes?: number;
}

/** How long one follow read waits at the kubelet: under the runtime's 60 s cap, short enough to notice a gone client. */
export const POD_LOG_FOLLOW_WAIT_MS = 30_000;

/** One `kubectl logs` request's source of text, whichever way the kubelet is reached. */
export interface PodLogSource {
  /** The next piece of the log, waiting up to `waitMs` for one; `complete` once nothing more will come. */
  next(waitMs: number): Promise<{ data: string; complete: boolean }>;
  /** Everything there is now: what `kubectl logs` without -f prints. */
  readAll(): Promise<string>;
  /** The reader went away: release what the source holds (a connection to the kubelet). */
  close?(): void;
}

/** Where a kubelet in another process serves `/containerLogs` (the real kubelet's :10250). */
export interface KubeletEndpoint {
  host: string;
  port: number;
}

/** Opens `/containerLogs/{namespace}/{pod}/{container}` at a kubelet endpoint; fails with the ApiError the kubelet's answer means. */
export type RemoteKubeletLogs = (endpoint: KubeletEndpoint, target: { namespace: string; pod: string; container: string }, query: PodLogQuery) => Promise<PodLogSource>;

/** The kubelet endpoint a Node reports, if any: its InternalIP and a non-zero daemonEndpoints port. */
export function kubeletEndpointOf(node: Node): KubeletEndpoint | undefined {
  const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port ?? 0;
  const host = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
  if (!Number.isInteger(port) || port <= 0 || port > 65_535 || host === undefined || host === '') return undefined;
  return { host, port };
}

export class PodLogStream implements PodLogSource {
  private containerId: string | undefined;
  private offsetBytes: number | undefined;
  private sentBytes = 0;
  private first = true;
  done = false;

  constructor(private readonly reader: PodLogReader, readonly nodeName: string, private readonly base: KubeletLogsRequest, private readonly limitBytes: number | undefined) {}

  /** The next piece of the log; `complete` when the container has exited and all of it was read, or the byte limit is reached. */
  async next(waitMs: number): Promise<{ data: string; complete: boolean }> {
    if (this.done) return { data: '', complete: true };
    const reply = await this.reader(this.nodeName, {
      ...this.base,
      ...(this.first ? {} : { tailLines: undefined }),
      ...(this.containerId !== undefined ? { containerId: this.containerId } : {}),
      ...(this.offsetBytes !== undefined ? { offsetBytes: this.offsetBytes } : {}),
      waitMs,
    });
    this.first = false;
    if (!reply.ok) throw reply.code === 404 ? apiErrors.notFound('pods', '', this.base.pod) : new ApiError(reply.code, reply.code === 400 ? 'BadRequest' : reply.code === 503 ? 'ServiceUnavailable' : 'InternalError', reply.message);
    this.containerId = reply.containerId;
    this.offsetBytes = reply.nextOffsetBytes;
    let data = reply.data;
    if (this.limitBytes !== undefined && this.sentBytes + Buffer.byteLength(data) >= this.limitBytes) {
      data = Buffer.from(data).subarray(0, this.limitBytes - this.sentBytes).toString('utf8');
      this.done = true;
    }
    this.sentBytes += Buffer.byteLength(data);
    if (reply.complete) this.done = true;
    return { data, complete: this.done };
  }

  /** Everything there is now (no waiting): what `kubectl logs` without -f prints. */
  async readAll(): Promise<string> {
    let out = '';
    for (;;) {
      const { data, complete } = await this.next(0);
      out += data;
      if (complete || data === '') return out;
    }
  }
}

/** Checks a log request against the pod, as the API server does before it calls the kubelet. */
export function podLogTarget(pod: Pod, query: PodLogQuery): { nodeName: string; container: string } {
  const name = pod.metadata.name ?? '';
  const nodeName = pod.spec?.nodeName;
  if (nodeName === undefined || nodeName === '') throw apiErrors.badRequest(`pod ${name} does not have a host assigned`);
  const names = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map((c) => c.name);
  let container = query.container;
  if (container === undefined || container === '') {
    const main = pod.spec?.containers ?? [];
    if (main.length !== 1) throw apiErrors.badRequest(`a container name must be specified for pod ${name}, choose one of: [${main.map((c) => c.name).join(' ')}]`);
    container = main[0]!.name;
  }
  if (!names.includes(container)) throw apiErrors.badRequest(`container ${container} is not valid for pod ${name}`);
  if (query.tailLines !== undefined && (!Number.isInteger(query.tailLines) || query.tailLines < 0)) throw apiErrors.badRequest('tailLines must be a non-negative integer');
  if (query.limitBytes !== undefined && (!Number.isInteger(query.limitBytes) || query.limitBytes < 1)) throw apiErrors.badRequest('limitBytes must be a positive integer');
  return { nodeName, container };
}

/**
 * GET pods/<name>/log: authorizes (`get pods/log`), checks the pod and its
 * container, and opens a stream that reads from the kubelet of its node.
 */
export async function openPodLog(
  handlers: ApiHandlers, reader: PodLogReader | undefined, namespace: string, name: string, user: UserInfo, query: PodLogQuery, remote?: RemoteKubeletLogs,
): Promise<PodLogSource> {
  const info = handlers.info('', 'v1', 'pods');
  handlers.authorize(user, { verb: 'get', group: '', resource: 'pods', subresource: 'log', namespace, name });
  const pod = (await handlers.registry.get(info, namespace, name)) as Pod;
  const { nodeName, container } = podLogTarget(pod, query);
  if (remote !== undefined) {
    const node = (await handlers.registry.get(handlers.info('', 'v1', 'nodes'), undefined, nodeName).catch(() => undefined)) as Node | undefined;
    const endpoint = node === undefined ? undefined : kubeletEndpointOf(node);
    if (endpoint !== undefined) return remote(endpoint, { namespace, pod: name, container }, query);
  }
  if (reader === undefined) throw apiErrors.unavailable('this API server has no route to kubelets; pod logs are unavailable');
  return new PodLogStream(reader, nodeName, {
    namespace, pod: name, uid: pod.metadata.uid, container,
    ...(query.previous === true ? { previous: true } : {}),
    ...(query.tailLines !== undefined ? { tailLines: query.tailLines } : {}),
  }, query.limitBytes);
}
