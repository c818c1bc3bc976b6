#!/usr/bin/env node
// Split the instructions of a cachegrind run between what the program itself executes and what V8 does around it, per
// operation, from two runs of one build at two operation counts (docs/metrics.md "The leader's read, counted").
//
// The whole-process count of scripts/kv-sim-read-instructions.mjs still moved by up to 10 % between runs of one
// build, and the part that moved was V8's garbage collector (its incremental marking is paced by the clock) and
// optimizing compiler. The code the program runs — V8-compiled JavaScript (cachegrind cannot name it: `???`) and
// V8's builtins (`Builtins_*`: property access, promises, Map lookups) — is what a change to the read path changes.
//
//   valgrind --tool=cachegrind --cache-sim=no --smc-check=all-non-file --cachegrind-out-file=OUT.4000 \
//     node --single-threaded --predictable --predictable-gc-schedule --random-seed=1 \
//     scripts/kv-sim-read-instructions.mjs DIR 4000          (and again with OUT.16000 and 16000)
//   node scripts/cachegrind-split.mjs OUT.4000 OUT.16000 12000
import { readFileSync } from 'node:fs';

const [fileA, fileB, opsArg] = process.argv.slice(2);
const ops = Number(opsArg);
if (fileA === undefined || fileB === undefined || !(ops > 0)) {
  console.error('usage: cachegrind-split.mjs CACHEGRIND_OUT_SMALL CACHEGRIND_OUT_LARGE OPS_BETWEEN_THEM');
  process.exit(2);
}

/** Instructions by function name, summed over every file and line. */
function load(file) {
  const byFn = new Map();
  let fn;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.startsWith('fn=')) fn = line.slice(3);
    else if (fn !== undefined && line.charCodeAt(0) >= 48 && line.charCodeAt(0) <= 57) {
      const n = Number(line.split(' ')[1] ?? 0);
      if (Number.isFinite(n)) byFn.set(fn, (byFn.get(fn) ?? 0) + n);
    }
  }
  return byFn;
}

function category(fn) {
  if (fn === '???') return 'compiled JavaScript (???)';
  if (fn.startsWith('Builtins_RecordWrite')) return 'garbage collector';
  if (fn.startsWith('Builtins_')) return 'builtins';
  if (/compiler::|maglev|turboshaft/i.test(fn)) return 'optimizing compiler';
  if (/Scaveng|Marking|MarkCompact|Sweep|IteratePointers|heap::|Heap::|Evacuat|Pretenuring|RememberedSet|SlotSet|MinorGC|MarkBit|WriteBarrier|SizeFromMap/.test(fn)) return 'garbage collector';
  if (/Scanner|Parser|interpreter::|baseline::|BytecodeGenerator/.test(fn)) return 'parser, bytecode';
  return 'other (V8 runtime, Node, libc)';
}

const a = load(fileA), b = load(fileB);
const split = new Map();
for (const fn of new Set([...a.keys(), ...b.keys()])) {
  const c = category(fn);
  split.set(c, (split.get(c) ?? 0) + (b.get(fn) ?? 0) - (a.get(fn) ?? 0));
}
const total = [...split.values()].reduce((s, n) => s + n, 0);
const program = (split.get('compiled JavaScript (???)') ?? 0) + (split.get('builtins') ?? 0);
const out = Object.fromEntries([...split].sort((x, y) => y[1] - x[1]).map(([k, n]) => [k, Math.round(n / ops)]));
console.log(JSON.stringify({ perOp: out, program: Math.round(program / ops), total: Math.round(total / ops) }, null, 1));
