/**
 * The route and service controllers look at one node's contribution (its route, its load-balancer target) before
 * and after a node event instead of rebuilding the whole table from every node (quadratic at 5,000 nodes: each
 * informer resync hands every node back). Pinned here: the per-node comparison says "changed" exactly when the
 * whole-table comparison it replaced would, over random nodes and random edits.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Node } from '../../api/types/index.js';
import { EXCLUDE_FROM_LB_LABEL, UNINITIALIZED_TAINT_KEY, desiredRouteOf, desiredRoutes, sameDesiredRoute, targetInstanceIdOf, targetInstanceIds } from './desired.js';

/** A small deterministic generator (tests take no global randomness either). */
function generator(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0;
    return s / 2 ** 32;
  };
}

function randomNode(name: string, random: () => number): Node {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  return {
    metadata: {
      name,
      uid: `uid-${name}`,
      labels: random() < 0.2 ? { [EXCLUDE_FROM_LB_LABEL]: '' } : {},
      ...(random() < 0.1 ? { deletionTimestamp: '2026-12-07T00:00:00Z' } : {}),
    },
    spec: {
      podCIDR: pick(['', '10.0.0.0/24', '10.0.1.0/24', undefined]),
      providerID: pick([undefined, '', 'kubethreads:///z/i-0000000a', 'kubethreads:///z/i-0000000b', 'aws:///z/i-0000000a']),
      ...(random() < 0.2 ? { taints: [{ key: UNINITIALIZED_TAINT_KEY, effect: 'NoSchedule' as const }] } : {}),
    },
    status: { conditions: [{ type: 'Ready', status: pick(['True', 'False']) }] },
  };
}

test('a node event changes the routes wanted, or the load-balancer targets, exactly when that node\'s own route or target changes', () => {
  const random = generator(7);
  let routeChanges = 0;
  let targetChanges = 0;
  for (let round = 0; round < 3_000; round++) {
    const nodes = Array.from({ length: 4 }, (_, i) => randomNode(`n${i}`, random));
    const index = Math.floor(random() * nodes.length);
    const before = nodes[index]!;
    // Half the edits touch only the status (a heartbeat, a resync's same object), half redraw the node.
    const after: Node = random() < 0.5 ? { ...before, status: { conditions: [{ type: 'Ready', status: 'Unknown' }] } } : randomNode(before.metadata.name!, random);
    const edited = nodes.map((n, i) => (i === index ? after : n));
    const tableChanged = JSON.stringify(desiredRoutes('c', nodes)) !== JSON.stringify(desiredRoutes('c', edited));
    const nodeChanged = !sameDesiredRoute(desiredRouteOf('c', before), desiredRouteOf('c', after));
    assert.equal(nodeChanged, tableChanged, `routes, round ${round}: ${JSON.stringify({ before, after })}`);
    const targetsChanged = targetInstanceIds(nodes).join() !== targetInstanceIds(edited).join();
    // The target set is a set: another node may hold the same instance, so a changed target need not change it;
    // an unchanged one never does (what lets the controller skip the set).
    if (targetInstanceIdOf(before) === targetInstanceIdOf(after)) assert.equal(targetsChanged, false, `targets, round ${round}`);
    if (tableChanged) routeChanges++;
    if (targetsChanged) targetChanges++;
  }
  // Both kinds of edit happened often enough for the comparison to mean something.
  assert.ok(routeChanges > 300 && targetChanges > 300, `${routeChanges} route changes, ${targetChanges} target changes`);
});

test('a node added or deleted counts as its route appearing or going', () => {
  const node: Node = { metadata: { name: 'a', uid: 'u' }, spec: { podCIDR: '10.0.0.0/24', providerID: 'kubethreads:///z/i-0000000a' } };
  assert.equal(sameDesiredRoute(desiredRouteOf('c', undefined), desiredRouteOf('c', node)), false);
  assert.equal(sameDesiredRoute(desiredRouteOf('c', node), desiredRouteOf('c', undefined)), false);
  assert.equal(targetInstanceIdOf(node), 'i-0000000a');
  assert.equal(targetInstanceIdOf(undefined), undefined);
});
