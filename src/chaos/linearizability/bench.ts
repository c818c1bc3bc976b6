/**
 * How long the checker takes on histories of a correct store:
 * `node dist/src/chaos/linearizability/bench.js [--json] [--operations N] [--keys K] [--clients C] [--runs R] [--hot-only]`.
 * Besides the K-key rows, rows for one hot key with 4, 8 and 16 clients (issue 23).
 * Each row is checked R times (default 5); elapsed is reported as median, p90 and max.
 * Not a test: it prints figures, it asserts only that the verdicts are right.
 */
import { performance } from 'node:perf_hooks';
import { checkHistory } from './check.js';
import { generateRegisterHistory } from './random-history.js';

interface Row {
  operations: number;
  keys: number;
  clients: number;
  mode: string;
  verdict: string;
  steps: number;
  runs: number;
  medianMs: number;
  p90Ms: number;
  maxMs: number;
}

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  return at < 0 ? fallback : Number(process.argv[at + 1]);
}

function percentile(sorted: number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)];
}

const operations = flag('--operations', 10_000);
const keys = flag('--keys', 10);
const clients = flag('--clients', 8);
const runs = flag('--runs', 5);
const rows: Row[] = [];

async function measure(rowKeys: number, rowClients: number, broken: boolean, parallel: boolean): Promise<void> {
  const ops = generateRegisterHistory({ seed: 42, operations, keys: rowKeys, clients: rowClients, readLagMs: broken ? 40 : 0 });
  const expected = broken ? 'not-linearizable' : 'linearizable';
  const elapsed: number[] = [];
  let steps = 0;
  for (let run = 0; run < runs; run++) {
    const startMs = performance.now();
    const result = await checkHistory(ops, { parallel });
    elapsed.push(performance.now() - startMs);
    if (result.verdict !== expected) throw new Error(`bench: ${rowKeys} keys, ${rowClients} clients: expected ${expected}, got ${result.verdict}`);
    steps = result.keys.reduce((sum, k) => sum + k.steps, 0);
  }
  elapsed.sort((x, y) => x - y);
  rows.push({
    operations,
    keys: rowKeys,
    clients: rowClients,
    mode: `${broken ? 'lagging reads' : 'correct'}, ${parallel ? 'worker threads' : 'one thread'}`,
    verdict: expected,
    steps,
    runs,
    medianMs: Math.round(percentile(elapsed, 0.5)),
    p90Ms: Math.round(percentile(elapsed, 0.9)),
    maxMs: Math.round(elapsed[elapsed.length - 1]),
  });
}

if (!process.argv.includes('--hot-only')) {
  for (const broken of [false, true]) for (const parallel of [false, true]) await measure(keys, clients, broken, parallel);
}
for (const hotClients of [4, 8, 16]) for (const broken of [false, true]) await measure(1, hotClients, broken, false);

if (process.argv.includes('--json')) {
  console.log(JSON.stringify(rows));
} else {
  console.log('operations  keys  clients  history                         verdict            steps  runs  median ms  p90 ms  max ms');
  for (const r of rows) {
    console.log(
      `${String(r.operations).padStart(10)}  ${String(r.keys).padStart(4)}  ${String(r.clients).padStart(7)}  ${r.mode.padEnd(30)}  ${r.verdict.padEnd(16)}  ${String(r.steps).padStart(7)}  ${String(r.runs).padStart(4)}  ${String(r.medianMs).padStart(9)}  ${String(r.p90Ms).padStart(6)}  ${String(r.maxMs).padStart(6)}`,
    );
  }
}
