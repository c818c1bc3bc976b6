#!/usr/bin/env node
// Where a sampled store txn's time went (src/actor/ask-stamps.ts): joins the asker's and the leader's halves
// written under KUBETHREADS_TXN_STAMPS=DIR and prints, per phase, p50 / p90 / p99 over all joined txns and the
// mean over the slowest 1 % (by total) against the mean of the middle (p45-p55).
//
//   node scripts/txn-stamps.mjs DIR [--probe] [--from EPOCH_MS] [--json] [--timeline SECONDS] [--commit]
//
// --commit splits "proposed to committed" with the replicas' Raft steps (written beside the txns): the leader's own
// write (to the WAL, then durable), and for the follower whose acknowledgement came first, the append's trip to it,
// its write (handed, durable) and the acknowledgement's trip back; then the leader's commit index moving, and its
// wait from that to the Ready that applies the entry.
//
// --probe keeps the ConfigMap txns only (the density probe's); --from drops txns sent before that time;
// --timeline S prints, per window of S seconds by send time, the txns, their total p50 / max and each phase's
// max (what showed the slowest txns sitting in the seconds when every store replica took its snapshot:
// match the windows' epoch times with the replicas' `snapshot taken` lines, whose time is the end).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const dir = args.find((a) => !a.startsWith('--'));
if (dir === undefined) {
  console.error('usage: txn-stamps.mjs DIR [--probe] [--from EPOCH_MS] [--json] [--timeline SECONDS] [--commit]');
  process.exit(2);
}
const probeOnly = args.includes('--probe');
const fromAt = args.includes('--from') ? Number(args[args.indexOf('--from') + 1]) : 0;

const asker = new Map();
const leader = new Map();
/** The replicas' Raft steps by replica, in time order. */
const raftSteps = new Map();
for (const name of readdirSync(dir)) {
  if (!name.startsWith('stamps-') || !name.endsWith('.jsonl')) continue;
  for (const line of readFileSync(join(dir, name), 'utf8').split('\n')) {
    if (line === '') continue;
    const r = JSON.parse(line);
    if (r.raft !== undefined) {
      let list = raftSteps.get(r.replica);
      if (list === undefined) raftSteps.set(r.replica, (list = []));
      list.push(r);
      continue;
    }
    (r.side === 'asker' ? asker : leader).set(r.key, r);
  }
}
for (const list of raftSteps.values()) list.sort((x, y) => x.t - y.t);

export const PHASES = [
  ['asker outbox', 'sent', 'flushed'],
  ['to the leader (ring, its thread busy)', 'flushed', 'read'],
  ['leader: frame to handler', 'read', 'delivered'],
  ['handler to proposed', 'delivered', 'proposed'],
  ['proposed to committed (replication, fsync)', 'proposed', 'committed'],
  ['committed to applied', 'committed', 'applied'],
  ['applied to reply posted', 'applied', 'replyFlushed'],
  ['reply to the asker (ring, its thread busy)', 'replyFlushed', 'replyRead'],
  ['asker: frame to settled', 'replyRead', 'settled'],
];

const rows = [];
let unjoined = 0;
for (const [key, a] of asker) {
  const l = leader.get(key);
  if (l === undefined) {
    unjoined++;
    continue;
  }
  if (probeOnly && !a.probe) continue;
  if (a.stamps.sent < fromAt) continue;
  const s = { ...a.stamps, ...l.stamps };
  if (PHASES.some(([, from, to]) => s[from] === undefined || s[to] === undefined)) {
    unjoined++;
    continue;
  }
  rows.push({ total: s.settled - s.sent, phases: PHASES.map(([, from, to]) => s[to] - s[from]), sent: s.sent, leader: l });
}
if (rows.length === 0) {
  console.error(`no joined txns in ${dir} (${asker.size} asker records, ${leader.size} leader records)`);
  process.exit(1);
}
rows.sort((x, y) => x.total - y.total);
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const mean = (xs) => xs.reduce((s, x) => s + x, 0) / xs.length;
const slowest = rows.slice(Math.floor(rows.length * 0.99));
const middle = rows.slice(Math.floor(rows.length * 0.45), Math.max(Math.floor(rows.length * 0.45) + 1, Math.ceil(rows.length * 0.55)));
const totals = rows.map((r) => r.total);
const out = {
  txns: rows.length, unjoined, slowest: slowest.length,
  total: { p50: pct(totals, 50), p90: pct(totals, 90), p99: pct(totals, 99), max: totals[totals.length - 1], middleMean: mean(middle.map((r) => r.total)), slowestMean: mean(slowest.map((r) => r.total)) },
  phases: PHASES.map(([name], i) => {
    const xs = rows.map((r) => r.phases[i]).sort((x, y) => x - y);
    return { name, p50: pct(xs, 50), p90: pct(xs, 90), p99: pct(xs, 99), middleMean: mean(middle.map((r) => r.phases[i])), slowestMean: mean(slowest.map((r) => r.phases[i])) };
  }),
};
const timelineS = args.includes('--timeline') ? Number(args[args.indexOf('--timeline') + 1]) : 0;
if (timelineS > 0) {
  const windows = new Map();
  for (const r of rows) {
    const w = Math.floor(r.sent / (timelineS * 1000));
    let list = windows.get(w);
    if (list === undefined) windows.set(w, (list = []));
    list.push(r);
  }
  const names = PHASES.map(([name]) => name.split(' (')[0].replace('proposed to committed', 'commit'));
  console.log(`window start (epoch ms)  txns  total p50 / max   max per phase: ${names.join(' | ')}`);
  for (const w of [...windows.keys()].sort((a, b) => a - b)) {
    const list = windows.get(w);
    const t = list.map((r) => r.total).sort((x, y) => x - y);
    const maxes = PHASES.map((_, i) => Math.max(...list.map((r) => r.phases[i])).toFixed(0));
    console.log(`${String(w * timelineS * 1000).padEnd(24)} ${String(list.length).padStart(5)}  ${pct(t, 50).toFixed(0).padStart(6)} / ${t[t.length - 1].toFixed(0).padEnd(6)}  ${maxes.join(' | ')}`);
  }
}
if (args.includes('--commit')) printCommitSplit();

