/**
 * The controller pattern's moving parts, shared: shared informers (one per
 * resource, with the indexes controllers look up by), and a keyed worker
 * pool over src/client's rate-limited queue that runs a level-triggered
 * `sync(key)`: success forgets the key's backoff, failure requeues it with
 * backoff, and a sync may ask to be revisited after a delay.
 */
import type { KubeObject } from '../api/types/index.js';
import {
  Informer, RateLimitingQueue, indexByNamespace, indexByNodeName, indexByOwnerUid, indexByControllerUid, INDEX_NAMESPACE, INDEX_NODE_NAME, INDEX_OWNER_UID, INDEX_CONTROLLER_UID,
  type ApiClient, type Clock, type IndexFunc, type ResourceType,
} from '../client/index.js';

export interface Logger {
  debug(object: object, message: string): void;
  warn(object: object, message: string): void;
}

/** One informer per resource (and scope), shared by every controller that needs it, as client-go's SharedInformerFactory. */
export class SharedInformers {
  private readonly informers = new Map<string, Informer<KubeObject>>();
  private started = false;

  constructor(private readonly client: ApiClient, private readonly clock: Clock, private readonly resyncPeriodMs = 0) {}

  /** The informer of a resource; `namespace` narrows it (node leases live in kube-node-lease). Indexed by namespace and owner uid; pods also by node name and controller uid. */
  get<T extends KubeObject>(type: ResourceType<T>, namespace?: string): Informer<T> {
    const id = `${type.group}/${type.resource}/${namespace ?? ''}`;
    let informer = this.informers.get(id);
    if (informer === undefined) {
      const indexers: Record<string, IndexFunc<KubeObject>> = { [INDEX_NAMESPACE]: indexByNamespace, [INDEX_OWNER_UID]: indexByOwnerUid };
      if (type.resource === 'pods') {
        indexers[INDEX_NODE_NAME] = indexByNodeName;
        indexers[INDEX_CONTROLLER_UID] = indexByControllerUid;
      }
      informer = new Informer<KubeObject>({
        name: id, clock: this.clock, indexers, resyncPeriodMs: this.resyncPeriodMs,
        listWatcher: this.client.listWatcher(type as ResourceType<KubeObject>, namespace === undefined ? {} : { namespace }),
      });
      this.informers.set(id, informer);
      if (this.started) informer.start();
    }
    return informer as unknown as Informer<T>;
  }

  start(): void {
    this.started = true;
    for (const informer of this.informers.values()) informer.start();
  }

  stop(): void {
    this.started = false;
    for (const informer of this.informers.values()) informer.stop();
  }

  allSynced(): boolean {
    for (const informer of this.informers.values()) if (!informer.hasSynced()) return false;
    return true;
  }
}

/** What a sync returns: nothing, or a delay after which the key should be looked at again (minReadySeconds, deadlines). */
export type SyncResult = void | { requeueAfterMs: number };

export interface KeyedWorkersOptions {
  name: string;
  clock: Clock;
  /** Concurrent syncs (of different keys; one key is never synced twice at once). kube-controller-manager runs 5 per controller. */
  workers: number;
  sync(key: string): Promise<SyncResult>;
  log?: Logger;
}

/** Workers per controller at most: they are promises on one thread; more only adds interleaving. */
export const WORKERS_MAX = 16;

export class KeyedWorkers {
  readonly queue: RateLimitingQueue<string>;
  private running = false;
  readonly stats = { syncs: 0, failures: 0 };

  constructor(private readonly options: KeyedWorkersOptions) {
    if (!(options.workers >= 1 && options.workers <= WORKERS_MAX)) throw new Error(`${options.name}: workers must be 1..${WORKERS_MAX}, got ${options.workers}`);
    this.queue = new RateLimitingQueue<string>({ name: options.name, clock: options.clock });
  }

  enqueue(key: string): void {
    this.queue.add(key);
  }

  enqueueAfter(key: string, delayMs: number): void {
    this.queue.addAfter(key, delayMs);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    for (let i = 0; i < this.options.workers; i++) void this.work();
  }

  stop(): void {
    this.running = false;
    this.queue.shutDown();
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        this.stats.syncs++;
        const result = await this.options.sync(key);
        this.queue.forget(key);
        if (result && result.requeueAfterMs >= 0) this.queue.addAfter(key, Math.max(1, result.requeueAfterMs));
      } catch (error) {
        this.stats.failures++;
        this.options.log?.debug({ controller: this.options.name, key, err: error instanceof Error ? error.message : String(error) }, 'sync failed; requeued with backoff');
        if (this.running) this.queue.addRateLimited(key);
      } finally {
        this.queue.done(key);
      }
    }
  }
}
