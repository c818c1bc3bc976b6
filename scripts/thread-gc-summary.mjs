#!/usr/bin/env node
// Per-thread garbage collections of a run logged by scripts/lib/thread-stalls.mjs (issue #16): the last totals row
// of each $STALLS_FILE.<thread> file, as one table row per thread: CPU the thread ran and waited on the run queue,
// scavenges, mark-compacts by what started them (flags 40: external memory, i.e. ArrayBuffers; 64: scheduled
// idle-time; none: heap limit or allocation failure), their pause sums, and external / ArrayBuffer memory at the end.
//
//   node scripts/thread-gc-summary.mjs /tmp/stalls        (reads /tmp/stalls.*)   [--json]
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';

const prefix = process.argv[2];
if (prefix === undefined) {
  console.error('usage: thread-gc-summary.mjs STALLS_FILE [--json]');
  process.exit(2);
}
const dir = dirname(prefix);
const base = `${basename(prefix)}.`;
const rows = [];
for (const file of readdirSync(dir).filter((f) => f.startsWith(base)).sort()) {
  const thread = file.slice(base.length);
  let lines;
  try {
    lines = readFileSync(`${dir}/${file}`, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  } catch {
    continue; // not a stalls file (the run's own output beside them)
  }
  const last = lines.filter((l) => l.gc !== undefined && typeof l.gc === 'object').at(-1);
  if (last === undefined) continue;
  const sum = (pred) => Object.entries(last.gc).filter(([k]) => pred(k)).reduce((a, [, v]) => ({ n: a.n + v.n, ms: a.ms + v.ms }), { n: 0, ms: 0 });
  const scavenge = sum((k) => k.startsWith('scavenge'));
  const mcExternal = sum((k) => k === 'markCompact:40' || (k.startsWith('markCompact:') && (Number(k.split(':')[1]) & 32) !== 0 && (Number(k.split(':')[1]) & 64) === 0));
  const mcScheduled = sum((k) => k.startsWith('markCompact:') && (Number(k.split(':')[1]) & 64) !== 0);
  const mcAll = sum((k) => k.startsWith('markCompact'));
  const mcOther = { n: mcAll.n - mcExternal.n - mcScheduled.n, ms: mcAll.ms - mcExternal.ms - mcScheduled.ms };
  const all = sum(() => true);
  rows.push({
    thread, t: Number(last.t), runS: last.sched.runS, waitS: last.sched.waitS,
    scavenges: scavenge.n, scavengeS: +(scavenge.ms / 1000).toFixed(2),
    mcExternal: mcExternal.n, mcExternalS: +(mcExternal.ms / 1000).toFixed(2),
    mcScheduled: mcScheduled.n, mcScheduledS: +(mcScheduled.ms / 1000).toFixed(2),
    mcOther: mcOther.n, mcOtherS: +(mcOther.ms / 1000).toFixed(2),
    gcS: +(all.ms / 1000).toFixed(2), externalMB: last.externalMB, arrayBuffersMB: last.arrayBuffersMB, heapMB: last.heapMB,
  });
}
if (process.argv.includes('--json')) {
  console.log(JSON.stringify(rows));
} else {
  console.log('| thread | ran / waited s | scavenges (s) | mark-compacts: external memory (s) / scheduled (s) / other (s) | GC pauses s | external / ArrayBuffer MB at end |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.thread} | ${r.runS} / ${r.waitS} | ${r.scavenges} (${r.scavengeS}) | ${r.mcExternal} (${r.mcExternalS}) / ${r.mcScheduled} (${r.mcScheduledS}) / ${r.mcOther} (${r.mcOtherS}) | ${r.gcS} | ${r.externalMB} / ${r.arrayBuffersMB} |`);
  }
  const total = (k) => rows.reduce((a, r) => a + r[k], 0);
  console.log(`| all | ${total('runS')} / ${total('waitS')} | ${total('scavenges')} (${total('scavengeS').toFixed(1)}) | ${total('mcExternal')} (${total('mcExternalS').toFixed(1)}) / ${total('mcScheduled')} (${total('mcScheduledS').toFixed(1)}) / ${total('mcOther')} (${total('mcOtherS').toFixed(1)}) | ${total('gcS').toFixed(1)} | |`);
}
