#!/usr/bin/env node
// What a sampling heap profile (.heapprofile, e.g. from scripts/lib/thread-heap-profile.mjs) allocated, by site:
// the total, then the sites with the most bytes by self size (where the object was made) and by inclusive size
// (everything allocated under a function, each function counted once per stack, so recursion does not count
// twice). A site is function, file and line.
// --exclude REGEX leaves out every subtree under a site that matches (the profiler's own writes, a teardown).
// Usage: node scripts/heap-profile-top.mjs FILE.heapprofile [--top N] [--exclude REGEX]
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const topIndex = args.indexOf('--top');
const top = topIndex >= 0 ? Number(args.splice(topIndex, 2)[1]) : 30;
const excludeIndex = args.indexOf('--exclude');
const exclude = excludeIndex >= 0 ? new RegExp(args.splice(excludeIndex, 2)[1]) : undefined;
const [file] = args;
if (file === undefined) {
  console.error('usage: node scripts/heap-profile-top.mjs FILE.heapprofile [--top N] [--exclude REGEX]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8'));

function label(node) {
  const f = node.callFrame;
  return `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(dist|node_modules)\//, '$1/')}:${f.lineNumber + 1}`;
}

const self = new Map();
const inclusive = new Map();
let total = 0;
const visit = (node, onStack) => {
  const l = label(node);
  if (exclude?.test(l)) return 0;
  let subtotal = node.selfSize;
  const fresh = !onStack.has(l);
  if (fresh) onStack.add(l);
  for (const child of node.children) subtotal += visit(child, onStack);
  if (fresh) {
    onStack.delete(l);
    inclusive.set(l, (inclusive.get(l) ?? 0) + subtotal);
  }
  total += node.selfSize;
  self.set(l, (self.get(l) ?? 0) + node.selfSize);
  return subtotal;
};
visit(profile.head, new Set());

const mb = (bytes) => `${(bytes / 1e6).toFixed(1).padStart(7)} MB`;
const pct = (bytes) => `${((bytes / total) * 100).toFixed(1).padStart(5)} %`;
console.log(`total ${mb(total)} (samples: ${profile.samples?.length ?? '?'})`);
console.log('\nby self size:');
for (const [site, bytes] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(bytes)} ${mb(bytes)}  ${site}`);
console.log('\nby inclusive size:');
for (const [site, bytes] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(bytes)} ${mb(bytes)}  ${site}`);
