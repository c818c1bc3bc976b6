#!/usr/bin/env node
// The components' functions (dist/src outside the actor runtime) that allocate and burn the most, together:
// every allocation site of the heap profiles (scripts/alloc-profile.mjs) and every CPU sample of the .cpuprofiles is
// charged to the innermost component function on its stack, so a builtin, a msgpackr function or the runtime's
// message copy called from a component counts as that component's. CPU samples in the runtime, the collector,
// microtasks, (idle) and (program) are charged to nobody (they are in the total, not in any row).
// Usage: node scripts/component-top.mjs --alloc A.heapprofile[,B...] --cpu P.cpuprofile[,Q...] [--top N]
//   Allocation is averaged over the heap profiles given (one per run); CPU shares are of all samples of all profiles.
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const opt = (name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const heapFiles = (opt('--alloc') ?? '').split(',').filter(Boolean);
const cpuFiles = (opt('--cpu') ?? '').split(',').filter(Boolean);
const top = Number(opt('--top') ?? 25);
if (heapFiles.length === 0 && cpuFiles.length === 0) {
  console.error('usage: node scripts/component-top.mjs --alloc A.heapprofile[,B...] --cpu P.cpuprofile[,Q...] [--top N]');
  process.exit(2);
}

const label = (f) => `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/dist\//, '')}:${f.lineNumber + 1}`;
const isComponent = (f) => /\/dist\/src\//.test(f.url) && !/\/dist\/src\/actor\//.test(f.url);
const isUncharged = (f) => /\/dist\/src\/actor\//.test(f.url) || /task_queues/.test(f.url)
  || ['(garbage collector)', 'runMicrotasks', '(idle)', '(program)', '(root)'].includes(f.functionName);

const alloc = new Map();
let allocTotal = 0;
for (const file of heapFiles) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const visit = (node, owner) => {
    const own = isComponent(node.callFrame) ? label(node.callFrame) : owner;
    allocTotal += node.selfSize;
    if (own !== undefined) alloc.set(own, (alloc.get(own) ?? 0) + node.selfSize);
    for (const child of node.children) visit(child, own);
  };
  visit(profile.head, undefined);
}

const cpu = new Map();
let samples = 0;
for (const file of cpuFiles) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const owners = new Map();
  const owner = (id) => {
    if (owners.has(id)) return owners.get(id);
    const node = byId.get(id);
    let own;
    if (isComponent(node.callFrame)) own = label(node.callFrame);
    else if (!isUncharged(node.callFrame) && parent.has(id)) own = owner(parent.get(id));
    owners.set(id, own);
    return own;
  };
  for (const id of profile.samples) {
    samples++;
    const own = owner(id);
    if (own !== undefined) cpu.set(own, (cpu.get(own) ?? 0) + 1);
  }
}

const runs = Math.max(heapFiles.length, 1);
const rows = [...new Set([...alloc.keys(), ...cpu.keys()])].map((name) => ({
  name,
  alloc: allocTotal > 0 ? (alloc.get(name) ?? 0) / allocTotal : 0,
  cpu: samples > 0 ? (cpu.get(name) ?? 0) / samples : 0,
}));
rows.sort((a, b) => b.alloc + b.cpu - (a.alloc + a.cpu));
console.log(`allocated ${(allocTotal / runs / 1e6).toFixed(0)} MB a run (${heapFiles.length} runs); ${samples} CPU samples (${cpuFiles.length} profiles)`);
console.log('| component function | alloc | CPU |');
console.log('|---|---|---|');
for (const r of rows.slice(0, top)) {
  console.log(`| ${r.name} | ${(r.alloc * 100).toFixed(1)} % (${((r.alloc * allocTotal) / runs / 1e6).toFixed(1)} MB) | ${(r.cpu * 100).toFixed(1)} % |`);
}
