/**
 * The store's checks. Each is a pure function of what the run recorded,
 * wrapped as a plugin with a name and a schema for its parameters.
 */
import type { Operation } from '../history.js';
import { checkHistory, parallelOperationsMin } from '../linearizability/index.js';
import { formatCheckResult } from '../linearizability/report.js';
import type { CheckPlugin, CheckResult, CheckSpec, WatchEventRecord, WatchObservation } from './types.js';

/** Characters of a failure explanation kept in result.json. Why: a not-linearizable window can be long; the history file has the rest. */
const SUMMARY_CHARS_MAX = 4_000;

// ---------------------------------------------------------------- lost writes

export interface LostWrite {
  key: string;
  /** The acknowledged write that vanished. */
  lost: { id: number; process: string; value: unknown; invokeMs: number };
  finalValue: unknown;
  /** Why: the final value was written by an operation that completed before the lost one was invoked. */
  reason: string;
}

/** Values a write-like operation may have put in its register; undefined when it certainly wrote nothing. */
function writtenValue(op: Operation): { value: unknown; acknowledged: boolean } | undefined {
  if (op.status === 'fail') return undefined;
  if (op.op === 'write') return { value: op.value, acknowledged: op.status === 'ok' };
  if (op.op === 'cas') {
    if (op.status === 'ok') return op.swapped === true ? { value: op.value, acknowledged: true } : undefined;
    return { value: op.value, acknowledged: false };
  }
  return undefined;
}

/**
 * "No acknowledged write lost", judged from the final reads (by `finalProcess`)
 * alone, soundly with respect to operations of unknown outcome: written values
 * are unique, so if the final value v was written by an operation that
 * completed before an acknowledged write w was invoked, w (which must come
 * after v) was lost. A final value that nobody wrote is reported too, and so
 * is an empty register after an acknowledged write.
 */
export function findLostWrites(history: readonly Operation[], finalProcess = 'final-reader'): { lost: LostWrite[]; keysChecked: number; unexplained: string[] } {
  const lost: LostWrite[] = [];
  const unexplained: string[] = [];
  let keysChecked = 0;
  const finals = history.filter((o) => o.process === finalProcess && o.op === 'read' && o.status === 'ok');
  for (const final of finals) {
    if (final.op !== 'read') continue;
    keysChecked++;
    const ops = history.filter((o) => o.key === final.key && o.process !== finalProcess);
    const writes = ops.map((o) => ({ op: o, w: writtenValue(o) })).filter((x) => x.w !== undefined);
    const acknowledged = writes.filter((x) => x.w!.acknowledged);
    const finalValue = final.value ?? null;
    const writer = finalValue === null ? undefined : writes.find((x) => x.w!.value === finalValue);
    if (finalValue !== null && writer === undefined) {
      unexplained.push(`${final.key}: the final read saw ${JSON.stringify(finalValue)}, which no operation wrote`);
      continue;
    }
    for (const { op } of acknowledged) {
      if (writer !== undefined && op.id === writer.op.id) continue;
      const precedes = writer === undefined ? true : writer.op.completeMs !== null && writer.op.completeMs < op.invokeMs;
      if (!precedes) continue;
      lost.push({
        key: final.key,
        lost: { id: op.id, process: op.process, value: writtenValue(op)!.value, invokeMs: op.invokeMs },
        finalValue,
        reason:
          writer === undefined
            ? 'the register is empty at the end'
            : `the final value was written by operation ${writer.op.id}, which completed at ${writer.op.completeMs} ms, before this write was invoked at ${op.invokeMs} ms`,
      });
    }
  }
  return { lost, keysChecked, unexplained };
}

// ---------------------------------------------------------------- watches

export interface WatchProblem {
  watcher: string;
  kind: 'back-in-time' | 'repeated' | 'missed' | 'unexpected' | 'behind';
  message: string;
}

function eventText(e: WatchEventRecord): string {
  return `${e.type} ${e.key}=${JSON.stringify(e.value)} @${e.revision}`;
}

/**
 * Every watcher's events must be exactly the reference's up to the revision
 * the watcher vouched for (no event missed, none repeated, none invented),
 * in revision order (never back in time), and the watcher must have caught up
 * with the store's last revision.
 */
