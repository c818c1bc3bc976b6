import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flowControlWaitsByLevel, fsyncsOfReplicas, histogramBetween, histogramFromText, histogramQuantileMs, serverSideOfProbe } from './breakdown.js';

const scrape = (counts: number[], sum: number, extra = '') => [
  '# HELP apiserver_request_duration_seconds x',
  '# TYPE apiserver_request_duration_seconds histogram',
  ...[0.1, 0.5, 1].map((le, i) => `apiserver_request_duration_seconds_bucket{le="${le}",verb="PUT",resource="configmaps",code="200",component="apiserver"} ${counts[i]}`),
  `apiserver_request_duration_seconds_bucket{le="+Inf",verb="PUT",resource="configmaps",code="200",component="apiserver"} ${counts[3]}`,
  `apiserver_request_duration_seconds_sum{verb="PUT",resource="configmaps",code="200",component="apiserver"} ${sum}`,
  `apiserver_request_duration_seconds_count{verb="PUT",resource="configmaps",code="200",component="apiserver"} ${counts[3]}`,
  // Another verb's series must not be counted with the probe's.
  `apiserver_request_duration_seconds_bucket{le="+Inf",verb="POST",resource="configmaps",code="201",component="apiserver"} 1000`,
  `apiserver_request_duration_seconds_count{verb="POST",resource="configmaps",code="201",component="apiserver"} 1000`,
  extra,
].join('\n');

test('a histogram is read from exposition text by its labels, every matching series summed (codes apart), others left out', () => {
  const text = scrape([1, 2, 3, 4], 2.5, [
    `apiserver_request_duration_seconds_bucket{le="0.1",verb="PUT",resource="configmaps",code="500",component="apiserver"} 0`,
    `apiserver_request_duration_seconds_bucket{le="0.5",verb="PUT",resource="configmaps",code="500",component="apiserver"} 0`,
    `apiserver_request_duration_seconds_bucket{le="1",verb="PUT",resource="configmaps",code="500",component="apiserver"} 0`,
    `apiserver_request_duration_seconds_bucket{le="+Inf",verb="PUT",resource="configmaps",code="500",component="apiserver"} 1`,
    `apiserver_request_duration_seconds_sum{verb="PUT",resource="configmaps",code="500",component="apiserver"} 5`,
    `apiserver_request_duration_seconds_count{verb="PUT",resource="configmaps",code="500",component="apiserver"} 1`,
  ].join('\n'));
  const series = histogramFromText(text, 'apiserver_request_duration_seconds', { verb: 'PUT', resource: 'configmaps' });
  assert.deepEqual(series, { buckets: [[0.1, 1], [0.5, 2], [1, 3], [Infinity, 5]], sumSeconds: 7.5, count: 5 });
  assert.equal(histogramFromText(text, 'apiserver_request_duration_seconds', { verb: 'DELETE' }), undefined);
});

test('the burst is what was observed between two scrapes, and its quantile is interpolated inside the bucket as histogram_quantile does', () => {
  const before = histogramFromText(scrape([10, 10, 10, 10], 0.5), 'apiserver_request_duration_seconds', { verb: 'PUT' })!;
  const after = histogramFromText(scrape([10, 20, 110, 110], 60.5), 'apiserver_request_duration_seconds', { verb: 'PUT' })!;
  const burst = histogramBetween(before, after);
  assert.deepEqual(burst.buckets, [[0.1, 0], [0.5, 10], [1, 100], [Infinity, 100]]);
  assert.equal(burst.count, 100);
  // Rank 50 of 100: 40 of the 90 observations in (0.5, 1] → 0.5 + 0.5 × 40/90 s.
  assert.equal(Math.round(histogramQuantileMs(burst, 0.5)!), Math.round((0.5 + 0.5 * (40 / 90)) * 1000));
  const figures = serverSideOfProbe(scrape([10, 10, 10, 10], 0.5), scrape([10, 20, 110, 110], 60.5));
  assert.equal(figures.handler.count, 100);
  assert.equal(figures.handler.mean_ms, 600);
  assert.equal(figures.store.count, 0, 'no store series in the scrape: no figures, not zeros');
  assert.equal(figures.store.mean_ms, null);
});

