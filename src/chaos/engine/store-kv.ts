/** How a run's API server reaches the run's store: the replica actors, or the etcd members (store etcd). */
import type { KvSource } from '../../api/behaviour.js';
import type { ChaosEnv } from './types.js';

export function apiServerKv(env: Pick<ChaosEnv, 'etcd' | 'replicas'>): KvSource {
  return env.etcd === undefined ? { kind: 'replicated', options: { replicas: [...env.replicas] } } : { kind: 'etcd', endpoints: [...env.etcd.endpoints] };
}