export function checkWatches(watches: readonly WatchObservation[], reference: { events: WatchEventRecord[]; revision: number }): WatchProblem[] {
  const problems: WatchProblem[] = [];
  for (const w of watches) {
    let previous = 0;
    const seen = new Set<string>();
    for (const e of w.events) {
      if (e.revision < previous) {
        problems.push({ watcher: w.watcher, kind: 'back-in-time', message: `${eventText(e)} came after revision ${previous}` });
        break;
      }
      const id = `${e.revision}/${e.key}`;
      if (seen.has(id)) {
        problems.push({ watcher: w.watcher, kind: 'repeated', message: `${eventText(e)} was delivered twice` });
        break;
      }
      seen.add(id);
      previous = e.revision;
    }
    const expected = reference.events.filter((e) => e.revision <= w.lastRevision);
    const got = w.events.filter((e) => e.revision <= w.lastRevision);
    const n = Math.max(expected.length, got.length);
    for (let i = 0; i < n; i++) {
      const want = expected[i];
      const have = got[i];
      if (want !== undefined && have !== undefined && want.revision === have.revision && want.key === have.key && want.type === have.type && want.value === have.value) continue;
      if (want !== undefined && (have === undefined || have.revision > want.revision)) {
        problems.push({ watcher: w.watcher, kind: 'missed', message: `missed ${eventText(want)}${have === undefined ? '' : `; next delivered was ${eventText(have)}`}` });
      } else {
        problems.push({ watcher: w.watcher, kind: 'unexpected', message: `delivered ${eventText(have!)}${want === undefined ? '' : ` where the store has ${eventText(want)}`}` });
      }
      break;
    }
    if (w.lastRevision < reference.revision) {
      problems.push({ watcher: w.watcher, kind: 'behind', message: `vouched only up to revision ${w.lastRevision}; the store ended at ${reference.revision}` });
    }
  }
  return problems;
}

// ---------------------------------------------------------------- latency

