/**
 * The warm-up every kv measuring script runs on a bench side (ours or etcd's) before it measures, the same
 * phases `bench-ab.mjs`'s kv programs run first: sequential puts, puts at 64 outstanding for 2 s, and 1,000
 * keys under /g/ for the get phases. One definition, so the scripts' figures stay comparable with each other's
 * and with bench-ab's.
 */
export async function warmUpKvSide(side) {
  await side.runPhase({ kind: 'sequentialPuts', prefix: '/w/', count: 200, valueBytes: 256 });
  await side.runPhase({ kind: 'load', op: 'put', prefix: '/w/', outstanding: 64, durationMs: 2000, valueBytes: 256, keyspace: 10000 });
  await side.runPhase({ kind: 'populate', prefix: '/g/', count: 1000, valueBytes: 256, outstanding: 64 });
}
