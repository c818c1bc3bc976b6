#!/usr/bin/env node
// The long turns of one thread, from its V8 .cpuprofile (`node --cpu-prof`):
// a turn is a stretch of consecutive samples none of which is "(idle)", so
// nothing else (a timer, a message) can run in that thread while it lasts.
// The p99 of a thread's event-loop delay is set by its long turns, not by its
// mean busy share: this prints how long the turns are, how much of the busy
// time sits in turns above a length, and what the longest turns were doing
// (the functions with the most inclusive time inside each).
// Usage: node scripts/profile-turns.mjs FILE.cpuprofile [--from S] [--to S] [--min MS] [--show N] [--top K]
import { frameLabel, loadCpuProfile } from './lib/cpu-profile.mjs';

const args = process.argv.slice(2);
const valueOf = (flag, fallback) => {
  const i = args.indexOf(flag);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const file = args.find((a, i) => !a.startsWith('--') && !(args[i - 1] ?? '').startsWith('--'));
if (file === undefined) {
  console.error('usage: node scripts/profile-turns.mjs FILE.cpuprofile [--from S] [--to S] [--min MS] [--show N] [--top K]');
  process.exit(2);
}
const fromUs = valueOf('--from', -Infinity) * 1e6;
const toUs = valueOf('--to', Infinity) * 1e6;
/** Turns at least this long (ms) are listed and summed. */
const minMs = valueOf('--min', 50);
/** How many of the longest turns to describe. */
const show = valueOf('--show', 10);
/** Functions per described turn. */
const topK = valueOf('--top', 8);

const { profile, byId, parent } = loadCpuProfile(file);
const label = frameLabel;
const isIdle = (id) => byId.get(id).callFrame.functionName === '(idle)';

// Split the samples into turns. A sample's delta is the time since the one before, so it is charged to this sample.
const turns = [];
let current;
let atUs = 0;
for (let i = 0; i < profile.samples.length; i++) {
  const deltaUs = profile.timeDeltas?.[i] ?? 0;
  atUs += deltaUs;
  if (atUs < fromUs || atUs >= toUs) continue;
  const id = profile.samples[i];
  if (isIdle(id)) {
    if (current !== undefined) turns.push(current);
    current = undefined;
    continue;
  }
  if (current === undefined) current = { startUs: atUs, durationUs: 0, samples: [] };
  current.durationUs += deltaUs;
  current.samples.push(id);
}
if (current !== undefined) turns.push(current);

const busyUs = turns.reduce((s, t) => s + t.durationUs, 0);
const sorted = [...turns].sort((a, b) => a.durationUs - b.durationUs);
const quantile = (q) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))].durationUs / 1000);
console.log(`${turns.length} turns, busy ${(busyUs / 1e6).toFixed(2)} s; turn length p50 ${quantile(0.5).toFixed(1)} ms, p99 ${quantile(0.99).toFixed(1)} ms, max ${quantile(1).toFixed(1)} ms`);
for (const ms of [10, 50, 100, 200, 500, 1000]) {
  const over = turns.filter((t) => t.durationUs >= ms * 1000);
  const us = over.reduce((s, t) => s + t.durationUs, 0);
  console.log(`  turns >= ${String(ms).padStart(4)} ms: ${String(over.length).padStart(5)}, ${(us / 1e6).toFixed(2)} s (${((100 * us) / Math.max(1, busyUs)).toFixed(1)} % of busy)`);
}

// What the long turns did, summed: inclusive time per function over every turn >= minMs.
const inclusiveOf = (samples) => {
  const inclusive = new Map();
  for (const id of samples) {
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const l = label(byId.get(cur));
      if (seen.has(l)) continue;
      seen.add(l);
      inclusive.set(l, (inclusive.get(l) ?? 0) + 1);
    }
  }
  return [...inclusive].sort((a, b) => b[1] - a[1]);
};
const long = turns.filter((t) => t.durationUs >= minMs * 1000);
const longSamples = long.flatMap((t) => t.samples);
console.log(`\nturns >= ${minMs} ms together (${longSamples.length} samples), inclusive:`);
for (const [name, n] of inclusiveOf(longSamples).slice(0, 40)) console.log(`${((100 * n) / Math.max(1, longSamples.length)).toFixed(1).padStart(5)} %  ${name}`);

console.log(`\nthe ${show} longest turns:`);
for (const t of [...turns].sort((a, b) => b.durationUs - a.durationUs).slice(0, show)) {
  console.log(`at ${(t.startUs / 1e6).toFixed(2)} s: ${(t.durationUs / 1000).toFixed(1)} ms`);
  for (const [name, n] of inclusiveOf(t.samples).slice(0, topK)) console.log(`   ${((100 * n) / t.samples.length).toFixed(0).padStart(3)} %  ${name}`);
}
