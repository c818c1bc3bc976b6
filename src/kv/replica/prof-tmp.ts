// TEMPORARY measurement aid (not committed): records handler/phase durations and GCs per replica thread.
import { PerformanceObserver, performance } from 'node:perf_hooks';
interface Ev { kind: string; start: number; ms: number }
const ring: Ev[] = [];
let name = '?';
let enabled = process.env.SNAP_PROF === '1';
if (enabled) {
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
      const k = kind === 4 ? 'gc-major' : kind === 1 ? 'gc-minor' : kind === 8 ? 'gc-incr' : kind === 16 ? 'gc-weak' : `gc-${kind}`;
      rec(k, e.startTime, e.duration);
    }
  });
  obs.observe({ entryTypes: ['gc'] });
}
export function profName(n: string): void { name = n; }
export function rec(kind: string, start: number, ms: number): void {
  if (!enabled) return;
  ring.push({ kind, start, ms });
  if (ring.length > 4000) ring.splice(0, 2000);
}
export function time<T>(kind: string, f: () => T): T {
  if (!enabled) return f();
  const s = performance.now();
  try { return f(); } finally { const ms = performance.now() - s; if (ms >= 1) rec(kind, s, ms); }
}
export function tickGap(gapMs: number): void {
  if (!enabled || gapMs < 125) return;
  const now = performance.now();
  const from = now - gapMs;
  const inGap = ring.filter((e) => e.start + e.ms >= from - 1 && e.ms >= 2);
  process.stderr.write(`[PROF] ${name} gap ${gapMs.toFixed(0)} ms: ${inGap.map((e) => `${e.kind}@${(e.start - from).toFixed(0)}+${e.ms.toFixed(1)}`).join(' ')}\n`);
}
