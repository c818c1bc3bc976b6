import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ActorSystem } from '../../actor/system.js';
import type { SpawnOptions } from '../../actor/behaviour.js';
import { REPLICA_YOUNG_GENERATION_MB, spawnEtcdGroup } from './group.js';

/** An ActorSystem that only records what it was asked to spawn: the group's spawn options are what is pinned. */
function recordingSystem(): { system: ActorSystem; spawned: SpawnOptions[] } {
  const spawned: SpawnOptions[] = [];
  const system = { spawn: async (_behaviour: unknown, options: SpawnOptions) => { spawned.push(options); return {}; } };
  return { system: system as unknown as ActorSystem, spawned };
}

describe('spawnEtcdGroup: the replicas\' threads', () => {
  test('every replica gets the larger young generation by default (a lone put\'s scavenges, issue 22)', async () => {
    const { system, spawned } = recordingSystem();
    await spawnEtcdGroup(system, { replicas: 3 });
    assert.deepEqual(spawned.map((o) => [o.name, o.youngGenerationMb]), [['etcd-0', REPLICA_YOUNG_GENERATION_MB], ['etcd-1', REPLICA_YOUNG_GENERATION_MB], ['etcd-2', REPLICA_YOUNG_GENERATION_MB]]);
    assert.ok(REPLICA_YOUNG_GENERATION_MB > 48, 'larger than V8\'s default of 48 MB');
  });

  test('a young generation asked for is the one every replica gets', async () => {
    const { system, spawned } = recordingSystem();
    await spawnEtcdGroup(system, { replicas: 3, youngGenerationMb: 64 });
    assert.deepEqual(spawned.map((o) => o.youngGenerationMb), [64, 64, 64]);
  });
});
