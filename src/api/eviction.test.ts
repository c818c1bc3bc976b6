import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError, apiErrors } from './errors.js';
import { EVICTION_REFUSED_MESSAGE, evictPod, type EvictionStore } from './eviction.js';
import type { DeleteOptions, Pod, PodDisruptionBudget } from './types/index.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');

/** A store of pods and budgets with the registry's compare-and-swap on the budget's resourceVersion. */
function memoryStore(pods: Pod[], budgets: PodDisruptionBudget[]) {
  const deleted: string[] = [];
  const marked: string[] = [];
  let racesLeft = 0;
  const store: EvictionStore & { deleted: string[]; marked: string[]; budget(name: string): PodDisruptionBudget; loseRaces(n: number): void } = {
    deleted, marked,
    budget: (name) => budgets.find((b) => b.metadata.name === name)!,
    loseRaces: (n) => (racesLeft = n),
    async getPod(_ns, name) {
      const pod = pods.find((p) => p.metadata.name === name);
      if (pod === undefined) throw apiErrors.notFound('pods', '', name);
      return pod;
    },
    budgets: () => budgets,
    async getBudget(_ns, name) {
      return structuredClone(budgets.find((b) => b.metadata.name === name)!);
    },
    async updateBudgetStatus(next) {
      const i = budgets.findIndex((b) => b.metadata.name === next.metadata.name);
      if (racesLeft > 0) {
        // Someone else's eviction took a disruption first.
        racesLeft--;
        budgets[i] = { ...budgets[i]!, metadata: { ...budgets[i]!.metadata, resourceVersion: String(Number(budgets[i]!.metadata.resourceVersion) + 1) }, status: { ...budgets[i]!.status!, disruptionsAllowed: budgets[i]!.status!.disruptionsAllowed - 1 } };
      }
      if (budgets[i]!.metadata.resourceVersion !== next.metadata.resourceVersion) throw apiErrors.staleResourceVersion('poddisruptionbudgets', 'policy', next.metadata.name!);
      budgets[i] = { ...next, metadata: { ...next.metadata, resourceVersion: String(Number(next.metadata.resourceVersion) + 1) } };
    },
    async markDisruptionTarget(pod) {
      marked.push(pod.metadata.name!);
    },
    async deletePod(_ns, name, _options: DeleteOptions) {
      deleted.push(name);
    },
    now: () => NOW,
  };
  return store;
}

const pod = (name: string, ready = true, phase: 'Running' | 'Pending' | 'Succeeded' = 'Running'): Pod => ({
  metadata: { name, namespace: 'default', labels: { app: 'web' } },
  status: { phase, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
});
const budget = (name: string, allowed: number, extra: Partial<PodDisruptionBudget['spec']> = {}, observed = 1): PodDisruptionBudget => ({
  metadata: { name, namespace: 'default', generation: 1, resourceVersion: '10' },
  spec: { minAvailable: 1, selector: { matchLabels: { app: 'web' } }, ...extra },
  status: { observedGeneration: observed, disruptionsAllowed: allowed, currentHealthy: 2, desiredHealthy: 2 - allowed, expectedPods: 2 },
});

async function refusal(promise: Promise<void>): Promise<ApiError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  assert.fail('the eviction was not refused');
}

describe('the eviction subresource', () => {
  test('a budget with a disruption left: decremented (pinned to its resourceVersion), the pod noted as disrupted, marked DisruptionTarget and deleted', async () => {
    const store = memoryStore([pod('a'), pod('b')], [budget('web', 1)]);
    await evictPod(store, 'default', 'a', { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'a' } });
    const after = store.budget('web').status!;
    assert.equal(after.disruptionsAllowed, 0);
    assert.deepEqual(after.disruptedPods, { a: '2026-01-01T00:00:00Z' });
    assert.deepEqual(after.conditions?.map((c) => [c.type, c.status, c.reason]), [['DisruptionAllowed', 'False', 'InsufficientPods']]);
    assert.deepEqual(store.marked, ['a']);
    assert.deepEqual(store.deleted, ['a']);
  });

  test('no disruption allowed: 429 TooManyRequests with Kubernetes\' message and a DisruptionBudget cause saying what the budget needs; nothing deleted', async () => {
    const store = memoryStore([pod('a'), pod('b')], [budget('web', 0)]);
    const error = await refusal(evictPod(store, 'default', 'a', {}));
    assert.equal(error.code, 429);
    assert.equal(error.reason, 'TooManyRequests');
    assert.equal(error.message, EVICTION_REFUSED_MESSAGE);
    assert.deepEqual(error.status.details?.causes, [{ reason: 'DisruptionBudget', message: 'The disruption budget web needs 2 healthy pods and has 2 currently' }]);
    assert.deepEqual(store.deleted, []);
  });

  test('a budget the controller has not processed yet: 429 asking to come back in 10 s', async () => {
    const store = memoryStore([pod('a')], [budget('web', 1, {}, 0)]);
    const error = await refusal(evictPod(store, 'default', 'a', {}));
    assert.equal(error.code, 429);
    assert.equal(error.status.details?.retryAfterSeconds, 10);
    assert.match(error.status.details?.causes?.[0]?.message ?? '', /is still being processed by the server/);
  });

  test('two evictions race for the last disruption: the loser re-reads the budget and is refused', async () => {
    const store = memoryStore([pod('a'), pod('b')], [budget('web', 1)]);
    store.loseRaces(1);
    const error = await refusal(evictPod(store, 'default', 'a', {}));
    assert.equal(error.code, 429);
    assert.deepEqual(store.deleted, []);
  });

  test('pods a budget cannot protect go at once: pending or finished pods, pods under no budget, unready pods of a healthy budget or under AlwaysAllow', async () => {
    const store = memoryStore([pod('pending', false, 'Pending'), pod('done', false, 'Succeeded'), pod('unready', false)], [budget('web', 0, {}, 1)]);
    await evictPod(store, 'default', 'pending', {});
    await evictPod(store, 'default', 'done', {});
    await evictPod(store, 'default', 'unready', {});
    assert.deepEqual(store.deleted, ['pending', 'done', 'unready'], 'the budget is met (2 of 2 healthy), so an unready pod may go');
    const always = memoryStore([pod('unready', false)], [{ ...budget('web', 0), status: { observedGeneration: 1, disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 2, expectedPods: 2 }, spec: { minAvailable: 2, selector: { matchLabels: { app: 'web' } }, unhealthyPodEvictionPolicy: 'AlwaysAllow' } }]);
    await evictPod(always, 'default', 'unready', {});
    assert.deepEqual(always.deleted, ['unready']);
    const none = memoryStore([{ ...pod('free'), metadata: { name: 'free', namespace: 'default', labels: { app: 'other' } } }], [budget('web', 0)]);
    await evictPod(none, 'default', 'free', {});
    assert.deepEqual(none.deleted, ['free']);
  });

  test('bad requests: a pod under two budgets is a 500 as in Kubernetes; a name mismatch a 400; a missing pod a 404', async () => {
    const two = memoryStore([pod('a')], [budget('one', 1), budget('two', 1)]);
    const error = await refusal(evictPod(two, 'default', 'a', {}));
    assert.equal(error.code, 500);
    assert.match(error.message, /more than one PodDisruptionBudget/);
    assert.equal((await refusal(evictPod(two, 'default', 'a', { metadata: { name: 'b' } }))).code, 400);
    assert.equal((await refusal(evictPod(two, 'default', 'nope', {}))).code, 404);
  });
});
