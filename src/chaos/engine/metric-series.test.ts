import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MetricSeriesSampler, bucketQuantile, parseExposition, seriesTitle } from './metric-series.js';

const scrape = (changes: [number, number, number], buckets: [number, number, number]) => `# HELP etcd_server_leader_changes_seen_total x
# TYPE etcd_server_leader_changes_seen_total counter
etcd_server_leader_changes_seen_total{component="etcd-0"} ${changes[0]}
etcd_server_leader_changes_seen_total{component="etcd-1"} ${changes[1]}
etcd_server_leader_changes_seen_total{component="etcd-2"} ${changes[2]}
# TYPE apiserver_request_duration_seconds histogram
apiserver_request_duration_seconds_bucket{le="0.1",verb="GET",resource="pods",code="200",component="apiserver"} ${buckets[0]}
apiserver_request_duration_seconds_bucket{le="1",verb="GET",resource="pods",code="200",component="apiserver"} ${buckets[1]}
apiserver_request_duration_seconds_bucket{le="+Inf",verb="GET",resource="pods",code="200",component="apiserver"} ${buckets[2]}
`;

describe('sampled metric series', () => {
  test('a metric is summed over its samples, or over those matching the labels; absent is null', () => {
    const sampler = new MetricSeriesSampler([
      { metric: 'etcd_server_leader_changes_seen_total' },
      { metric: 'etcd_server_leader_changes_seen_total', labels: { component: 'etcd-1' } },
      { metric: 'no_such_metric' },
    ]);
    assert.deepEqual(sampler.sample(100, scrape([1, 2, 3], [0, 0, 0])), { tMs: 100, values: [6, 2, null] });
  });

  test('a quantile is of the observations since the previous scrape, interpolated within its bucket', () => {
    const sampler = new MetricSeriesSampler([{ histogram: 'apiserver_request_duration_seconds', quantile: 0.5 }]);
    // 10 observations under 0.1 s: the median is at the middle of [0, 0.1].
    assert.deepEqual(sampler.sample(0, scrape([0, 0, 0], [10, 10, 10])).values, [0.05]);
    // Then 10 more, all between 0.1 and 1 s: only these count.
    assert.deepEqual(sampler.sample(1000, scrape([0, 0, 0], [10, 20, 20])).values, [0.55]);
    // Nothing new: nothing to report.
    assert.deepEqual(sampler.sample(2000, scrape([0, 0, 0], [10, 20, 20])).values, [null]);
  });

  test('a rank in the +Inf bucket answers the highest finite bound, as histogram_quantile does', () => {
    assert.equal(bucketQuantile(0.99, [[0.1, 1], [1, 1], [Infinity, 10]]), 1);
    assert.equal(bucketQuantile(0.5, []), null);
  });

  test('a quantile outside 0..1 is refused with the histogram named', () => {
    assert.throws(() => new MetricSeriesSampler([{ histogram: 'h', quantile: 99 }]), /quantile of h must be within 0\.\.1, not 99/);
  });

  test('titles name the series as PromQL would select it', () => {
    assert.equal(seriesTitle({ histogram: 'apiserver_request_duration_seconds', quantile: 0.99, labels: { verb: 'GET' } }), 'p99 apiserver_request_duration_seconds{verb="GET"}');
    assert.equal(seriesTitle({ metric: 'x', title: 'mine' }), 'mine');
    assert.deepEqual(parseExposition('a{b="c"} 1\n# c\nd 2\n'), [{ name: 'a', labels: { b: 'c' }, value: 1 }, { name: 'd', labels: {}, value: 2 }]);
  });
});
