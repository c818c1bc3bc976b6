/**
 * Figures per fault, from what a run recorded (pure): how long until a new
 * leader, the longest gap between successful operations, and how long until
 * writes succeed again. Times in ms from the fault's start.
 */
import { Prng, deriveSeed } from '../../actor/prng.js';
import type { Operation } from '../history.js';
import type { FaultFigures, NemesisEntry, RequestRecord, ScheduledFault, StatusSample } from './types.js';

/** The per-fault figures a study can plot. */
export const STUDY_FIGURES = ['newLeaderMs', 'unavailabilityMs', 'writesRecoveredMs', 'serviceUnavailabilityMs', 'apiUnavailabilityMs', 'newSchedulerLeaderMs', 'newControllerManagerLeaderMs', 'restoredMs'] as const;
export type StudyFigure = (typeof STUDY_FIGURES)[number];

/** One fault's study figure (by schedule index); null when the fault or its figure is missing. */
export function figureOf(figures: readonly FaultFigures[], fault: number, figure: StudyFigure): number | null {
  const f = figures.find((x) => x.index === fault);
  return f === undefined ? null : f[figure] ?? null;
}

/** One fault as the engine fired it. */
export interface FiredFault {
  index: number;
  fault: string;
  atMs: number;
  healedAtMs?: number;
  nodes: string[];
  description: string;
  leaderBefore: string | null;
  termBefore: number | null;
}

/** Faults expanded from random entries per scenario at most. Why: a typo in perMinute must not build a schedule of millions. */
export const SCHEDULE_FAULTS_MAX = 10_000;

/** The concrete schedule: fixed entries as written, random ones drawn from the seed (the same in both runtimes), sorted by time. */
export function expandSchedule(entries: readonly NemesisEntry[], durationMs: number, seed: number): ScheduledFault[] {
  const prng = new Prng(deriveSeed(seed, 'chaos-schedule'));
  const out: Array<ScheduledFault & { order: number }> = [];
  let order = 0;
  for (const entry of entries) {
    if (!('random' in entry)) {
      out.push({ ...(entry as ScheduledFault), order: order++ });
      continue;
    }
    const random = (entry as { random: { perMinute: number; fromMs?: number; untilMs?: number; faults: ScheduledFault[] } }).random;
    const { perMinute, faults } = random;
    const fromMs = random.fromMs ?? 0;
    const untilMs = random.untilMs ?? durationMs * 0.8;
    const ratePerMs = perMinute / 60_000;
    let t = fromMs;
    for (;;) {
      t += -Math.log(1 - prng.next()) / ratePerMs;
      if (t > untilMs) break;
      if (out.length >= SCHEDULE_FAULTS_MAX) throw new Error(`the random schedule draws more than ${SCHEDULE_FAULTS_MAX} faults; lower perMinute`);
      const pick = faults[Math.floor(prng.next() * faults.length)]!;
      out.push({ ...pick, atMs: Math.round(t), order: order++ });
    }
  }
  out.sort((a, b) => a.atMs - b.atMs || a.order - b.order);
  return out.map(({ order: _order, ...fault }) => fault);
}

function isWrite(op: Operation): boolean {
  return op.op === 'write' || op.op === 'cas';
}

/**
 * The store's figures per fault, and the longest gap of each request stream
 * (Service traffic, API calls) that the run has. A stream a run does not
 * have gets no figure (unavailabilityMs is null without register operations):
 * a gap in nothing measured is not an outage.
 */
