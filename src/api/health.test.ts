import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEALTH_FAILED_CODE, healthReport, parseHealthQuery, singleHealthCheck, type HealthCheck } from './health.js';

const ok = (name: string): HealthCheck => ({ name, run: async () => undefined });
const failing = (name: string, reason = 'no leader'): HealthCheck => ({ name, run: async () => reason });
const query = (search: string) => parseHealthQuery(new URLSearchParams(search));

// The cases of k8s.io/apiserver/pkg/server/healthz's own test, with our check names.
test('health endpoints answer as kube-apiserver does', async (t) => {
  const healthy = [ok('ping'), ok('etcd'), ok('informer-sync')];
  const noLeader = [ok('ping'), failing('etcd'), ok('informer-sync')];
  const cases: { name: string; checks: HealthCheck[]; search: string; code: number; body: string }[] = [
    { name: 'plain, healthy: a bare ok', checks: healthy, search: '', code: 200, body: 'ok' },
    { name: 'verbose, healthy: a line per check, then passed', checks: healthy, search: 'verbose', code: 200, body: '[+]ping ok\n[+]etcd ok\n[+]informer-sync ok\nreadyz check passed\n' },
    { name: 'verbose=true is verbose too', checks: healthy, search: 'verbose=true', code: 200, body: '[+]ping ok\n[+]etcd ok\n[+]informer-sync ok\nreadyz check passed\n' },
    { name: 'a failed check is always verbose, its reason withheld, status 500', checks: noLeader, search: '', code: 500, body: '[+]ping ok\n[-]etcd failed: reason withheld\n[+]informer-sync ok\nreadyz check failed\n' },
    { name: 'an excluded check is not run', checks: noLeader, search: 'verbose&exclude=etcd', code: 200, body: '[+]ping ok\n[+]etcd excluded: ok\n[+]informer-sync ok\nreadyz check passed\n' },
    { name: 'excluding a missing check warns', checks: healthy, search: 'verbose&exclude=nope', code: 200, body: '[+]ping ok\n[+]etcd ok\n[+]informer-sync ok\nwarn: some health checks cannot be excluded: no matches for "nope"\nreadyz check passed\n' },
    { name: 'excluded, not verbose: a bare ok', checks: noLeader, search: 'exclude=etcd', code: 200, body: 'ok' },
  ];
  for (const c of cases) {
    await t.test(c.name, async () => {
      const answer = await healthReport('readyz', c.checks, query(c.search));
      assert.equal(answer.code, c.code);
      assert.equal(answer.body, c.body);
    });
  }
  assert.equal(HEALTH_FAILED_CODE, 500);
});

test('the failing reason is kept for the log, and a check that throws fails with its message', async () => {
  const answer = await healthReport('livez', [ok('ping'), { name: 'etcd', run: async () => { throw new Error('timed out'); } }], query('verbose'));
  assert.equal(answer.body, '[+]ping ok\n[-]etcd failed: reason withheld\nlivez check failed\n');
  assert.deepEqual(answer.failures, [{ name: 'etcd', reason: 'timed out' }]);
});

test('one check by its path: ok, or 500 with its reason; an unknown name is not found', async () => {
  assert.deepEqual(await singleHealthCheck([ok('ping')], 'ping'), { code: 200, body: 'ok', failures: [] });
  assert.equal((await singleHealthCheck([failing('etcd', 'no leader')], 'etcd'))!.body, 'internal server error: no leader\n');
  assert.equal(await singleHealthCheck([ok('ping')], 'nope'), undefined);
});
