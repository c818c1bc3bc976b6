#!/usr/bin/env node
// Everything a script allocates, by allocation site: runs SCRIPT (with its
// arguments) in this process under V8's sampling heap profiler with collected
// objects kept in the profile (`node --heap-prof` keeps only what is still
// live at the end, which says nothing about garbage), writes the profile to
// OUT (a .heapprofile DevTools opens) and prints the total allocated and the
// sites with the most bytes. Unlike CPU time, the total does not move with
// the machine's load: two builds can be compared by it in one run each.
// Usage: node scripts/alloc-profile.mjs OUT.heapprofile SCRIPT [ARGS...] [--top N]
//   e.g. node scripts/alloc-profile.mjs /tmp/a.heapprofile dist/bench/sim/one.js 20 8000 1
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const args = process.argv.slice(2);
const topIndex = args.indexOf('--top');
const top = topIndex >= 0 ? Number(args.splice(topIndex, 2)[1]) : 25;
const [out, script, ...scriptArgs] = args;
if (out === undefined || script === undefined) {
  console.error('usage: node scripts/alloc-profile.mjs OUT.heapprofile SCRIPT [ARGS...] [--top N]');
  process.exit(2);
}

const session = new Session();
session.connect();
session.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true }, (error) => {
  if (error) {
    console.error(`cannot start the sampling heap profiler: ${error.message}`);
    process.exit(1);
  }
});

let stopped = false;
process.on('beforeExit', () => {
  if (stopped) return;
  stopped = true;
  session.post('HeapProfiler.stopSampling', (error, result) => {
    if (error) {
      console.error(`cannot stop the sampling heap profiler: ${error.message}`);
      return;
    }
    writeFileSync(out, JSON.stringify(result.profile));
    report(result.profile);
  });
});

function label(node) {
  const f = node.callFrame;
  return `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(dist|node_modules)\//, '$1/')}:${f.lineNumber + 1}`;
}

function report(profile) {
  const self = new Map();
  let total = 0;
  const visit = (node) => {
    total += node.selfSize;
    const l = label(node);
    self.set(l, (self.get(l) ?? 0) + node.selfSize);
    for (const child of node.children) visit(child);
  };
  visit(profile.head);
  process.stderr.write(`allocated ${(total / 1e6).toFixed(0)} MB (sampled every 4 KiB, collected objects included); by site:\n`);
  for (const [name, bytes] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stderr.write(`${((bytes / total) * 100).toFixed(1).padStart(5)} %  ${name}\n`);
  }
}

// The script sees its own arguments as if started directly.
process.argv = [process.argv[0], resolve(script), ...scriptArgs];
await import(pathToFileURL(resolve(script)).href);
