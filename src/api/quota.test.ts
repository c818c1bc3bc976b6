import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LocalKvClient } from '../kv/client/local-client.js';
import type { KvClient } from '../kv/client/types.js';
import type { TxnRequest } from '../kv/protocol.js';
import { ApiError } from './errors.js';
import { ApiHandlers } from './handlers.js';
import { formatMilli, parseMilli } from './quantity.js';
import { chargeQuota, podCharge, recount } from './quota.js';
import { ADMIN, fakeClock, seededRandom } from './testing.js';
import type { KubeObject, List, Pod, ResourceQuota } from './types/index.js';

const pod = (name: string, cpu?: string, memory?: string, extra: Partial<Pod> = {}): Pod => ({
  metadata: { name, namespace: 'team' },
  spec: { containers: [{ name: 'app', image: 'nginx', resources: cpu === undefined ? {} : { requests: { cpu, ...(memory ? { memory } : {}) }, limits: { cpu, ...(memory ? { memory } : {}) } } }] },
  ...extra,
});
const quota = (hard: Record<string, string>, used?: Record<string, string>): ResourceQuota => ({ metadata: { name: 'compute', namespace: 'team' }, spec: { hard }, status: { hard, used } });

test('quantities: milli-units exactly, rounded up below a milli, formatted back canonically', () => {
  assert.equal(parseMilli('500m'), 500n);
  assert.equal(parseMilli('2'), 2000n);
  assert.equal(parseMilli('1.5'), 1500n);
  assert.equal(parseMilli('128Mi'), 128n * 1024n * 1024n * 1000n);
  assert.equal(parseMilli('1G'), 1_000_000_000_000n);
  assert.equal(parseMilli('1e3'), 1_000_000n);
  assert.equal(parseMilli('1n'), 1n, 'Kubernetes rounds MilliValue up');
  assert.equal(parseMilli('abc'), undefined);
  assert.equal(formatMilli(1500n), '1500m');
  assert.equal(formatMilli(3000n), '3');
  assert.equal(formatMilli(parseMilli('256Mi')!, true), '256Mi');
  assert.equal(formatMilli(parseMilli('1000')!, true), '1000');
});

test('a pod charges its containers (or its largest init container), and a charge over a hard limit names what exceeded', () => {
  const withInit = pod('p', '250m', '64Mi');
  withInit.spec!.initContainers = [{ name: 'init', image: 'busybox', resources: { requests: { cpu: '1' }, limits: { cpu: '1' } } }];
  assert.equal(podCharge(withInit)['requests.cpu'], 1000n, 'the init container needs more than the app containers');
  assert.equal(podCharge(pod('p', '250m', '64Mi'))['requests.memory'], parseMilli('64Mi'));

  const q = quota({ pods: '2', 'requests.cpu': '1' }, { pods: '1', 'requests.cpu': '800m' });
  const over = chargeQuota(q, pod('p', '250m'));
  assert.deepEqual(over, { ok: false, reason: 'exceeded', message: 'exceeded quota: compute, requested: requests.cpu=250m, used: requests.cpu=800m, limited: requests.cpu=1' });
  const fits = chargeQuota(q, pod('p', '200m'));
  assert.deepEqual(fits, { ok: true, used: { pods: '2', 'requests.cpu': '1' } });
  const unspecified = chargeQuota(q, pod('p'));
  assert.equal(unspecified.ok, false);
  assert.match((unspecified as { message: string }).message, /must specify requests.cpu for: app/);
  assert.equal((chargeQuota(quota({ pods: '2' }), pod('p')) as { reason: string }).reason, 'unknown', 'no used value yet: status unknown');
});

test('the recount leaves out finished pods and pods whose grace period is over', () => {
  const nowMs = Date.UTC(2026, 0, 1);
  const pods = [
    pod('running', '100m'),
    pod('done', '100m', undefined, { status: { phase: 'Succeeded' } }),
    pod('leaving', '100m', undefined, { metadata: { name: 'leaving', deletionTimestamp: new Date(nowMs + 5_000).toISOString() } }),
    pod('gone', '100m', undefined, { metadata: { name: 'gone', deletionTimestamp: new Date(nowMs - 1_000).toISOString() } }),
  ];
  assert.deepEqual(recount(quota({ pods: '10', cpu: '4', 'limits.memory': '1Gi' }), pods, nowMs), { cpu: '200m', 'limits.memory': '0', pods: '2' });
});

/**
 * A store that holds back quota writes until `holdFor` of them are waiting,
 * so that many pod creates all read the same usage before any charge lands:
 * the race the compare-and-swap must win.
 */
