/**
 * `bench density --kill-controller-manager-leader-at`: the replica that says it leads is the one killed, and the
 * takeover is the first term any replica began after the kill (the killed one's new incarnation included).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Cluster } from '../../src/cluster/start.js';
import { killLeadingControllerManager, nextControllerManagerLeader } from './run.js';

/** A cluster whose controller-manager replicas answer `cm.status` as given, and whose kills are recorded. */
function fakeCluster(statuses: Record<string, { leading: boolean; termsMs: [number, number | undefined][] } | 'silent'>): { cluster: Pick<Cluster, 'system'>; killed: string[] } {
  const killed: string[] = [];
  const system = {
    ref: (name: string) => ({
      ask: async () => {
        const status = statuses[name];
        if (status === undefined || status === 'silent') throw new Error(`${name} did not answer`);
        return { identity: name, leader: '', terms: status.termsMs.length, writes: [], listsSliced: 0, ...status };
      },
    }),
    faults: { kill: async (name: string) => void killed.push(name) },
  };
  return { cluster: { system } as unknown as Pick<Cluster, 'system'>, killed };
}

test('the replica that says it leads is killed, not the first one asked', async () => {
  const { cluster, killed } = fakeCluster({ 'controller-manager-0': { leading: false, termsMs: [] }, 'controller-manager-1': { leading: true, termsMs: [[1_000, undefined]] } });
  assert.equal(await killLeadingControllerManager(cluster), 'controller-manager-1');
  assert.deepEqual(killed, ['controller-manager-1']);
});

test('with no replica leading (or none answering) nothing is killed and the error says so', async () => {
  const { cluster, killed } = fakeCluster({ 'controller-manager-0': 'silent', 'controller-manager-1': { leading: false, termsMs: [] } });
  await assert.rejects(killLeadingControllerManager(cluster), /no controller-manager replica said it led/);
  assert.deepEqual(killed, []);
});

test('the takeover is the earliest term begun after the kill, whichever replica began it; terms before the kill do not count', async () => {
  const killedAt = 50_000;
  const { cluster } = fakeCluster({
    'controller-manager-0': { leading: true, termsMs: [[90_000, undefined]] },
    'controller-manager-1': { leading: false, termsMs: [[10_000, 40_000], [65_500, 80_000]] },
  });
  assert.deepEqual(await nextControllerManagerLeader(cluster, killedAt), { next_leader: 'controller-manager-1', next_leader_after_s: 15.5 });
  const none = fakeCluster({ 'controller-manager-0': { leading: false, termsMs: [[10_000, 40_000]] }, 'controller-manager-1': 'silent' });
  assert.deepEqual(await nextControllerManagerLeader(none.cluster, killedAt), { next_leader: null, next_leader_after_s: null });
});
