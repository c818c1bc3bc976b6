#!/usr/bin/env node
// Summarises a V8 .cpuprofile (from `node --cpu-prof`): the functions with the
// most self time, and the most inclusive time (self plus callees, each
// function counted once per sample however deep it recurses).
// With --callers NAME: for functions whose label starts with NAME, the chains
// of callers (up to --depth D frames, default 4) their self time came through.
// With --from S / --to S: only the samples taken in that window (seconds from the start).
// With --lines NAME: the self time of functions whose label starts with NAME, by source line.
// Usage: node scripts/profile-top.mjs FILE.cpuprofile [--top N] [--callers NAME [--depth D]] [--lines NAME] [--from S] [--to S]
import { frameLabel, loadCpuProfile } from './lib/cpu-profile.mjs';

const args = process.argv.slice(2);
const file = args.find((a, i) => !a.startsWith('--') && !['--top', '--callers', '--depth', '--from', '--to', '--lines'].includes(args[i - 1]));
const linesIndex = args.indexOf('--lines');
const linesOf = linesIndex >= 0 ? args[linesIndex + 1] : undefined;
const fromIndex = args.indexOf('--from');
const toIndex = args.indexOf('--to');
const fromUs = fromIndex >= 0 ? Number(args[fromIndex + 1]) * 1e6 : -Infinity;
const toUs = toIndex >= 0 ? Number(args[toIndex + 1]) * 1e6 : Infinity;
const topIndex = args.indexOf('--top');
const top = topIndex >= 0 ? Number(args[topIndex + 1]) : 30;
const callersIndex = args.indexOf('--callers');
const callersOf = callersIndex >= 0 ? args[callersIndex + 1] : undefined;
const depthIndex = args.indexOf('--depth');
const depth = depthIndex >= 0 ? Number(args[depthIndex + 1]) : 4;
if (file === undefined) {
  console.error('usage: node scripts/profile-top.mjs FILE.cpuprofile [--top N]');
  process.exit(2);
}
const { profile, byId, parent } = loadCpuProfile(file);

const label = frameLabel;

const self = new Map();
const inclusive = new Map();
const counts = new Map();
let elapsedUs = 0;
profile.samples.forEach((id, i) => {
  elapsedUs += profile.timeDeltas?.[i] ?? 0;
  if (elapsedUs >= fromUs && elapsedUs < toUs) counts.set(id, (counts.get(id) ?? 0) + 1);
});
let total = 0;
for (const [id, count] of counts) {
  total += count;
  const node = byId.get(id);
  const name = label(node);
  self.set(name, (self.get(name) ?? 0) + count);
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const l = label(byId.get(cur));
    if (seen.has(l)) continue;
    seen.add(l);
    inclusive.set(l, (inclusive.get(l) ?? 0) + count);
  }
}
const show = (title, map) => {
  console.log(`\n${title} (of ${total} samples)`);
  for (const [name, n] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((100 * n) / total).toFixed(1).padStart(5)} %  ${name}`);
  }
};
show('self time', self);
show('inclusive time', inclusive);

if (callersOf !== undefined) {
  const chains = new Map();
  let matched = 0;
  for (const [id, count] of counts) {
    if (!label(byId.get(id)).startsWith(callersOf)) continue;
    matched += count;
    const chain = [];
    // Recursion (a copy walking a tree) folds into one frame, so the chain shows who started it.
    for (let cur = parent.get(id); cur !== undefined && chain.length < depth; cur = parent.get(cur)) {
      const l = label(byId.get(cur));
      if (chain[chain.length - 1] !== l && !(chain.length === 0 && l === label(byId.get(id)))) chain.push(l);
    }
    const key = chain.join('  <  ');
    chains.set(key, (chains.get(key) ?? 0) + count);
  }
  show(`self time of ${callersOf}* by caller chain (${((100 * matched) / total).toFixed(1)} % in all)`, chains);
}

if (linesOf !== undefined) {
  // positionTicks count every sample of the node, whatever the window.
  const byLine = new Map();
  let matched = 0;
  for (const node of profile.nodes) {
    const name = label(node);
    if (!name.startsWith(linesOf)) continue;
    for (const t of node.positionTicks ?? []) {
      const key = `${name.split(' ')[0]} line ${t.line}`;
      byLine.set(key, (byLine.get(key) ?? 0) + t.ticks);
      matched += t.ticks;
    }
  }
  console.log(`\nself time of ${linesOf}* by line (${matched} samples)`);
  for (const [line, n] of [...byLine].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${String(n).padStart(7)}  ${line}`);
}