/**
 * The commit phase of each joined txn split by the replicas' Raft steps. Steps are matched by index range and
 * time (the first at or after the proposal), so a txn whose entry was appended again after a leader change
 * may match an earlier attempt: such txns are few and counted in "unmatched" when a step is missing. A step
 * matched to a later acknowledgement than the one that moved the commit shows as a negative "quorum to commit
 * index": the percentiles are 0 there, the mean may be below it.
 */
function printCommitSplit() {
  const find = (replica, raft, index, after, peer) => {
    for (const e of raftSteps.get(replica) ?? []) {
      if (e.t < after || e.raft !== raft || (peer !== undefined && e.peer !== peer)) continue;
      if (raft === 'ackStep' || raft === 'commitAdv' ? e.last >= index : e.first <= index && index <= e.last) return e;
    }
    return undefined;
  };
  const split = [];
  let unmatched = 0;
  for (const row of rows) {
    const l = row.leader;
    if (l.replica === undefined || l.index === undefined) {
      unmatched++;
      continue;
    }
    const i = l.index;
    const proposed = l.stamps.proposed;
    const handed = find(l.replica, 'handed', i, proposed - 1);
    const durable = handed && find(l.replica, 'durable', i, handed.t);
    let first;
    for (const f of raftSteps.keys()) {
      if (f === l.replica) continue;
      const recv = find(f, 'appRecv', i, proposed - 1, l.replica);
      const fHanded = recv && find(f, 'handed', i, recv.t);
      const fDurable = fHanded && find(f, 'durable', i, fHanded.t);
      const ack = fDurable && find(l.replica, 'ackStep', i, fDurable.t - 1, f);
      if (ack !== undefined && (first === undefined || ack.t < first.ack.t)) first = { recv, fHanded, fDurable, ack };
    }
    if (handed === undefined || durable === undefined || first === undefined) {
      unmatched++;
      continue;
    }
    const quorum = Math.max(durable.t, first.ack.t);
    const advanced = find(l.replica, 'commitAdv', i, proposed - 1);
    if (advanced === undefined) {
      unmatched++;
      continue;
    }
    split.push([
      handed.t - proposed, durable.t - handed.t,
      first.recv.t - proposed, first.fHanded.t - first.recv.t, first.fDurable.t - first.fHanded.t, first.ack.t - first.fDurable.t,
      advanced.t - quorum, l.stamps.committed - advanced.t, l.stamps.committed - proposed,
      durable.t >= first.ack.t ? 1 : 0,
    ]);
  }
  const names = [
    'leader: proposed to handed to its WAL', 'leader: handed to durable (its fsync)',
    'proposed to the first follower stepping it', 'follower: stepped to handed to its WAL', 'follower: handed to durable',
    'follower durable to its ack stepped by the leader', 'leader: quorum (own durable, first ack) to commit index',
    'leader: commit index to the Ready that applies it', 'proposed to committed',
  ];
  console.log(`\ncommit split: ${split.length} txns (${unmatched} not matched); the leader's own write came last in ${split.filter((x) => x[9] === 1).length}`);
  const f = (x) => x.toFixed(1).padStart(8);
  console.log(`${'step'.padEnd(52)}${'p50'.padStart(8)}${'p90'.padStart(8)}${'p99'.padStart(8)}${'mean'.padStart(8)}`);
  names.forEach((name, k) => {
    const xs = split.map((x) => x[k]).sort((a, b) => a - b);
    if (xs.length > 0) console.log(`${name.padEnd(52)}${f(pct(xs, 50))}${f(pct(xs, 90))}${f(pct(xs, 99))}${f(mean(xs))}`);
  });
}

if (args.includes('--json')) {
  console.log(JSON.stringify(out));
} else {
  const f = (x) => x.toFixed(1).padStart(8);
  console.log(`${out.txns} txns joined (${unjoined} not), slowest 1 %: ${out.slowest}; total ms p50 ${out.total.p50.toFixed(1)} p90 ${out.total.p90.toFixed(1)} p99 ${out.total.p99.toFixed(1)} max ${out.total.max.toFixed(1)}`);
  console.log(`${'phase'.padEnd(46)}${'p50'.padStart(8)}${'p90'.padStart(8)}${'p99'.padStart(8)}${'mid mean'.padStart(10)}${'1% mean'.padStart(10)}`);
  for (const p of out.phases) console.log(`${p.name.padEnd(46)}${f(p.p50)}${f(p.p90)}${f(p.p99)}  ${f(p.middleMean)}  ${f(p.slowestMean)}`);
  console.log(`${'total'.padEnd(46)}${f(out.total.p50)}${f(out.total.p90)}${f(out.total.p99)}  ${f(out.total.middleMean)}  ${f(out.total.slowestMean)}`);
}