test('a quantile past the last finite bound answers that bound, and no observation answers null', () => {
  const series = { buckets: [[0.1, 0], [1, 1], [Infinity, 100]] as [number, number][], sumSeconds: 500, count: 100 };
  assert.equal(histogramQuantileMs(series, 0.99), 1000);
  assert.equal(histogramQuantileMs({ buckets: [[Infinity, 0]], sumSeconds: 0, count: 0 }, 0.5), null);
});

test('each replica\'s fsyncs over the burst are told apart by their component label', () => {
  const text = (n0: number, n1: number) => ['etcd-0', 'etcd-1'].map((c, i) => {
    const n = i === 0 ? n0 : n1;
    return [
      `etcd_disk_wal_fsync_duration_seconds_bucket{le="0.004",component="${c}"} ${n}`,
      `etcd_disk_wal_fsync_duration_seconds_bucket{le="+Inf",component="${c}"} ${n}`,
      `etcd_disk_wal_fsync_duration_seconds_sum{component="${c}"} ${n * 0.002}`,
      `etcd_disk_wal_fsync_duration_seconds_count{component="${c}"} ${n}`,
    ].join('\n');
  }).join('\n');
  const fsyncs = fsyncsOfReplicas(text(10, 5), text(110, 5));
  assert.deepEqual(Object.keys(fsyncs), ['etcd-0', 'etcd-1']);
  assert.equal(fsyncs['etcd-0']!.count, 100);
  assert.equal(fsyncs['etcd-0']!.mean_ms, 2);
  assert.equal(fsyncs['etcd-1']!.count, 0);
});

test('flow-control waits over the burst are told apart by priority level, flow schemas of one level summed', () => {
  const series = (level: string, schema: string, counts: [number, number, number], sum: number) => [
    ...[0.005, 0.1].map((le, i) => `apiserver_flowcontrol_request_wait_duration_seconds_bucket{le="${le}",priority_level="${level}",flow_schema="${schema}",execute="true"} ${counts[i]}`),
    `apiserver_flowcontrol_request_wait_duration_seconds_bucket{le="+Inf",priority_level="${level}",flow_schema="${schema}",execute="true"} ${counts[2]}`,
    `apiserver_flowcontrol_request_wait_duration_seconds_sum{priority_level="${level}",flow_schema="${schema}",execute="true"} ${sum}`,
    `apiserver_flowcontrol_request_wait_duration_seconds_count{priority_level="${level}",flow_schema="${schema}",execute="true"} ${counts[2]}`,
  ];
  const before = [...series('system', 'system-nodes', [10, 10, 10], 0), ...series('global-default', 'global-default', [5, 5, 5], 0)].join('\n');
  const after = [
    ...series('system', 'system-nodes', [10, 60, 110], 20),
    ...series('global-default', 'global-default', [105, 105, 105], 0.1),
    ...series('leader-election', 'system-leader-election', [3, 4, 4], 0.05),
    ...series('leader-election', 'workload-leader-election', [1, 1, 1], 0),
  ].join('\n');
  const waits = flowControlWaitsByLevel(before, after);
  assert.deepEqual(Object.keys(waits), ['global-default', 'leader-election', 'system']);
  assert.equal(waits.system!.count, 100);
  assert.equal(waits.system!.mean_ms, 200);
  assert.equal(waits['global-default']!.count, 100);
  assert.equal(waits['global-default']!.mean_ms, 1);
  assert.equal(waits['leader-election']!.count, 5, 'both leader-election schemas');
  assert.deepEqual(flowControlWaitsByLevel('', 'apiserver_request_total{verb="GET"} 3'), {}, 'flow control off: no levels');
});
