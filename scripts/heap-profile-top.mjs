#!/usr/bin/env node
// What a sampling heap profile (.heapprofile, from scripts/lib/thread-heap-profile.mjs or scripts/alloc-profile.mjs)
// allocated, by site: the total, then the sites with the most bytes by self size (where the object was made) and
// by inclusive size (everything allocated under a function, each function counted once per stack, so recursion
// does not count twice). A site is function, file and line. Sampled estimates: bytes, not counts.
// --exclude REGEX leaves out every subtree under a site that matches (the profiler's own writes, a teardown).
// --under REGEX keeps only the bytes whose stack has a frame whose script URL matches (the store's code in a
//   simulated run, where every component shares one thread: --under '/dist/src/(kv|raft|storage)/').
// --by-caller charges each self size to the innermost frame inside dist/src (the project's code that asked for it).
// Usage: node scripts/heap-profile-top.mjs FILE.heapprofile [...] [--top N] [--exclude REGEX] [--under REGEX] [--by-caller]
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args.splice(i, 2)[1] : undefined;
};
const flag = (name) => {
  const i = args.indexOf(name);
  if (i >= 0) args.splice(i, 1);
  return i >= 0;
};
const top = Number(option('--top') ?? 30);
const excludeText = option('--exclude');
const underText = option('--under');
const exclude = excludeText === undefined ? undefined : new RegExp(excludeText);
const under = underText === undefined ? undefined : new RegExp(underText);
const byCaller = flag('--by-caller');
if (args.length === 0) {
  console.error('usage: node scripts/heap-profile-top.mjs FILE.heapprofile [...] [--top N] [--exclude REGEX] [--under REGEX] [--by-caller]');
  process.exit(2);
}

function label(frame) {
  return `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*\/(dist|node_modules)\//, '$1/')}:${frame.lineNumber + 1}`;
}

const mb = (bytes) => `${(bytes / 1e6).toFixed(1).padStart(7)} MB`;

for (const file of args) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const self = new Map();
  const inclusive = new Map();
  let total = 0;
  // Returns the bytes counted under `node`; `stack` is the frames above it, `onStack` their labels.
  const visit = (node, stack, onStack) => {
    const l = label(node.callFrame);
    if (exclude?.test(l)) return 0;
    stack.push(node.callFrame);
    const fresh = !onStack.has(l);
    if (fresh) onStack.add(l);
    let subtotal = 0;
    if (node.selfSize > 0 && (under === undefined || stack.some((f) => under.test(f.url)))) {
      subtotal = node.selfSize;
      total += node.selfSize;
      const site = byCaller ? label([...stack].reverse().find((f) => f.url.includes('/dist/src/')) ?? node.callFrame) : l;
      self.set(site, (self.get(site) ?? 0) + node.selfSize);
    }
    for (const child of node.children) subtotal += visit(child, stack, onStack);
    if (fresh) {
      onStack.delete(l);
      inclusive.set(l, (inclusive.get(l) ?? 0) + subtotal);
    }
    stack.pop();
    return subtotal;
  };
  visit(profile.head, [], new Set());
  const pct = (bytes) => `${((bytes / total) * 100).toFixed(1).padStart(5)} %`;
  console.log(`${file}: total${under === undefined ? '' : ` under ${under}`} ${mb(total)} (samples: ${profile.samples?.length ?? '?'}; collected objects included when the profile kept them)`);
  console.log(`\nby self size${byCaller ? ' (charged to the innermost dist/src frame)' : ''}:`);
  for (const [site, bytes] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(bytes)} ${mb(bytes)}  ${site}`);
  console.log('\nby inclusive size:');
  for (const [site, bytes] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(bytes)} ${mb(bytes)}  ${site}`);
}
