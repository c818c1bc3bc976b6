/**
 * kubethreads' side of the kv benchmark: a ThreadedSystem with three etcd
 * replica actors (a thread each, the file WAL with fsync in a temporary
 * directory) and the driver actor in a thread of its own, which hosts the
 * ReplicatedKvClient and runs the workload. The main thread only orchestrates
 * (asks the driver to run a phase, polls status, kills the leader).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ThreadedSystem } from '../../src/actor/index.js';
import { groupStatus, spawnEtcdGroup } from '../../src/kv/replica/group.js';
import type { ReplicaStatus } from '../../src/kv/replica/protocol.js';
import { guardDir, releaseDir } from '../../src/kv/etcd/exit-guard.js';
import { kvGrpcGateway, type KvGrpcGatewayInfo } from '../../src/kv/grpc/behaviour.js';
import { epochNowMs, kvBenchDriver, type KvBenchDriverMsg } from './driver.js';
import { DEFAULT_TIMING, firstToReport, sleepMs, type BenchSide, type LeaderInfo, type RaftTiming } from './side.js';
import type { PhaseResult, PhaseSpec, WriterResult } from './workload.js';

const DRIVER = 'kv-bench-driver';
const GATEWAY = 'kv-grpc-gateway';
/** The gateway's thread start and listen: seconds at most on a loaded machine. */
const GATEWAY_START_TIMEOUT_MS = 60_000;
/** A phase normally takes seconds (its duration, or 2,000 sequential ops); past this margin the side is wedged: fail loudly. */
const PHASE_ASK_MARGIN_MS = 120_000;
const STATUS_POLL_MS = 10;

function leaderOf(all: Array<ReplicaStatus | undefined>, termAfter = -1): ReplicaStatus | undefined {
  return all.find((s) => s !== undefined && s.role === 'leader' && s.term > termAfter);
}

/**
 * `leaderDownFailover`: the replicas' failure detector (on by default; off gives etcd's election-timeout-only failover).
 * The others are replica settings for A/B runs of one build (`bench-ab.mjs --a-ours`, `kv-seq-tail.mjs`'s OURS_JSON).
 */
export async function startOurs(timing: RaftTiming = DEFAULT_TIMING, options: { leaderDownFailover?: boolean; inlineFsyncWhenIdle?: boolean; youngGenerationMb?: number } = {}): Promise<BenchSide> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubethreads-bench-kv-'));
  guardDir(dataDir);
  const system = new ThreadedSystem({ seed: 1, logLevel: process.env.LOG_LEVEL ?? 'error', dataDir });
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    try {
      await system.shutdown();
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
      releaseDir(dataDir);
    }
  };
  try {
    const group = await spawnEtcdGroup(system, {
      replicas: 3,
      youngGenerationMb: options.youngGenerationMb,
      replica: { tickMs: timing.heartbeatMs, heartbeatTicks: 1, electionTicks: Math.round(timing.electionMs / timing.heartbeatMs), leaderDownFailover: options.leaderDownFailover !== false, inlineFsyncWhenIdle: options.inlineFsyncWhenIdle },
    });
    const driver = await system.spawn(kvBenchDriver, { name: DRIVER, args: { replicas: group.names } });
    const ask = <R>(msg: KvBenchDriverMsg, timeoutMs = PHASE_ASK_MARGIN_MS) => driver.ask<R>(msg, { timeoutMs });

    let gateway: Promise<string> | undefined;

    const side: BenchSide = {
      label: 'kubethreads',
      runPhase: (spec: PhaseSpec) => ask<PhaseResult>({ type: 'phase', body: spec }, (spec.kind === 'load' ? spec.durationMs : 0) + PHASE_ASK_MARGIN_MS),
      writerStart: async (prefix, valueBytes) => {
        await ask({ type: 'writerStart', body: { prefix, valueBytes } });
      },
      writerStop: (sinceMs, acksAfter, timeoutMs) => ask<WriterResult>({ type: 'writerStop', body: { sinceMs, acksAfter, timeoutMs } }, timeoutMs + 60_000),
      async leader(timeoutMs) {
        const deadline = Date.now() + timeoutMs;
        while (Date.now() < deadline) {
          const leader = leaderOf(await groupStatus(system, group.names));
          if (leader !== undefined) return { id: leader.name, term: leader.term };
          await sleepMs(STATUS_POLL_MS);
        }
        throw new Error(`kubethreads: no leader within ${timeoutMs} ms`);
      },
      async kill(leader: LeaderInfo) {
        // The supervisor restarts it (permanent policy) on its own disk, as etcd's member is restarted after kill -9.
        await system.faults.kill(leader.id);
      },
      async waitNewLeader(term, timeoutMs) {
        // Each replica polled on its own: a round waiting on the restarting one (Promise.all) saw the new leader late.
        const seenAtMs = await firstToReport(group.names, timeoutMs, epochNowMs, async (name) => {
          const s = await system.ref(name).ask<ReplicaStatus>({ type: 'status', body: null }, { timeoutMs: 200 }).catch(() => undefined);
          return s !== undefined && s.role === 'leader' && s.term > term;
        });
        if (seenAtMs === undefined) throw new Error(`kubethreads: no leader after term ${term} within ${timeoutMs} ms`);
        return seenAtMs;
      },
      grpcEndpoint() {
        // Spawned on first use, so the in-process rows never share a thread with it; in the leader's thread, as etcd's
        // side serves these rows from its leader's process: its asks to that replica are deliveries within the thread
        // (no encoding, no postMessage, no wake-up of another thread), and its serializable reads are answered there.
        gateway ??= side
          .leader(GATEWAY_START_TIMEOUT_MS)
          .then((leader) => system.spawn(kvGrpcGateway, { name: GATEWAY, placement: leader.id, args: { replicas: group.names, localReplica: leader.id } }))
          .then((ref) => ref.ask<KvGrpcGatewayInfo>({ type: 'grpc.info', body: null }, { timeoutMs: GATEWAY_START_TIMEOUT_MS }))
          .then((info) => info.endpoint);
        return gateway;
      },
      async grpcDone() {
        // Stopped before the failover rows: a killed leader's thread would otherwise restart a gateway beside it.
        if (gateway === undefined) return;
        gateway = undefined;
        await system.stop(GATEWAY);
      },
      async waitHealthy(timeoutMs) {
        const deadline = Date.now() + timeoutMs;
        let last = 'no status yet';
        while (Date.now() < deadline) {
          const all = await groupStatus(system, group.names);
          const leader = leaderOf(all);
          if (leader !== undefined && all.every((s) => s !== undefined && s.leader === leader.name && s.appliedIndex >= leader.commitIndex - 1)) return;
          last = all.map((s) => (s === undefined ? 'down' : `${s.name} ${s.role} term ${s.term} applied ${s.appliedIndex}`)).join(', ');
          await sleepMs(STATUS_POLL_MS * 5);
        }
        throw new Error(`kubethreads: replicas not healthy within ${timeoutMs} ms (${last})`);
      },
      close,
    };
    return side;
  } catch (error) {
    await close();
    throw error;
  }
}
