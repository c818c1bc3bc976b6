import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ActorSystem } from '../../actor/system.js';
import type { SpawnOptions } from '../../actor/behaviour.js';
import { spawnEtcdGroup } from './group.js';

/** An ActorSystem that only records what it was asked to spawn: the group's spawn options are what is pinned. */
function recordingSystem(): { system: ActorSystem; spawned: SpawnOptions[] } {
  const spawned: SpawnOptions[] = [];
  const system = { spawn: async (_behaviour: unknown, options: SpawnOptions) => { spawned.push(options); return {}; } };
  return { system: system as unknown as ActorSystem, spawned };
}

describe('spawnEtcdGroup: the replicas\' threads', () => {
  test('by default no young generation is asked for (V8\'s own), every replica alike', async () => {
    const { system, spawned } = recordingSystem();
    await spawnEtcdGroup(system, { replicas: 3 });
    assert.deepEqual(spawned.map((o) => [o.name, o.youngGenerationMb]), [['etcd-0', undefined], ['etcd-1', undefined], ['etcd-2', undefined]]);
  });

  test('a young generation asked for is the one every replica gets', async () => {
    const { system, spawned } = recordingSystem();
    await spawnEtcdGroup(system, { replicas: 3, youngGenerationMb: 64 });
    assert.deepEqual(spawned.map((o) => o.youngGenerationMb), [64, 64, 64]);
  });
});
