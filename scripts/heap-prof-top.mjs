#!/usr/bin/env node
// What a sampling heap profile (scripts/lib/thread-heap-prof.mjs, scripts/alloc-profile.mjs) says a thread
// allocated: the total and the allocation sites with the most bytes, and with --by-caller the same bytes charged
// to the first frame of the call stack inside dist/src (the project's code that asked for them). Sampled
// estimates: bytes, not counts, and collected objects included when the profile kept them.
//
// --under REGEX keeps only the bytes whose call stack has a frame whose script URL matches (e.g. the store's code in
// a simulated run, where every component shares one thread: --under '/dist/src/(kv|raft|storage)/').
//
//   node scripts/heap-prof-top.mjs FILE.heapprofile [...] [--top N] [--by-caller] [--under REGEX]
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const topIndex = args.indexOf('--top');
const top = topIndex >= 0 ? Number(args.splice(topIndex, 2)[1]) : 25;
const byCallerIndex = args.indexOf('--by-caller');
const byCaller = byCallerIndex >= 0;
if (byCaller) args.splice(byCallerIndex, 1);
const underIndex = args.indexOf('--under');
const under = underIndex >= 0 ? new RegExp(args.splice(underIndex, 2)[1]) : undefined;

function label(frame) {
  return `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*\/(dist|node_modules)\//, '$1/')}:${frame.lineNumber + 1}`;
}

for (const file of args) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const bytes = new Map();
  let total = 0;
  const visit = (node, stack) => {
    const frame = node.callFrame;
    const here = [...stack, frame];
    if (node.selfSize > 0 && (under === undefined || here.some((f) => under.test(f.url)))) {
      total += node.selfSize;
      let site = frame;
      if (byCaller) site = [...here].reverse().find((f) => f.url.includes('/dist/src/')) ?? frame;
      const key = label(site);
      bytes.set(key, (bytes.get(key) ?? 0) + node.selfSize);
    }
    for (const child of node.children) visit(child, here);
  };
  visit(profile.head, []);
  console.log(`${file}: allocated${under === undefined ? '' : ` under ${under}`} ${(total / 1e6).toFixed(1)} MB (sampled, collected objects included)`);
  for (const [site, n] of [...bytes].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((n / total) * 100).toFixed(1).padStart(5)} % ${(n / 1e6).toFixed(1).padStart(8)} MB  ${site}`);
  }
}