/** Nearest-rank percentile of `values` (sorted here); undefined for none. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}

export function latenciesMs(history: readonly Operation[], op: 'any' | 'read' | 'write' | 'cas'): number[] {
  return history.filter((o) => o.status === 'ok' && o.completeMs !== null && (op === 'any' || o.op === op)).map((o) => o.completeMs! - o.invokeMs);
}

// ---------------------------------------------------------------- plugins

function pass(name: string, summary: string, details?: unknown): CheckResult {
  return details === undefined ? { name, verdict: 'pass', summary } : { name, verdict: 'pass', summary, details };
}

function fail(name: string, summary: string, details?: unknown): CheckResult {
  return details === undefined ? { name, verdict: 'fail', summary } : { name, verdict: 'fail', summary, details };
}

const linearizable: CheckPlugin = {
  name: 'linearizable',
  description: 'the register history is linearizable (Wing–Gong / Lowe, per key)',
  schema: { properties: {} },
  async run(data) {
    if (data.history.length === 0) return { name: 'linearizable', verdict: 'unknown', summary: 'no register operations were recorded (add workload.register)' };
    const result = await checkHistory(data.history, { parallel: data.history.length >= parallelOperationsMin });
    const summary = `${result.verdict}: ${result.operationCount} operations on ${result.keys.length} keys`;
    if (result.verdict === 'linearizable') return pass('linearizable', summary);
    const text = formatCheckResult(result).slice(0, SUMMARY_CHARS_MAX);
    return { name: 'linearizable', verdict: result.verdict === 'unknown' ? 'unknown' : 'fail', summary: `${summary}\n${text}` };
  },
};

const noLostWrites: CheckPlugin = {
  name: 'no-lost-writes',
  description: 'every acknowledged write survives: the final read of each key is explained by a write not definitely before an acknowledged one',
  schema: { properties: {} },
  async run(data) {
    const r = findLostWrites(data.history);
    if (r.keysChecked === 0) return { name: 'no-lost-writes', verdict: 'unknown', summary: 'no final reads were recorded (add workload.register)' };
    const acknowledged = data.history.filter((o) => o.status === 'ok' && (o.op === 'write' || (o.op === 'cas' && o.swapped === true))).length;
    if (r.lost.length === 0 && r.unexplained.length === 0) return pass('no-lost-writes', `${acknowledged} acknowledged writes, ${r.keysChecked} keys read at the end, none lost`);
    const lines = [...r.unexplained, ...r.lost.slice(0, 10).map((l) => `${l.key}: acknowledged write ${JSON.stringify(l.lost.value)} by ${l.lost.process} (operation ${l.lost.id}) is lost: ${l.reason}`)];
    return fail('no-lost-writes', `${r.lost.length} acknowledged write(s) lost, ${r.unexplained.length} value(s) unexplained\n${lines.join('\n')}`, r);
  },
};

const watch: CheckPlugin = {
  name: 'watch',
  description: 'watches never go back in time, repeat or miss an event, and catch up with the store\'s last revision',
  schema: { properties: {} },
  async run(data) {
    if (data.reference === undefined || data.watches.length === 0) return { name: 'watch', verdict: 'unknown', summary: 'no watches were recorded (add workload.watch)' };
    const problems = checkWatches(data.watches, data.reference);
    const events = data.watches.map((w) => w.events.length).join(', ');
    if (problems.length === 0) return pass('watch', `${data.watches.length} watchers saw ${events} events, exactly the store's ${data.reference.events.length} up to revision ${data.reference.revision}`);
    return fail('watch', problems.map((p) => `${p.watcher}: ${p.kind}: ${p.message}`).join('\n'), problems);
  },
};

interface LatencyParams extends CheckSpec {
  percentile?: number;
  maxMs: number;
  op?: 'any' | 'read' | 'write' | 'cas';
}

const latency: CheckPlugin<LatencyParams> = {
  name: 'latency',
  description: 'an SLO: the given percentile of successful operations\' latency is at most maxMs',
  schema: {
    properties: {
      percentile: { type: 'number', minimum: 0, maximum: 100, description: 'default 99' },
      maxMs: { type: 'number', minimum: 0 },
      op: { type: 'string', enum: ['any', 'read', 'write', 'cas'], description: 'which operations (default any)' },
    },
    required: ['maxMs'],
  },
  async run(data, p) {
    const q = p.percentile ?? 99;
    const op = p.op ?? 'any';
    const value = percentile(latenciesMs(data.history, op), q);
    const name = `latency p${q} ${op}`;
    if (value === undefined) return { name, verdict: 'unknown', summary: 'no successful operations' };
    const summary = `p${q} of ${op} operations: ${value.toFixed(1)} ms (limit ${p.maxMs} ms)`;
    return value <= p.maxMs ? pass(name, summary, { valueMs: round3(value) }) : fail(name, summary, { valueMs: round3(value) });
  },
};

interface MaxParams extends CheckSpec {
  maxMs: number;
}

const unavailability: CheckPlugin<MaxParams> = {
  name: 'unavailability',
  description: 'an SLO: no fault leaves the store without a successful operation for longer than maxMs',
  schema: { properties: { maxMs: { type: 'number', minimum: 0 } }, required: ['maxMs'] },
  async run(data, p) {
    const worst = data.figures.filter((f) => f.unavailabilityMs !== null).sort((a, b) => b.unavailabilityMs! - a.unavailabilityMs!)[0];
    if (worst === undefined) return { name: 'unavailability', verdict: 'unknown', summary: 'no fault with operations around it' };
    const summary = `longest unavailability ${worst.unavailabilityMs!.toFixed(0)} ms after fault ${worst.index} (${worst.fault}); limit ${p.maxMs} ms`;
    return worst.unavailabilityMs! <= p.maxMs ? pass('unavailability', summary) : fail('unavailability', summary);
  },
};

const newLeader: CheckPlugin<MaxParams> = {
  name: 'new-leader',
  description: 'every election a fault caused completed within maxMs',
  schema: { properties: { maxMs: { type: 'number', minimum: 0 } }, required: ['maxMs'] },
  async run(data, p) {
    const elections = data.figures.filter((f) => f.newLeaderMs !== null);
    if (elections.length === 0) return { name: 'new-leader', verdict: 'unknown', summary: 'no fault caused an election' };
    const worst = elections.sort((a, b) => b.newLeaderMs! - a.newLeaderMs!)[0]!;
    const summary = `${elections.length} election(s); slowest ${worst.newLeaderMs!.toFixed(0)} ms after fault ${worst.index} (${worst.fault}); limit ${p.maxMs} ms`;
    return worst.newLeaderMs! <= p.maxMs ? pass('new-leader', summary) : fail('new-leader', summary);
  },
};

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

export const storeChecks: CheckPlugin<never>[] = [linearizable, noLostWrites, watch, latency, unavailability, newLeader] as unknown as CheckPlugin<never>[];
