/**
 * Kubernetes figures per fault (pure): until a new scheduler or
 * controller-manager leader started (for faults that hit one of them), and
 * until the desired state was restored (every Deployment's desired replicas
 * Running on its current image, sampled after the fault healed).
 */
import type { LeaderActivity } from '../../../client/leader-activity.js';
import { round3 } from '../../engine/figures.js';
import type { FaultFigures, FigurePlugin } from '../../engine/types.js';
import { kubeSink, sampleConverged, type KubeSink } from './sink.js';

/** Until a term of `component` started, after `atMs`, by another identity than the one leading at `atMs`; null: none before `untilMs`. */
export function newLeaderMs(activity: readonly LeaderActivity[], component: string, atMs: number, untilMs: number): number | null {
  const own = activity.filter((a) => a.component === component && (a.what === 'started' || a.what === 'stopped')).sort((a, b) => a.atMs - b.atMs);
  let before: string | undefined;
  for (const a of own) {
    if (a.atMs >= atMs) break;
    before = a.what === 'started' ? a.identity : a.identity === before ? undefined : before;
  }
  const next = own.find((a) => a.what === 'started' && a.atMs >= atMs && a.atMs <= untilMs && a.identity !== before);
  return next === undefined ? null : round3(next.atMs - atMs);
}

/** From the fault's start until the first converged sample at or after it healed; null: none before `untilMs` (nor the final observation, for the last fault). */
export function restoredMs(sink: Pick<KubeSink, 'samples' | 'final'>, fault: Pick<FaultFigures, 'atMs' | 'healedAtMs'>, untilMs: number, last: boolean): number | null {
  const fromMs = fault.healedAtMs ?? fault.atMs;
  for (const s of sink.samples) {
    // A sample at the fault's own instant was taken before it (samples are scheduled first): it shows nothing restored.
    if (s.tMs <= fromMs || s.deployments === undefined) continue;
    if (s.tMs > untilMs) break;
    if (sampleConverged(s.deployments)) return round3(s.tMs - fault.atMs);
  }
  if (last && sink.final?.converged === true && sink.final.atMs >= fromMs) return round3(sink.final.atMs - fault.atMs);
  return null;
}

export function kubeFigures(): FigurePlugin {
  return {
    name: 'kubernetes',
    compute(data) {
      const sink = kubeSink(data.state);
      if (sink.schedulers.length === 0) return [];
      return data.figures.map((f, i) => {
        const next = data.figures[i + 1];
        const untilMs = next?.atMs ?? Number.POSITIVE_INFINITY;
        const out: Partial<FaultFigures> = { restoredMs: restoredMs(sink, f, untilMs, next === undefined) };
        if (f.nodes.some((n) => sink.schedulers.includes(n))) out.newSchedulerLeaderMs = newLeaderMs(sink.activity, 'kube-scheduler', f.atMs, untilMs);
        if (f.nodes.some((n) => sink.controllerManagers.includes(n))) out.newControllerManagerLeaderMs = newLeaderMs(sink.activity, 'kube-controller-manager', f.atMs, untilMs);
        return out;
      });
    },
  };
}
