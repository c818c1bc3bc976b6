import { defineBehaviour } from '../../actor/behaviour.js';
import type { ReplicaArgs, ReplicaMsg } from './protocol.js';
import { createReplica } from './replica.js';

/** The etcd replica behaviour (see replica.ts). */
export const etcdReplica = defineBehaviour<ReplicaMsg, ReplicaArgs>(import.meta.url, 'etcd-replica', createReplica);
