/**
 * report.html: one self-contained page (inline SVG and CSS, no script, no
 * network) with the verdict and the replay command at the top, the checks, the
 * figures per fault, and plots over the run's time: operation (and Service
 * request, API call) latency with the fault windows shaded, throughput, pods
 * Running against desired, the control plane's leaders, and each replica's
 * role and term.
 *
 * Pure: data in, a string out.
 */
import type { Operation } from '../history.js';
import type { RunOutcome } from './run.js';
import { seriesTitle } from './metric-series.js';
import type { ClusterSample, FaultFigures, RequestRecord, StatusSample } from './types.js';

export interface ReportInput {
  outcome: RunOutcome;
  history: readonly Operation[];
  /** Service traffic and API calls (Kubernetes workloads). */
  requests?: readonly RequestRecord[];
  replay: string;
  versions: Record<string, string>;
  timing?: { wallMs: number; runMs: number; speedup: number };
}

/** Points drawn in the latency plot at most. Why: a browser stays responsive with tens of thousands of SVG circles, not millions. */
export const LATENCY_POINTS_MAX = 20_000;

const W = 1000;
const PAD = { left: 64, right: 16, top: 16, bottom: 34 };
const COLORS = { read: '#2f6fb0', write: '#2e9a4c', cas: '#d9822b', service: '#00838f', api: '#6d4c41', fail: '#c62828', unknown: '#8e24aa', fault: 'rgba(220, 60, 60, 0.13)', faultLine: 'rgba(200, 40, 40, 0.8)' };
const ROLE_COLORS: Record<string, string> = { leader: '#1b5e20', follower: '#b0bec5', candidate: '#ef6c00', preCandidate: '#ffb74d', unreachable: '#e53935' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function fmt(x: number | null | undefined, digits = 0): string {
  return x === null || x === undefined ? '—' : x.toFixed(digits);
}

interface Frame {
  height: number;
  x(ms: number): number;
  endMs: number;
}

function frame(endMs: number, height: number): Frame {
  const span = Math.max(1, endMs);
  return { height, endMs, x: (ms) => PAD.left + (Math.max(0, Math.min(ms, span)) / span) * (W - PAD.left - PAD.right) };
}

function timeAxis(f: Frame): string {
  const stepMs = niceStep(f.endMs / 10);
  const parts: string[] = [];
  const y = f.height - PAD.bottom;
  parts.push(`<line x1="${PAD.left}" y1="${y}" x2="${W - PAD.right}" y2="${y}" stroke="#555"/>`);
  for (let t = 0; t <= f.endMs + 1e-9; t += stepMs) {
    const x = f.x(t).toFixed(1);
    parts.push(`<line x1="${x}" y1="${y}" x2="${x}" y2="${y + 4}" stroke="#555"/><text x="${x}" y="${y + 16}" text-anchor="middle">${(t / 1000).toFixed(stepMs < 1000 ? 1 : 0)}s</text>`);
  }
  return parts.join('');
}

function niceStep(raw: number): number {
  const pow = 10 ** Math.floor(Math.log10(Math.max(raw, 1e-9)));
  for (const m of [1, 2, 5, 10]) if (m * pow >= raw) return m * pow;
  return 10 * pow;
}

function faultShades(outcome: RunOutcome, f: Frame): string {
  const top = PAD.top;
  const bottom = f.height - PAD.bottom;
  return outcome.figures
    .map((fault) => {
      const x0 = f.x(fault.atMs);
      const x1 = fault.healedAtMs === undefined ? x0 : f.x(fault.healedAtMs);
      const label = `<text x="${(x0 + 3).toFixed(1)}" y="${top + 10}" class="fault-label">${fault.index}</text>`;
      const title = `<title>fault ${fault.index}: ${escapeHtml(fault.description)}</title>`;
      if (x1 - x0 < 1) return `<g><line x1="${x0.toFixed(1)}" y1="${top}" x2="${x0.toFixed(1)}" y2="${bottom}" stroke="${COLORS.faultLine}" stroke-dasharray="4 3"/>${label}${title}</g>`;
      return `<g><rect x="${x0.toFixed(1)}" y="${top}" width="${(x1 - x0).toFixed(1)}" height="${bottom - top}" fill="${COLORS.fault}"/>${label}${title}</g>`;
    })
    .join('');
}

function svg(height: number, body: string, label: string): string {
  return `<svg viewBox="0 0 ${W} ${height}" width="100%" role="img" aria-label="${escapeHtml(label)}" xmlns="http://www.w3.org/2000/svg">${body}</svg>`;
}

function latencyPlot(input: ReportInput, f: Frame): string {
  const ops = input.history.filter((o) => o.process !== 'final-reader');
  const requests = input.requests ?? [];
  const stride = Math.max(1, Math.ceil((ops.length + requests.length) / LATENCY_POINTS_MAX));
  const latencies = [...ops.filter((o) => o.completeMs !== null).map((o) => o.completeMs! - o.invokeMs), ...requests.map((r) => r.completeMs - r.invokeMs)];
  const maxMs = Math.max(10, ...latencies.slice(0, 200_000));
  const minLog = -1;
  const maxLog = Math.ceil(Math.log10(maxMs));
  const plotTop = PAD.top;
  const plotBottom = f.height - PAD.bottom;
  const y = (ms: number): number => plotBottom - ((Math.log10(Math.max(ms, 0.1)) - minLog) / (maxLog - minLog)) * (plotBottom - plotTop);
  const parts: string[] = [faultShades(input.outcome, f), timeAxis(f)];
  for (let e = minLog; e <= maxLog; e++) {
    const yy = y(10 ** e).toFixed(1);
    parts.push(`<line x1="${PAD.left}" y1="${yy}" x2="${W - PAD.right}" y2="${yy}" stroke="#e5e5e5"/><text x="${PAD.left - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle">${10 ** e >= 1 ? (10 ** e).toFixed(0) : (10 ** e).toFixed(1)} ms</text>`);
  }
  const dots: string[] = [];
  for (let i = 0; i < ops.length; i += stride) {
    const o = ops[i]!;
    if (o.completeMs === null) {
      dots.push(`<path d="M${f.x(o.invokeMs).toFixed(1)},${(plotTop + 4).toFixed(1)}l3,-3m-3,3l-3,-3m3,3v-3" stroke="${COLORS.unknown}"/>`);
      continue;
    }
    const color = o.status === 'fail' ? COLORS.fail : o.status === 'unknown' ? COLORS.unknown : COLORS[o.op];
    dots.push(`<circle cx="${f.x(o.invokeMs).toFixed(1)}" cy="${y(o.completeMs - o.invokeMs).toFixed(1)}" r="1.6" fill="${color}"/>`);
  }
  for (let i = 0; i < requests.length; i += stride) {
    const r = requests[i]!;
    dots.push(`<circle cx="${f.x(r.invokeMs).toFixed(1)}" cy="${y(r.completeMs - r.invokeMs).toFixed(1)}" r="1.6" fill="${r.ok ? COLORS[r.kind] : COLORS.fail}"/>`);
  }
  parts.push(`<g>${dots.join('')}</g>`);
  return svg(f.height, parts.join(''), 'operation latency over time');
}

function throughputPlot(input: ReportInput, f: Frame): string {
  const binMs = Math.max(100, niceStep(f.endMs / 150));
  const bins = Math.max(1, Math.ceil(f.endMs / binMs));
  const ok = new Array<number>(bins).fill(0);
  const bad = new Array<number>(bins).fill(0);
  for (const o of input.history) {
    if (o.process === 'final-reader' || o.completeMs === null) continue;
    const b = Math.floor(o.completeMs / binMs);
    if (b < 0 || b >= bins) continue;
    if (o.status === 'ok') ok[b]!++;
    else bad[b]!++;
  }
  for (const r of input.requests ?? []) {
    const b = Math.floor(r.completeMs / binMs);
    if (b < 0 || b >= bins) continue;
    if (r.ok) ok[b]!++;
    else bad[b]!++;
  }
  const perS = (n: number): number => (n * 1000) / binMs;
  const maxRate = Math.max(1, ...ok.map(perS), ...bad.map(perS));
  const top = niceStep(maxRate / 4) * 4 >= maxRate ? niceStep(maxRate / 4) * 4 : maxRate;
  const plotTop = PAD.top;
  const plotBottom = f.height - PAD.bottom;
  const y = (rate: number): number => plotBottom - (rate / top) * (plotBottom - plotTop);
  const parts: string[] = [faultShades(input.outcome, f), timeAxis(f)];
  for (let i = 0; i <= 4; i++) {
    const v = (top / 4) * i;
    parts.push(`<line x1="${PAD.left}" y1="${y(v).toFixed(1)}" x2="${W - PAD.right}" y2="${y(v).toFixed(1)}" stroke="#e5e5e5"/><text x="${PAD.left - 6}" y="${y(v).toFixed(1)}" text-anchor="end" dominant-baseline="middle">${v.toFixed(0)}/s</text>`);
  }
  const line = (counts: number[], color: string): string => {
    const pts = counts.map((n, i) => `${f.x((i + 0.5) * binMs).toFixed(1)},${y(perS(n)).toFixed(1)}`).join(' ');
    return `<polyline points="${pts}" fill="none" stroke="${color}" stroke-width="1.5"/>`;
  };
  parts.push(line(ok, COLORS.write), line(bad, COLORS.fail));
  return svg(f.height, parts.join(''), 'throughput over time');
}

function rolePlot(outcome: RunOutcome, f: Frame, names: string[]): string {
  const lane = 22;
  const parts: string[] = [faultShades(outcome, f), timeAxis(f)];
  const samples = outcome.samples;
  names.forEach((name, r) => {
    const y0 = PAD.top + 4 + r * (lane + 6);
    parts.push(`<text x="${PAD.left - 6}" y="${y0 + lane / 2}" text-anchor="end" dominant-baseline="middle">${escapeHtml(name)}</text>`);
    let runStart = 0;
    for (let i = 0; i < samples.length; i++) {
      const role = roleAt(samples[i]!, r);
      const next = i + 1 < samples.length ? roleAt(samples[i + 1]!, r) : undefined;
      if (next === role) continue;
      const x0 = f.x(samples[runStart]!.tMs);
      const x1 = i + 1 < samples.length ? f.x(samples[i + 1]!.tMs) : f.x(f.endMs);
      const term = samples[runStart]!.replicas[r]?.term;
      parts.push(`<rect x="${x0.toFixed(1)}" y="${y0}" width="${Math.max(0.5, x1 - x0).toFixed(1)}" height="${lane}" fill="${ROLE_COLORS[role] ?? '#999'}"><title>${escapeHtml(name)}: ${role}${term === undefined ? '' : `, term ${term}`} from ${(samples[runStart]!.tMs / 1000).toFixed(2)}s</title></rect>`);
      if (role === 'leader' && x1 - x0 > 40) parts.push(`<text x="${(x0 + 4).toFixed(1)}" y="${y0 + lane / 2}" dominant-baseline="middle" style="fill:#fff">term ${term}</text>`);
      runStart = i + 1;
    }
  });
  return svg(f.height, parts.join(''), 'role of each replica over time');
}

/** Pods Running (all, and on the current image) against desired, summed over the workload's Deployments. */
function podsPlot(outcome: RunOutcome, f: Frame): string {
  const samples = outcome.cluster.filter((c) => c.desired !== undefined);
  const maxPods = Math.max(1, ...samples.map((c) => Math.max(c.desired!, c.running ?? 0)));
  const plotTop = PAD.top;
  const plotBottom = f.height - PAD.bottom;
  const y = (n: number): number => plotBottom - (n / maxPods) * (plotBottom - plotTop);
  const parts: string[] = [faultShades(outcome, f), timeAxis(f)];
  const step = Math.max(1, niceStep(maxPods / 4));
  for (let n = 0; n <= maxPods; n += step) parts.push(`<line x1="${PAD.left}" y1="${y(n).toFixed(1)}" x2="${W - PAD.right}" y2="${y(n).toFixed(1)}" stroke="#e5e5e5"/><text x="${PAD.left - 6}" y="${y(n).toFixed(1)}" text-anchor="end" dominant-baseline="middle">${n}</text>`);
  const line = (value: (c: ClusterSample) => number, color: string, dash: string, title: string): string => {
    const pts: string[] = [];
    let last: number | undefined;
    for (const c of samples) {
      const v = value(c);
      if (last !== undefined && v !== last) pts.push(`${f.x(c.tMs).toFixed(1)},${y(last).toFixed(1)}`);
      pts.push(`${f.x(c.tMs).toFixed(1)},${y(v).toFixed(1)}`);
      last = v;
    }
    return `<polyline points="${pts.join(' ')}" fill="none" stroke="${color}" stroke-width="1.8"${dash === '' ? '' : ` stroke-dasharray="${dash}"`}><title>${title}</title></polyline>`;
  };
  parts.push(line((c) => c.desired!, '#455a64', '6 4', 'desired'), line((c) => c.running ?? 0, '#2e7d32', '', 'Running'), line((c) => c.runningCurrent ?? 0, '#1565c0', '', 'Running the current image'));
  return svg(f.height, parts.join(''), 'pods Running against desired over time');
}

/** Which scheduler and controller-manager said they lead, over time (gaps: none did). */
function controlPlanePlot(outcome: RunOutcome, f: Frame): string {
  const lane = 22;
  const parts: string[] = [faultShades(outcome, f), timeAxis(f)];
  const samples = outcome.cluster;
  const names = [...new Set(samples.flatMap((c) => [c.schedulerLeader, c.controllerManagerLeader]).filter((n): n is string => n !== null))].sort();
  const palette = ['#1565c0', '#2e7d32', '#ef6c00', '#6a1b9a'];
  const lanes: Array<{ label: string; of: (c: ClusterSample) => string | null }> = [
    { label: 'scheduler', of: (c) => c.schedulerLeader },
    { label: 'ctrl-mgr', of: (c) => c.controllerManagerLeader },
  ];
  lanes.forEach((l, r) => {
    const y0 = PAD.top + 4 + r * (lane + 6);
    parts.push(`<text x="${PAD.left - 6}" y="${y0 + lane / 2}" text-anchor="end" dominant-baseline="middle">${l.label}</text>`);
    for (let i = 0; i < samples.length; i++) {
      const who = l.of(samples[i]!);
      if (who === null) continue;
      const x0 = f.x(samples[i]!.tMs);
      const x1 = i + 1 < samples.length ? f.x(samples[i + 1]!.tMs) : f.x(f.endMs);
      parts.push(`<rect x="${x0.toFixed(1)}" y="${y0}" width="${Math.max(0.5, x1 - x0).toFixed(1)}" height="${lane}" fill="${palette[names.indexOf(who) % palette.length]}"><title>${escapeHtml(who)} leads at ${(samples[i]!.tMs / 1000).toFixed(2)}s</title></rect>`);
    }
  });
  return svg(f.height, parts.join(''), 'scheduler and controller-manager leaders over time') + `<div class="legend">${names.map((n, i) => `<span><i style="background:${palette[i % palette.length]}"></i>${escapeHtml(n)}</span>`).join('')}<span>(blank: nobody reported leading)</span></div>`;
}

/** One sampled metric series over time (gaps where it had nothing to report), fault windows shaded. */
function metricPlot(outcome: RunOutcome, f: Frame, index: number, title: string): string {
  const points = (outcome.metrics ?? []).map((s) => ({ tMs: s.tMs, v: s.values[index] ?? null }));
  const values = points.map((p) => p.v).filter((v): v is number => v !== null && Number.isFinite(v));
  const maxValue = Math.max(...values, 0);
  const minValue = Math.min(...values, 0);
  const span = maxValue - minValue || 1;
  const plotTop = PAD.top;
  const plotBottom = f.height - PAD.bottom;
  const y = (v: number): number => plotBottom - ((v - minValue) / span) * (plotBottom - plotTop);
  const parts: string[] = [faultShades(outcome, f), timeAxis(f)];
  for (const v of [minValue, minValue + span / 2, maxValue]) parts.push(`<line x1="${PAD.left}" y1="${y(v).toFixed(1)}" x2="${W - PAD.right}" y2="${y(v).toFixed(1)}" stroke="#e5e5e5"/><text x="${PAD.left - 6}" y="${y(v).toFixed(1)}" text-anchor="end" dominant-baseline="middle">${compact(v)}</text>`);
  let run: string[] = [];
  const flush = (): void => {
    if (run.length > 0) parts.push(`<polyline points="${run.join(' ')}" fill="none" stroke="#1565c0" stroke-width="1.6"><title>${escapeHtml(title)}</title></polyline>`);
    run = [];
  };
  for (const p of points) {
    if (p.v === null || !Number.isFinite(p.v)) {
      flush();
      continue;
    }
    run.push(`${f.x(p.tMs).toFixed(1)},${y(p.v).toFixed(1)}`);
    parts.push(`<circle cx="${f.x(p.tMs).toFixed(1)}" cy="${y(p.v).toFixed(1)}" r="1.6" fill="#1565c0"><title>${(p.tMs / 1000).toFixed(2)}s: ${compact(p.v)}</title></circle>`);
  }
  flush();
  return svg(f.height, parts.join(''), `${title} over time`);
}

/** A number in a few characters: 12, 3.4, 0.012, 1.2e+6. */
function compact(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(1);
  return Number(v.toPrecision(3)).toString();
}

/** The figures a run has: the store's always, the others when some fault has them. */
const OPTIONAL_FIGURES: Array<{ key: keyof FaultFigures; title: string }> = [
  { key: 'serviceUnavailabilityMs', title: 'Service unavailability (longest gap without a successful request)' },
  { key: 'apiUnavailabilityMs', title: 'API unavailability (longest gap without a successful call)' },
  { key: 'newSchedulerLeaderMs', title: 'new scheduler leader after' },
  { key: 'newControllerManagerLeaderMs', title: 'new controller-manager leader after' },
  { key: 'restoredMs', title: 'desired state restored after' },
];

function roleAt(sample: StatusSample, r: number): string {
  return sample.replicas[r]?.role ?? 'unreachable';
}

function termPlot(outcome: RunOutcome, f: Frame, names: string[]): string {
  const samples = outcome.samples;
  const terms = samples.flatMap((s) => s.replicas.map((r) => r?.term ?? 0));
  const maxTerm = Math.max(1, ...terms);
  const plotTop = PAD.top;
  const plotBottom = f.height - PAD.bottom;
  const y = (t: number): number => plotBottom - (t / maxTerm) * (plotBottom - plotTop);
  const parts: string[] = [faultShades(outcome, f), timeAxis(f)];
  const step = Math.max(1, Math.ceil(maxTerm / 5));
  for (let t = 0; t <= maxTerm; t += step) parts.push(`<line x1="${PAD.left}" y1="${y(t).toFixed(1)}" x2="${W - PAD.right}" y2="${y(t).toFixed(1)}" stroke="#e5e5e5"/><text x="${PAD.left - 6}" y="${y(t).toFixed(1)}" text-anchor="end" dominant-baseline="middle">term ${t}</text>`);
  const palette = ['#1565c0', '#2e7d32', '#ef6c00', '#6a1b9a', '#00838f', '#ad1457', '#4e342e'];
  names.forEach((name, r) => {
    const pts: string[] = [];
    let last: number | undefined;
    for (const s of samples) {
      const term = s.replicas[r]?.term;
      if (term === undefined) continue;
      if (last !== undefined && term !== last) pts.push(`${f.x(s.tMs).toFixed(1)},${(y(last) - r * 1.5).toFixed(1)}`);
      pts.push(`${f.x(s.tMs).toFixed(1)},${(y(term) - r * 1.5).toFixed(1)}`);
      last = term;
    }
    parts.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${palette[r % palette.length]}" stroke-width="1.6"><title>${escapeHtml(name)}</title></polyline>`);
  });
  return svg(f.height, parts.join(''), 'term of each replica over time') + `<div class="legend">${names.map((n, r) => `<span><i style="background:${palette[r % palette.length]}"></i>${escapeHtml(n)}</span>`).join('')}</div>`;
}

function metricsSection(outcome: RunOutcome, endMs: number): string {
  const series = outcome.scenario.metrics?.series ?? [];
  if (series.length === 0 || outcome.metrics === undefined) return '';
  return `<h2>Sampled metrics (every ${outcome.scenario.metrics!.everyMs} ms; quantiles over each interval)</h2>${series
    .map((spec, i) => `<h3>${escapeHtml(seriesTitle(spec))}</h3>${metricPlot(outcome, frame(endMs, 150), i, seriesTitle(spec))}`)
    .join('')}`;
}

export function renderReport(input: ReportInput): string {
  const { outcome } = input;
  const s = outcome.scenario;
  const names = outcome.samples.find((x) => x.replicas.some((r) => r !== null))?.replicas.map((r, i) => r?.name ?? `replica-${i}`) ?? [];
  const endMs = Math.max(s.durationMs, ...outcome.samples.map((x) => x.tMs), ...outcome.cluster.map((x) => x.tMs));
  const verdictClass = outcome.verdict === 'pass' ? 'pass' : outcome.verdict === 'fail' ? 'fail' : 'unknown';
  const speed = input.timing === undefined ? '' : `${(input.timing.runMs / 1000).toFixed(1)} s of ${outcome.runtime === 'simulated' ? 'virtual' : 'real'} time in ${(input.timing.wallMs / 1000).toFixed(1)} s of wall-clock time${outcome.runtime === 'simulated' ? ` — ${input.timing.speedup.toFixed(1)}× faster than real time` : ''}`;
  const checks = outcome.checks
    .map((c) => `<tr class="${c.verdict}"><td>${escapeHtml(c.name)}</td><td><b>${c.verdict}</b></td><td><pre>${escapeHtml(c.summary)}</pre></td></tr>`)
    .join('');
  const optional = OPTIONAL_FIGURES.filter((o) => outcome.figures.some((f) => f[o.key] !== undefined));
  const figures = outcome.figures
    .map(
      (f) =>
        `<tr><td>${f.index}</td><td>${(f.atMs / 1000).toFixed(2)} s</td><td>${escapeHtml(f.description)}</td><td>${escapeHtml(f.leaderBefore ?? '—')}${f.termBefore === null ? '' : ` (term ${f.termBefore})`}</td><td>${f.newLeaderMs === null ? 'no election' : `${fmt(f.newLeaderMs)} ms${f.electionTerms !== null && f.electionTerms > 1 ? ` (${f.electionTerms} terms: split votes)` : ''}`}</td><td>${f.unavailabilityMs === null ? '—' : `${fmt(f.unavailabilityMs)} ms`}</td><td>${f.writesRecoveredMs === null ? 'none' : `${fmt(f.writesRecoveredMs, 1)} ms`}</td>${optional.map((o) => { const v = f[o.key] as number | null | undefined; return `<td>${v === undefined ? '' : v === null ? 'none' : `${fmt(v)} ms`}</td>`; }).join('')}</tr>`,
    )
    .join('');
  const hasCluster = outcome.cluster.some((c) => c.desired !== undefined);
  const requestCounts = Object.entries(outcome.counts.requests ?? {}).map(([kind, n]) => ` · ${n.ok + n.fail} ${kind === 'service' ? 'Service requests' : 'API calls'} (${n.fail} failed)`).join('');
  const c = outcome.counts;
  const legend = `<div class="legend"><span><i style="background:${COLORS.read}"></i>read</span><span><i style="background:${COLORS.write}"></i>write</span><span><i style="background:${COLORS.cas}"></i>cas</span>${(input.requests ?? []).some((r) => r.kind === 'service') ? `<span><i style="background:${COLORS.service}"></i>Service request</span>` : ''}${(input.requests ?? []).some((r) => r.kind === 'api') ? `<span><i style="background:${COLORS.api}"></i>API call</span>` : ''}<span><i style="background:${COLORS.fail}"></i>failed</span><span><i style="background:${COLORS.unknown}"></i>unknown outcome</span><span><i style="background:${COLORS.fault}; border:1px solid ${COLORS.faultLine}"></i>fault window (number = fault)</span></div>`;
  const roleLegend = `<div class="legend">${Object.entries(ROLE_COLORS).map(([role, color]) => `<span><i style="background:${color}"></i>${role}</span>`).join('')}</div>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(s.name)} — ${outcome.verdict} — kubethreads chaos</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.45 system-ui,-apple-system,"DejaVu Sans",sans-serif;margin:0 auto;max-width:1060px;padding:18px;color:#222}
h1{font-size:22px;margin:0 0 4px} h3{font-size:13px;margin:10px 0 2px;font-family:monospace} h2{font-size:16px;margin:22px 0 6px;border-bottom:1px solid #ddd;padding-bottom:3px}
.verdict{display:inline-block;padding:3px 12px;border-radius:4px;color:#fff;font-weight:bold;font-size:18px;margin-right:10px;vertical-align:middle}
.verdict.pass{background:#2e7d32}.verdict.fail{background:#c62828}.verdict.unknown{background:#6d6d6d}
code.replay{display:block;background:#f4f4f4;border:1px solid #ddd;padding:6px 8px;margin:8px 0;font-size:13px;white-space:pre-wrap}
table{border-collapse:collapse;width:100%;font-size:13px} td,th{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
tr.pass td:nth-child(2){color:#2e7d32} tr.fail td:nth-child(2){color:#c62828} tr.unknown td:nth-child(2){color:#6d6d6d}
pre{margin:0;white-space:pre-wrap;font-size:12px;max-height:14em;overflow:auto}
svg text{font-size:11px;fill:#333} svg .fault-label{fill:#b71c1c;font-weight:bold}
.legend{font-size:12px;margin:2px 0 8px} .legend span{margin-right:14px} .legend i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}
.meta{color:#555;font-size:13px} ul.log{font:12px monospace;padding-left:18px}
</style></head><body>
<header>
<h1><span class="verdict ${verdictClass}">${outcome.verdict.toUpperCase()}</span>${escapeHtml(s.name)}</h1>
<div class="meta">${escapeHtml(s.description)}</div>
<div class="meta">seed ${outcome.seed} · ${outcome.runtime} runtime · ${s.cluster.replicas} replicas, tick ${s.cluster.tickMs} ms, election timeout ${s.cluster.electionTicks}–${s.cluster.electionTicks + (s.cluster.electionJitterTicks ?? s.cluster.electionTicks)} ticks, heartbeat ${s.cluster.heartbeatTicks} · ${c.operations} operations (${c.ok} ok, ${c.fail} failed, ${c.unknown} unknown), ${c.acknowledgedWrites} acknowledged writes, ${c.watchEvents} watch events${escapeHtml(requestCounts)}${speed === '' ? '' : ` · ${escapeHtml(speed)}`}</div>
<code class="replay">${escapeHtml(input.replay)}</code>
</header>
<h2>Checks</h2><table><tr><th>check</th><th>verdict</th><th>detail</th></tr>${checks || '<tr><td colspan="3">no checks in this scenario</td></tr>'}</table>
<h2>Faults and figures</h2>
<table><tr><th>#</th><th>at</th><th>fault</th><th>leader before</th><th>new leader after</th><th>unavailability (longest gap without a successful operation)</th><th>writes succeed again after</th>${optional.map((o) => `<th>${escapeHtml(o.title)}</th>`).join('')}</tr>${figures || `<tr><td colspan="${7 + optional.length}">no faults</td></tr>`}</table>
<h2>${(input.requests ?? []).length > 0 ? 'Latency of operations and requests over time' : 'Operation latency over time'}</h2>${legend}${latencyPlot(input, frame(endMs, 300))}
<h2>Throughput (successful and failed operations per second)</h2>${throughputPlot(input, frame(endMs, 200))}
${hasCluster ? `<h2>Pods Running against desired</h2><div class="legend"><span><i style="background:#455a64"></i>desired (dashed)</span><span><i style="background:#2e7d32"></i>Running</span><span><i style="background:#1565c0"></i>Running the current image</span></div>${podsPlot(outcome, frame(endMs, 220))}<h2>Scheduler and controller-manager leaders</h2>${controlPlanePlot(outcome, frame(endMs, PAD.top + 10 + 2 * 28 + PAD.bottom))}` : ''}
${metricsSection(outcome, endMs)}
<h2>Role of each replica over time</h2>${roleLegend}${rolePlot(outcome, frame(endMs, PAD.top + 10 + names.length * 28 + PAD.bottom), names)}
<h2>Term of each replica over time</h2>${termPlot(outcome, frame(endMs, 180), names)}
<h2>Fault log</h2><ul class="log">${outcome.log.map((l) => `<li>${escapeHtml(l)}</li>`).join('')}</ul>
<p class="meta">versions: ${Object.entries(input.versions).map(([k, v]) => `${escapeHtml(k)} ${escapeHtml(v)}`).join(', ')} · samples every ${s.sampleMs} ms · result.json and history.jsonl beside this file hold the data.</p>
</body></html>
`;
}
