import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { VirtualClock } from './clock.js';
import { ClientMetrics, restMethod } from './metrics.js';
import { ItemExponentialFailureRateLimiter, RateLimitingQueue } from './workqueue.js';

/** The value of the sample `name{...labels}` whatever the order its labels are printed in, or undefined. */
function value(text: string, sample: string): number | undefined {
  const want = /^(\w+)\{(.*)\}$/.exec(sample)!;
  const key = (labels: string) => labels.split(',').sort().join(',');
  for (const line of text.split('\n')) {
    const m = /^(\w+)\{(.*)\} (\S+)$/.exec(line);
    if (m !== null && m[1] === want[1] && key(m[2]!) === key(want[2]!)) return Number(m[3]);
  }
  return undefined;
}

describe('client-go series', () => {
  test('a queue counts adds (not duplicates), retries, its depth, and times waiting and work on its clock', async () => {
    const clock = new VirtualClock();
    const metrics = new ClientMetrics('controller-manager-0');
    const q = new RateLimitingQueue<string>({ name: 'replicaset', clock, rateLimiter: new ItemExponentialFailureRateLimiter(5, 1000), metrics: undefined });
    const counted: RateLimitingQueue<string> = new RateLimitingQueue<string>({ name: 'deployment', clock, metrics: metrics.workqueue('deployment', () => counted.length) });
    q.add('ignored'); // a queue without metrics costs nothing and reports nothing
    counted.add('a');
    counted.add('a');
    counted.add('b');
    await clock.advance(2_000);
    const a = await counted.get();
    await clock.advance(1_000);
    counted.done(a!);
    counted.addRateLimited('c');
    const text = await metrics.text();
    const labels = '{name="deployment",component="controller-manager-0"}';
    assert.equal(value(text, `workqueue_adds_total${labels}`), 2, 'a second add of a queued key is absorbed');
    assert.equal(value(text, `workqueue_retries_total${labels}`), 1);
    assert.equal(value(text, `workqueue_depth${labels}`), 1, 'b waits');
    assert.equal(value(text, `workqueue_queue_duration_seconds_sum${labels}`), 2);
    assert.equal(value(text, `workqueue_work_duration_seconds_sum${labels}`), 1);
    assert.equal(value(text, `workqueue_work_duration_seconds_count${labels}`), 1);
    assert.ok(!text.includes('name="replicaset"'));
  });

  test('REST requests are counted by code, method and host; leader election reports who leads', async () => {
    const metrics = new ClientMetrics('scheduler-0');
    metrics.request('apiserver', restMethod('api.create'), '201');
    metrics.request('apiserver', restMethod('api.create'), '201');
    metrics.request('apiserver', restMethod('api.list'), '<error>');
    let leading = false;
    metrics.leaderElection('kube-scheduler', () => leading);
    let text = await metrics.text();
    assert.equal(value(text, 'rest_client_requests_total{code="201",method="POST",host="apiserver",component="scheduler-0"}'), 2);
    assert.equal(value(text, 'rest_client_requests_total{code="<error>",method="GET",host="apiserver",component="scheduler-0"}'), 1);
    assert.equal(value(text, 'leader_election_master_status{name="kube-scheduler",component="scheduler-0"}'), 0);
    leading = true;
    text = await metrics.text();
    assert.equal(value(text, 'leader_election_master_status{name="kube-scheduler",component="scheduler-0"}'), 1);
  });

  test('every message type maps to the HTTP method client-go would send', () => {
    assert.deepEqual(['api.get', 'api.list', 'api.watch', 'api.create', 'api.update', 'api.patch', 'api.delete', 'api.deleteCollection'].map(restMethod), ['GET', 'GET', 'GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'DELETE']);
  });
});
