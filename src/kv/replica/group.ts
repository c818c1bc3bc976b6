/**
 * Starting a replica group: names, Raft ids and arguments for N replicas, and
 * a status poll that both the CLI and tests use.
 */
import type { ActorSystem } from '../../actor/system.js';
import type { SupervisionOptions } from '../../actor/behaviour.js';
import { etcdReplica } from './behaviour.js';
import type { ReplicaArgs, ReplicaStatus } from './protocol.js';

export interface EtcdGroupOptions {
  /** Number of replicas (odd: 1, 3 or 5). */
  replicas: number;
  /** Actor names are `${namePrefix}-0`, `-1`, ... (default `etcd`). */
  namePrefix?: string;
  /** Passed to every replica (ticks, snapshot thresholds, test knobs). */
  replica?: Omit<ReplicaArgs, 'id' | 'members'>;
  supervision?: Partial<SupervisionOptions>;
  /** Host every replica in this one thread (default: a thread each). */
  placement?: string;
}

export interface EtcdGroup {
  names: string[];
  members: Record<number, string>;
}

/** Replica names for a group, in Raft id order. */
export function etcdGroupNames(replicas: number, namePrefix = 'etcd'): string[] {
  return Array.from({ length: replicas }, (_, i) => `${namePrefix}-${i}`);
}

export async function spawnEtcdGroup(system: ActorSystem, options: EtcdGroupOptions): Promise<EtcdGroup> {
  if (!Number.isInteger(options.replicas) || options.replicas < 1 || options.replicas % 2 === 0) {
    throw new Error(`an etcd group needs an odd number of replicas (1, 3, 5...), not ${options.replicas}`);
  }
  const names = etcdGroupNames(options.replicas, options.namePrefix);
  const members: Record<number, string> = {};
  names.forEach((name, i) => (members[i + 1] = name));
  for (let i = 0; i < names.length; i++) {
    await system.spawn(etcdReplica, {
      name: names[i]!,
      args: { ...options.replica, id: i + 1, members },
      supervision: options.supervision,
      placement: options.placement,
    });
  }
  return { names, members };
}

/** Every replica's status; a replica that does not answer in time is reported as `undefined`. */
export async function groupStatus(system: ActorSystem, names: readonly string[], timeoutMs = 500): Promise<Array<ReplicaStatus | undefined>> {
  return Promise.all(
    names.map((name) =>
      system
        .ref(name)
        .ask<ReplicaStatus>({ type: 'status', body: null }, { timeoutMs })
        .catch(() => undefined),
    ),
  );
}