export function computeFigures(fired: readonly FiredFault[], samples: readonly StatusSample[], history: readonly Operation[], endMs: number, requests: readonly RequestRecord[] = []): FaultFigures[] {
  const completions = (ok: Array<{ completeMs: number | null }>): number[] => ok.map((o) => o.completeMs!).sort((a, b) => a - b);
  const successes = completions(history.filter((o) => o.status === 'ok' && o.completeMs !== null));
  const streams = (['service', 'api'] as const).flatMap((kind) => {
    const all = requests.filter((r) => r.kind === kind);
    return all.length === 0 ? [] : [{ kind, successes: completions(all.filter((r) => r.ok)) }];
  });
  return fired.map((f, i) => {
    const windowEndMs = Math.max(f.atMs, i + 1 < fired.length ? fired[i + 1]!.atMs : endMs);
    const elected = newLeaderAfter(f, samples, windowEndMs);
    const figures: FaultFigures = {
      ...f,
      newLeaderMs: elected?.ms ?? null,
      electionTerms: elected === undefined || f.termBefore === null ? null : elected.term - f.termBefore,
      unavailabilityMs: history.length === 0 ? null : longestGap(successes, f.atMs, windowEndMs),
      writesRecoveredMs: writesRecovered(history, f.atMs),
    };
    for (const stream of streams) figures[`${stream.kind}UnavailabilityMs`] = longestGap(stream.successes, f.atMs, windowEndMs);
    return figures;
  });
}

function newLeaderAfter(f: FiredFault, samples: readonly StatusSample[], windowEndMs: number): { ms: number; term: number } | undefined {
  for (const s of samples) {
    if (s.tMs < f.atMs) continue;
    if (s.tMs > windowEndMs) break;
    const elected = s.replicas.find((r) => r !== null && r.role === 'leader' && (f.termBefore === null || r.term > f.termBefore));
    if (elected) return { ms: round3(s.tMs - f.atMs), term: elected.term };
  }
  return undefined;
}

/** Longest stretch of [fromMs, toMs] without a successful completion; null when the window is empty. */
export function longestGap(sortedCompletionsMs: readonly number[], fromMs: number, toMs: number): number | null {
  if (!(toMs > fromMs)) return null;
  let previous = fromMs;
  let longest = 0;
  for (const t of sortedCompletionsMs) {
    if (t <= fromMs) continue;
    if (t > toMs) break;
    longest = Math.max(longest, t - previous);
    previous = t;
  }
  longest = Math.max(longest, toMs - previous);
  return round3(longest);
}

function writesRecovered(history: readonly Operation[], atMs: number): number | null {
  let best: number | null = null;
  for (const op of history) {
    if (!isWrite(op) || op.status !== 'ok' || op.completeMs === null || op.invokeMs < atMs) continue;
    const ms = op.completeMs - atMs;
    if (best === null || ms < best) best = ms;
  }
  return best === null ? null : round3(best);
}

export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

const FIGURE_WORDS: Array<{ key: keyof FaultFigures; words: string; none: string }> = [
  { key: 'newLeaderMs', words: 'new store leader', none: 'no election' },
  { key: 'electionTerms', words: 'election terms', none: '' },
  { key: 'unavailabilityMs', words: 'store unavailable', none: '—' },
  { key: 'writesRecoveredMs', words: 'writes again', none: 'none' },
  { key: 'serviceUnavailabilityMs', words: 'Service unavailable', none: '—' },
  { key: 'apiUnavailabilityMs', words: 'API unavailable', none: '—' },
  { key: 'newSchedulerLeaderMs', words: 'new scheduler leader', none: 'none' },
  { key: 'newControllerManagerLeaderMs', words: 'new controller-manager leader', none: 'none' },
  { key: 'restoredMs', words: 'desired state restored', none: 'not within the fault\'s window' },
];

/** The figures one fault has, in words (`new store leader 1200 ms, …`), for terminals and logs; `only` picks some. */
export function describeFigures(f: FaultFigures, only?: ReadonlyArray<keyof FaultFigures>): string {
  return FIGURE_WORDS.filter((w) => f[w.key] !== undefined && (only === undefined || only.includes(w.key)) && !(f[w.key] === null && w.none === ''))
    .map((w) => {
      const v = f[w.key] as number | null;
      if (v === null) return `${w.words}: ${w.none}`;
      return w.key === 'electionTerms' ? `${w.words} ${v}` : `${w.words} ${Math.round(v)} ms`;
    })
    .join(', ');
}

/** The Kubernetes-level and request figures (those besides the store's three). */
export const CLUSTER_FIGURES: ReadonlyArray<keyof FaultFigures> = ['serviceUnavailabilityMs', 'apiUnavailabilityMs', 'newSchedulerLeaderMs', 'newControllerManagerLeaderMs', 'restoredMs'];
