/**
 * etcd's side of the kv benchmark: a real 3-member cluster on loopback
 * (EtcdCluster) driven through the `etcd3` npm client in this thread, running
 * the same workload code as kubethreads' driver actor.
 *
 * Phases talk to the leader only (a client whose one endpoint is the leader's).
 * The failover writer follows the leader as kubethreads' client does: after an
 * error it asks the members who leads now and reconnects there. (With etcd3
 * over all three endpoints instead, a put that a follower forwarded to the
 * killed leader waits out its whole deadline: the gap then measures the
 * client's timeout, not etcd's failover.)
 */
import { Etcd3, type IOptions } from 'etcd3';
import { epochNowMs } from './driver.js';
import { EtcdCluster, etcdVersion } from '../../src/kv/etcd/cluster.js';
import { DEFAULT_TIMING, sleepMs, type BenchSide, type LeaderInfo, type RaftTiming } from './side.js';
import { FailoverWriter, runPhase, type BenchClock, type BenchKv, type PhaseSpec } from './workload.js';

/** Per-call deadline for unary calls: the same as the replicated client's default request timeout. */
const CALL_DEADLINE_MS = 5_000;
const START_LEADER_TIMEOUT_MS = 20_000;

const clock: BenchClock = {
  nowMs: epochNowMs,
  // Unref'd: a phase's pending event timeouts must not hold the process open after it ends.
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref()),
};

type FaultPolicy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>;

/**
 * No retry and no circuit breaker (etcd3 uses only `execute`): a failed call is
 * reported, as kubethreads' client reports a write of unknown outcome instead of
 * sending it again, and the failover writer then finds the leader itself. With
 * etcd3's default policy a put refused by the killed leader is re-sent to the
 * restarted member before it knows a leader, and can hang there for the whole deadline.
 */
const PASS_THROUGH = {
  execute: <T>(fn: (context: { signal: AbortSignal; attempt: number }) => PromiseLike<T> | T) =>
    Promise.resolve().then(() => fn({ signal: new AbortController().signal, attempt: 0 })),
} as unknown as FaultPolicy;

/** The options every bench client of etcd (and of our gRPC face) runs with: a 5 s deadline, no retries. */
export function benchClientOptions(hosts: string | string[]): IOptions {
  return {
    hosts,
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + CALL_DEADLINE_MS }),
    faultHandling: { global: PASS_THROUGH, host: () => PASS_THROUGH },
  };
}

function isCompactedError(error: unknown): boolean {
  return error instanceof Error && /compacted/.test(error.message);
}

/** `BenchKv` over an etcd3 client. */
export function etcdBenchKv(client: Etcd3): BenchKv {
  return {
    put: async (key, value) => Number((await client.put(key).value(value).exec()).header.revision),
    get: (key, serializable) => client.get(key).serializable(serializable === true).string(),
    cas: async (key, expected, value) => (await client.if(key, 'Value', '==', expected).then(client.put(key).value(value)).commit()).succeeded,
    watchPrefix: async (prefix, onPut) => {
      const watcher = await client.watch().prefix(prefix).create();
      watcher.on('put', (kv) => onPut(kv.key.toString(), Number(kv.mod_revision)));
      return () => void watcher.cancel().catch(() => undefined);
    },
    cleanup: async (prefix) => {
      const deleted = await client.delete().prefix(prefix).exec();
      try {
        await client.kv.compact({ revision: deleted.header.revision, physical: true });
      } catch (error) {
        // Nothing was deleted and the store is already compacted to this revision: nothing to do.
        if (!isCompactedError(error)) throw error;
      }
    },
  };
}

export async function startEtcd(binary?: string, timing: RaftTiming = DEFAULT_TIMING): Promise<BenchSide & { version: string }> {
  const cluster = await EtcdCluster.start({ members: 3, heartbeatMs: timing.heartbeatMs, electionMs: timing.electionMs, binary });
  let leaderClient: { index: number; client: Etcd3 } | undefined;
  let writer: FailoverWriter | undefined;

  async function leaderIndex(timeoutMs: number): Promise<LeaderInfo & { index: number }> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const leader = await cluster.leader();
      if (leader !== undefined) return { id: String(leader.index), term: leader.term, index: leader.index };
      await sleepMs(10);
    }
    throw new Error(`etcd: no leader within ${timeoutMs} ms`);
  }

  /** A client on the leader's endpoint, made anew when leadership moved. */
  async function toLeader(): Promise<Etcd3> {
    const { index } = await leaderIndex(START_LEADER_TIMEOUT_MS);
    if (leaderClient?.index !== index) {
      leaderClient?.client.close();
      leaderClient = { index, client: new Etcd3(benchClientOptions(cluster.clientUrl(index))) };
    }
    return leaderClient.client;
  }

  const version = etcdVersion(binary) ?? 'unknown';

  /** The failover writer's client, on the leader's endpoint; dropped on any error so the next call finds the leader again. */
  let following: Etcd3 | undefined;
  function leaderFollowingKv(): BenchKv {
    const onLeader = async <T>(call: (kv: BenchKv) => Promise<T>): Promise<T> => {
      if (following === undefined) {
        const leader = await cluster.leader();
        if (leader === undefined) throw new Error('etcd: no member leads right now');
        following = new Etcd3(benchClientOptions(cluster.clientUrl(leader.index)));
      }
      const client = following;
      try {
        return await call(etcdBenchKv(client));
      } catch (error) {
        if (following === client) following = undefined;
        client.close();
        throw error;
      }
    };
    return {
      put: (key, value) => onLeader((kv) => kv.put(key, value)),
      get: (key, serializable) => onLeader((kv) => kv.get(key, serializable)),
      cas: (key, expected, value) => onLeader((kv) => kv.cas(key, expected, value)),
      watchPrefix: (prefix, onPut) => onLeader((kv) => kv.watchPrefix(prefix, onPut)),
      cleanup: (prefix) => onLeader((kv) => kv.cleanup(prefix)),
    };
  }

  return {
    label: 'etcd',
    version,
    runPhase: async (spec: PhaseSpec) => runPhase(etcdBenchKv(await toLeader()), clock, spec),
    writerStart: async (prefix, valueBytes) => {
      if (writer !== undefined) throw new Error('etcd side: the failover writer is already running');
      writer = new FailoverWriter(leaderFollowingKv(), clock, prefix, valueBytes);
    },
    writerStop: async (sinceMs, acksAfter, timeoutMs) => {
      if (writer === undefined) throw new Error('etcd side: no failover writer is running');
      const stopping = writer;
      writer = undefined;
      return stopping.stopAfterResume(sinceMs, acksAfter, timeoutMs);
    },
    leader: (timeoutMs) => leaderIndex(timeoutMs),
    async kill(leader: LeaderInfo) {
      const index = Number(leader.id);
      await cluster.kill(index);
      // Restarted at once on its data directory, as kubethreads' supervisor restarts a killed replica.
      cluster.restart(index);
    },
    waitNewLeader: (term, timeoutMs) => cluster.waitNewLeader(term, timeoutMs, epochNowMs),
    // The leader's endpoint, as every other phase uses: no forwarding hop between client and leader.
    grpcEndpoint: async () => cluster.clientUrl((await leaderIndex(START_LEADER_TIMEOUT_MS)).index),
    waitHealthy: (timeoutMs) => cluster.waitHealthy(timeoutMs),
    async close() {
      try {
        leaderClient?.client.close();
        following?.close();
      } finally {
        await cluster.stop();
      }
    },
  };
}