function racingKv(inner: KvClient, holdFor: number): { kv: KvClient; held: () => number } {
  let waiting: (() => void)[] = [];
  let held = 0;
  let released = false;
  const kv = new Proxy(inner, {
    get(target, key, receiver) {
      if (key !== 'txn') {
        const value = Reflect.get(target, key, receiver) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      }
      return async (request: TxnRequest) => {
        // An update of a quota (guarded by its mod revision), not the quota's creation.
        const isQuotaWrite = request.compare.some((c) => c.target === 'modRevision' && c.key.startsWith('/registry/resourcequotas/'));
        if (isQuotaWrite && !released) {
          held++;
          await new Promise<void>((resolve) => {
            waiting.push(resolve);
            if (waiting.length >= holdFor) {
              released = true;
              for (const go of waiting) go();
              waiting = [];
            }
          });
        }
        return target.txn(request);
      };
    },
  });
  return { kv, held: () => held };
}

async function quotaCluster(holdFor: number, hard: Record<string, string>) {
  const clock = fakeClock();
  const store = new LocalKvClient({ now: clock.now });
  const { kv, held } = racingKv(store, holdFor);
  const handlers = new ApiHandlers({ kv, now: clock.now, random: seededRandom(9) });
  await handlers.start();
  await handlers.handle({ verb: 'create', group: '', version: 'v1', resource: 'namespaces', body: { metadata: { name: 'team' } } }, ADMIN);
  const created = await handlers.handle({ verb: 'create', group: '', version: 'v1', resource: 'resourcequotas', namespace: 'team', body: { metadata: { name: 'compute' }, spec: { hard } } }, ADMIN);
  await handlers.cache(handlers.info('', 'v1', 'resourcequotas')).waitFor(Number((created.body as KubeObject).metadata.resourceVersion));
  const createPod = (p: Pod) => handlers.handle({ verb: 'create', group: '', version: 'v1', resource: 'pods', namespace: 'team', body: p }, ADMIN);
  const usage = async () => ((await handlers.registry.get(handlers.info('', 'v1', 'resourcequotas'), 'team', 'compute')) as ResourceQuota).status?.used;
  const podNames = async () => ((await handlers.handle({ verb: 'list', group: '', version: 'v1', resource: 'pods', namespace: 'team' }, ADMIN)).body as List).items.map((p) => p.metadata.name);
  return { handlers, store, held, createPod, usage, podNames, clock };
}

test('two concurrent pod creates that read the same usage cannot both slip under the limit: the quota CAS lets one through', async () => {
  const { handlers, store, held, createPod, usage, podNames } = await quotaCluster(2, { pods: '1' });
  const results = await Promise.allSettled([createPod(pod('a')), createPod(pod('b'))]);
  assert.equal(held(), 2, 'both charges were computed from the same usage before either was written');
  const won = results.filter((r) => r.status === 'fulfilled');
  const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  assert.equal(won.length, 1);
  assert.equal(lost.length, 1);
  assert.equal((lost[0]!.reason as ApiError).code, 403);
  assert.match((lost[0]!.reason as ApiError).message, /^pods "[ab]" is forbidden: exceeded quota: compute, requested: pods=1, used: pods=1, limited: pods=1$/);
  assert.deepEqual(await usage(), { pods: '1' });
  assert.equal((await podNames()).length, 1);
  handlers.stop();
  store.close();
});

test('ten concurrent creates against pods=3 and cpu=1: exactly what fits is created and usage matches the pods', async () => {
  const { handlers, store, createPod, usage, podNames } = await quotaCluster(10, { pods: '3', 'requests.cpu': '1', 'limits.memory': '1Gi' });
  const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => createPod(pod(`p${i}`, '300m', '128Mi'))));
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 3);
  assert.equal((await podNames()).length, 3);
  assert.deepEqual(await usage(), { 'limits.memory': '384Mi', pods: '3', 'requests.cpu': '900m' });
  handlers.stop();
  store.close();
});

test('deleting a pod frees its share at the next recount; a pod without the constrained request is refused', async () => {
  const { handlers, store, createPod, usage } = await quotaCluster(1, { pods: '1', cpu: '1' });
  await createPod(pod('a', '500m'));
  await assert.rejects(createPod(pod('b', '500m')), (e: ApiError) => e.code === 403 && /exceeded quota: compute, requested: pods=1/.test(e.message));
  await assert.rejects(createPod(pod('c')), (e: ApiError) => e.code === 403 && /failed quota: compute: must specify requests.cpu for: app/.test(e.message));
  const deleted = await handlers.handle({ verb: 'delete', group: '', version: 'v1', resource: 'pods', namespace: 'team', name: 'a' }, ADMIN);
  await handlers.cache(handlers.info('', 'v1', 'pods')).waitFor(Number((deleted.body as KubeObject).metadata.resourceVersion));
  assert.equal(await handlers.recountQuotas(), 1);
  assert.deepEqual(await usage(), { cpu: '0', pods: '0' });
  assert.equal((await createPod(pod('b', '500m'))).code, 201);
  handlers.stop();
  store.close();
});
