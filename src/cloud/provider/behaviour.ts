/**
 * The simulated cloud as an actor: the pure `CloudState` behind a message
 * protocol, with the API's latency made of actor timers, its state kept on
 * the actor's disk (a cloud does not forget its instances when its control
 * plane restarts), and, in the threaded runtime when asked for, the load
 * balancers' real TCP data plane (lb-data-plane-io.ts, loaded only then).
 */
import { defineBehaviour, unhandled } from '../../actor/behaviour.js';
import { MUTATING_OPS, type CloudRequest } from './api.js';
import { CLOUD_NAME, type CloudMsg, type DataPlaneStatus } from './protocol.js';
import { CloudState, type CloudConfig, type PersistedCloud } from './state.js';
import { cloudError, type CloudResult } from './types.js';

export interface CloudArgs {
  config?: Partial<CloudConfig>;
  /** 'tcp': real listeners for load balancers (threaded runtime only). Default 'none'. */
  dataPlane?: 'none' | 'tcp';
}

/** Calls waiting out their latency. Why: beyond this the cloud is flooded; it sheds load with 429 as real APIs do, instead of growing without bound. */
export const PENDING_CALLS_MAX = 10_000;

const STATE_FILE = 'cloud-state.json';

type DataPlane = import('./lb-data-plane-io.js').TcpLoadBalancerDataPlane;

export const cloudProvider = defineBehaviour<CloudMsg, CloudArgs>(import.meta.url, 'cloud', (ctx, args) => {
  const config = args?.config ?? {};
  const random = (): number => ctx.random();
  const state = load();
  const pending = new Map<number, { request: CloudRequest; resolve: (result: CloudResult<unknown>) => void }>();
  let nextSeq = 1;
  const wantsDataPlane = args?.dataPlane === 'tcp';
  let plane: Promise<DataPlane> | undefined;
  /** Data plane syncs run one after another so an older table never lands after a newer one. */
  let planeSync: Promise<void> = Promise.resolve();
  if (wantsDataPlane) {
    plane = import('./lb-data-plane-io.js').then((io) => io.acquireDataPlane(ctx.name));
    syncDataPlane();
  }

  function load(): CloudState {
    const bytes = ctx.disk.read(STATE_FILE);
    if (bytes === undefined) return new CloudState(config);
    const saved = JSON.parse(new TextDecoder().decode(bytes)) as PersistedCloud;
    ctx.log.info({ instances: saved.instances.length, loadBalancers: saved.loadBalancers.length }, 'cloud state restored from disk');
    return CloudState.restore(config, saved);
  }

  /** Durable before the reply leaves: a caller told "created" must find it after a restart. */
  function persist(): void {
    const bytes = new TextEncoder().encode(state.exportJson());
    ctx.disk.write(`${STATE_FILE}.tmp`, bytes);
    ctx.disk.fsync(`${STATE_FILE}.tmp`);
    ctx.disk.rename(`${STATE_FILE}.tmp`, STATE_FILE);
    ctx.disk.fsyncDir();
  }

  function syncDataPlane(): void {
    if (plane === undefined) return;
    const entries = state.dataPlane();
    const current = plane;
    planeSync = planeSync.then(async () => (await current).sync(entries)).catch((error: unknown) => {
      ctx.log.error({ err: error }, 'load balancer data plane sync failed');
    });
  }

  function changed(): void {
    persist();
    syncDataPlane();
  }

  /** Replies waiting for the state write that covers their change. */
  let commitWaiters: Array<() => void> = [];

  /**
   * Reply once the change is durable, with one state write for every change
   * that came together (group commit): 1,000 instances launched at once were
   * 1,000 writes of the whole state, each with its fsync.
   */
  function changedThen(reply: () => void): void {
    commitWaiters.push(reply);
    if (commitWaiters.length > 1) return;
    ctx.afterArrivals(() => {
      const waiters = commitWaiters;
      commitWaiters = [];
      changed();
      for (const w of waiters) w();
    });
  }

  return {
    receive(msg) {
      switch (msg.type) {
        case 'cloud.call': {
          if (pending.size >= PENDING_CALLS_MAX) return { ok: false, error: cloudError('Throttled', `the cloud has ${PENDING_CALLS_MAX} calls in flight; back off`) };
          const seq = nextSeq++;
          const latencyMs = state.drawLatencyMs(random);
          return new Promise<CloudResult<unknown>>((resolve) => {
            pending.set(seq, { request: msg.body, resolve });
            ctx.timer(`call/${seq}`, latencyMs, { type: 'cloud.due', body: { seq } });
          });
        }
        case 'cloud.due': {
          const call = pending.get(msg.body.seq);
          if (call === undefined) return undefined;
          pending.delete(msg.body.seq);
          const result = state.call(call.request, ctx.now(), random);
          if (MUTATING_OPS.has(call.request.op)) changedThen(() => call.resolve(result));
          else call.resolve(result);
          return undefined;
        }
        case 'cloud.fault': {
          const outcome = state.fault(msg.body, ctx.now(), random);
          ctx.log.info({ fault: msg.body.kind }, outcome.description);
          return new Promise((resolve) => changedThen(() => resolve(outcome)));
        }
        case 'cloud.heal': {
          const outcome = state.heal(msg.body, ctx.now());
          ctx.log.info({ heal: msg.body.kind }, outcome.description);
          return new Promise((resolve) => changedThen(() => resolve(outcome)));
        }
        case 'cloud.snapshot':
          return state.snapshot(ctx.now());
        case 'cloud.dataPlane':
          return dataPlaneStatus();
        default:
          return unhandled;
      }
    },
    onStop() {
      if (wantsDataPlane) void import('./lb-data-plane-io.js').then((io) => io.releaseDataPlane(ctx.name));
    },
    inspect() {
      const s = state.snapshot(ctx.now());
      return { instances: s.instances.length, loadBalancers: s.loadBalancers.length, routes: s.routes.length, pending: pending.size, apiOutage: s.apiOutage, lostZones: s.lostZones };
    },
  };

  async function dataPlaneStatus(): Promise<DataPlaneStatus> {
    if (plane === undefined) return { enabled: false, listeners: [], failures: [], connections: 0 };
    await planeSync;
    return { enabled: true, ...(await plane).status() };
  }
});

export { CLOUD_NAME };
