import assert from 'node:assert/strict';
import { test } from 'node:test';
import { register as globalRegistry } from 'prom-client';
import { Children, Counter, ETCD_DISK_DURATION_BUCKETS, Histogram, TallyCounter, TallyHistogram, componentRegistry, mergeExpositions, secondsBetween } from './index.js';

test('each component has its own registry: series never leak between components or into the global registry', async () => {
  const a = componentRegistry('etcd-0');
  const b = componentRegistry('etcd-1');
  const inA = new Counter({ name: 'things_total', help: 'Things.', registers: [a] });
  new Counter({ name: 'things_total', help: 'Things.', registers: [b] });
  inA.inc(3);
  assert.match(await a.metrics(), /^things_total\{component="etcd-0"\} 3$/m);
  assert.match(await b.metrics(), /^things_total\{component="etcd-1"\} 0$/m);
  assert.deepEqual(globalRegistry.getMetricsAsArray(), [], 'nothing registered globally');
});

test('histograms observe the seconds the caller computed from its own clock, not the real one', async () => {
  const registry = componentRegistry('x');
  const h = new Histogram({ name: 'op_duration_seconds', help: 'Op.', registers: [registry], buckets: [...ETCD_DISK_DURATION_BUCKETS] });
  h.observe(secondsBetween(1_000, 1_004));
  h.observe(secondsBetween(5_000, 4_000));
  const text = await registry.metrics();
  assert.match(text, /^op_duration_seconds_sum\{component="x"\} 0\.004$/m);
  assert.match(text, /^op_duration_seconds_bucket\{le="0\.004",component="x"\} 2$/m, 'a clock that stepped back counts as 0, not negative');
  assert.deepEqual(ETCD_DISK_DURATION_BUCKETS.slice(0, 3), [0.001, 0.002, 0.004]);
  assert.equal(ETCD_DISK_DURATION_BUCKETS.at(-1), 8.192);
});

test('a labelled child is made once per label combination', () => {
  let made = 0;
  const children = new Children((values) => ({ made: ++made, values }));
  assert.equal(children.of('GET', 'pods'), children.of('GET', 'pods'));
  assert.notEqual(children.of('GET', 'pods'), children.of('LIST', 'pods'));
  assert.equal(made, 2);
});

test('merged expositions carry each family once, with every source\'s samples', async () => {
  const texts = await Promise.all(['etcd-0', 'etcd-1'].map(async (name, i) => {
    const r = componentRegistry(name);
    new Counter({ name: 'a_total', help: 'A.', registers: [r] }).inc(i + 1);
    if (i === 1) new Counter({ name: 'b_total', help: 'B.', registers: [r] }).inc();
    return r.metrics();
  }));
  assert.equal(mergeExpositions(texts), [
    '# HELP a_total A.', '# TYPE a_total counter', 'a_total{component="etcd-0"} 1', 'a_total{component="etcd-1"} 2',
    '# HELP b_total B.', '# TYPE b_total counter', 'b_total{component="etcd-1"} 1', '',
  ].join('\n'));
  assert.equal(mergeExpositions(['', '']), '');
});

test('the hot-path tallies expose exactly what prom-client\'s own Counter and Histogram expose for the same calls', async () => {
  const ours = componentRegistry('apiserver');
  const theirs = componentRegistry('apiserver');
  const config = { name: 'op_seconds', help: 'Op.', labelNames: ['verb', 'code'], buckets: [0.005, 0.025, 1] };
  const tally = new TallyHistogram({ ...config, registers: [ours] });
  const reference = new Histogram({ ...config, registers: [theirs] });
  const tallyCount = new TallyCounter({ name: 'op_total', help: 'Ops.', labelNames: ['verb'], registers: [ours] });
  const referenceCount = new Counter({ name: 'op_total', help: 'Ops.', labelNames: ['verb'], registers: [theirs] });
  for (const [verb, code, seconds] of [['GET', '200', 0.001], ['GET', '200', 0.005], ['GET', '200', 0.3], ['POST', '201', 7], ['GET', '404', 0]] as const) {
    tally.child(verb, code).observe(seconds);
    reference.labels(verb, code).observe(seconds);
    tallyCount.child(verb).inc();
    referenceCount.labels(verb).inc();
  }
  assert.equal(await ours.metrics(), await theirs.metrics());
  assert.throws(() => tally.child('GET'), /1 label values for the 2 labels/);
});
