/**
 * How long the checker takes on histories of a correct store:
 * `node dist/src/chaos/linearizability/bench.js [--json] [--operations N] [--keys K] [--clients C]`.
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
  elapsedMs: number;
  steps: number;
}

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  return at < 0 ? fallback : Number(process.argv[at + 1]);
}

const operations = flag('--operations', 10_000);
const keys = flag('--keys', 10);
const clients = flag('--clients', 8);
const rows: Row[] = [];
for (const broken of [false, true]) {
  const ops = generateRegisterHistory({ seed: 42, operations, keys, clients, readLagMs: broken ? 40 : 0 });
  for (const parallel of [false, true]) {
    const startMs = performance.now();
    const result = await checkHistory(ops, { parallel });
    const elapsedMs = performance.now() - startMs;
    const expected = broken ? 'not-linearizable' : 'linearizable';
    if (result.verdict !== expected) throw new Error(`bench: expected ${expected}, got ${result.verdict}`);
    rows.push({
      operations,
      keys,
      clients,
      mode: `${broken ? 'lagging reads' : 'correct'}, ${parallel ? 'worker threads' : 'one thread'}`,
      verdict: result.verdict,
      elapsedMs: Math.round(elapsedMs),
      steps: result.keys.reduce((sum, k) => sum + k.steps, 0),
    });
  }
}
if (process.argv.includes('--json')) {
  console.log(JSON.stringify(rows));
} else {
  console.log('operations  keys  clients  history                         verdict            steps  elapsed ms');
  for (const r of rows) {
    console.log(
      `${String(r.operations).padStart(10)}  ${String(r.keys).padStart(4)}  ${String(r.clients).padStart(7)}  ${r.mode.padEnd(30)}  ${r.verdict.padEnd(16)}  ${String(r.steps).padStart(7)}  ${String(r.elapsedMs).padStart(10)}`,
    );
  }
}
