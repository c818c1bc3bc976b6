/**
 * Test stand-ins for the simulated runtime: a "kubelet" that marks every
 * pod Running and Ready a little after it appears (no scheduler or kubelet
 * runs in these tests), an observer that records every state of a set of
 * pods it sees through its informer (so invariants are checked at every
 * step, not just at the end), and a recorder of controller-manager writes.
 */
import { defineBehaviour, unhandled, type Message } from '../actor/index.js';
import type { Pod } from '../api/types/index.js';
import { ActorClock, ApiClient, Informer, PODS, isNotFound, type ClientTimerMsg } from '../client/index.js';
import type { LeaderActivity, LeaderActivityMsg } from '../client/leader-activity.js';
import { isDeleting, isPodReady, formatTime } from './common.js';

export interface PodState {
  atMs: number;
  /** Pods of the app not being deleted. */
  total: number;
  ready: number;
  images: Record<string, number>;
}

export type StandInMsg =
  | ClientTimerMsg
  | LeaderActivityMsg
  | Message<'standin.states', null>
  | Message<'standin.records', null>
  | Message<'standin.setReady', { enabled: boolean }>;

export interface StandInArgs {
  /** Pods get Ready this long after the stand-in sees them; 0 never marks them. */
  readyDelayMs: number;
  /** Label `app` value whose pods are observed. */
  app: string;
}

/** States remembered; a test run stays far below. */
const STATES_MAX = 100_000;

export const podStandIn = defineBehaviour<StandInMsg, StandInArgs>(import.meta.url, 'pod-stand-in', (ctx, args) => {
  const clock = new ActorClock(ctx);
  const api = new ApiClient(ctx, { clock });
  const pods = new Informer<Pod>({ name: 'pods', clock, listWatcher: api.listWatcher(PODS) });
  const states: PodState[] = [];
  const records: LeaderActivity[] = [];
  let readyEnabled = args.readyDelayMs > 0;
  let seq = 0;

  const observe = (): void => {
    let total = 0;
    let ready = 0;
    const images: Record<string, number> = {};
    for (const pod of pods.store.list()) {
      if (pod.metadata.labels?.app !== args.app || isDeleting(pod)) continue;
      total++;
      if (isPodReady(pod)) ready++;
      const image = pod.spec?.containers[0]?.image ?? '';
      images[image] = (images[image] ?? 0) + 1;
    }
    if (states.length < STATES_MAX) states.push({ atMs: ctx.now(), total, ready, images });
  };

  const markReady = (pod: Pod): void => {
    if (!readyEnabled || isPodReady(pod) || isDeleting(pod)) return;
    const key = `ready/${pod.metadata.namespace}/${pod.metadata.name}/${pod.metadata.uid}`;
    clock.timer(key, args.readyDelayMs, () => {
      const current = pods.store.get(`${pod.metadata.namespace}/${pod.metadata.name}`);
      if (current === undefined || current.metadata.uid !== pod.metadata.uid || isDeleting(current) || isPodReady(current)) return;
      const ip = `10.0.${Math.floor(seq / 250)}.${(seq++ % 250) + 1}`;
      const status = { ...(current.status ?? {}), phase: 'Running' as const, podIP: ip, podIPs: [{ ip }], conditions: [{ type: 'Ready', status: 'True' as const, lastTransitionTime: formatTime(ctx.now()) }] };
      api.updateStatus(PODS, { ...current, status }).catch((error: unknown) => {
        if (!isNotFound(error)) markReady(current);
      });
    });
  };

  pods.addEventHandler({
    onAdd: (pod) => {
      observe();
      markReady(pod);
    },
    onUpdate: (_old, pod) => {
      observe();
      markReady(pod);
    },
    onDelete: () => observe(),
  });
  pods.start();

  return {
    receive(msg) {
      if (api.handle(msg as Message)) return undefined;
      switch (msg.type) {
        case 'client.timer':
          clock.fire(msg.body.key);
          return undefined;
        case 'leader.activity':
          records.push(...msg.body);
          return undefined;
        case 'standin.states':
          return states;
        case 'standin.records':
          return records;
        case 'standin.setReady':
          readyEnabled = msg.body.enabled;
          if (readyEnabled) for (const pod of pods.store.list()) markReady(pod);
          return undefined;
        default:
          return unhandled;
      }
    },
  };
});
