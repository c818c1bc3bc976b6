/**
 * One contestant of the kv benchmark, as the orchestrator sees it: run a
 * phase, run a writer across a leader kill, find and kill the leader. Both
 * kubethreads' store and the real etcd implement it, so one orchestration
 * measures both the same way.
 */
import type { PhaseResult, PhaseSpec, WriterResult } from './workload.js';

export interface LeaderInfo {
  /** Replica actor name (ours) or member index (etcd). */
  id: string;
  term: number;
}

export interface BenchSide {
  readonly label: string;
  runPhase(spec: PhaseSpec): Promise<PhaseResult>;
  writerStart(prefix: string, valueBytes: number): Promise<void>;
  /** Stop the writer once `acksAfter` writes were acknowledged after `sinceMs` (epoch ms), or after `timeoutMs`. */
  writerStop(sinceMs: number, acksAfter: number, timeoutMs: number): Promise<WriterResult>;
  /** The leader, waiting up to `timeoutMs` for one. */
  leader(timeoutMs: number): Promise<LeaderInfo>;
  /** Kill the leader abruptly (thread terminated / kill -9); it comes back as the side restarts it. */
  kill(leader: LeaderInfo): Promise<void>;
  /** Epoch ms at which a leader in a term after `term` was first seen. */
  waitNewLeader(term: number, timeoutMs: number): Promise<number>;
  /**
   * An endpoint (`host:port` or URL) an etcd v3 gRPC client in another process
   * can load: etcd's leader, or the gRPC face of our store (a gateway actor).
   */
  grpcEndpoint(): Promise<string>;
  /** The cross-process rows are done: whatever `grpcEndpoint` started may go. */
  grpcDone?(): Promise<void>;
  /** Every member up, one leader, everyone caught up. */
  waitHealthy(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/** The Raft timing both sides run with: etcd's defaults. */
export const HEARTBEAT_MS = 100;
export const ELECTION_MS = 1_000;

/** Heartbeat and (minimum) election timeout of a side; both sides randomize elections over [election, 2 × election). */
export interface RaftTiming {
  heartbeatMs: number;
  electionMs: number;
}

export const DEFAULT_TIMING: RaftTiming = { heartbeatMs: HEARTBEAT_MS, electionMs: ELECTION_MS };
/**
 * The Raft paper's Figure 16 region (150–300 ms election timeouts). etcd
 * refuses an election timeout under five heartbeats, so 30 ms heartbeats.
 */
export const FAST_TIMING: RaftTiming = { heartbeatMs: 30, electionMs: 150 };

export const sleepMs = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** How often each member is asked whether it leads, while a new leader is awaited. */
const NEW_LEADER_POLL_MS = 10;

/**
 * Poll every member on its own loop until one of them says yes; the epoch ms
 * of the first yes, or undefined after `timeoutMs`. A member that answers
 * slowly (restarting) delays only its own loop.
 */
export async function firstToReport<T>(members: readonly T[], timeoutMs: number, nowMs: () => number, reports: (member: T) => Promise<boolean>): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  let seenAtMs: number | undefined;
  await Promise.all(
    members.map(async (member) => {
      while (seenAtMs === undefined && Date.now() < deadline) {
        if (await reports(member)) {
          seenAtMs ??= nowMs();
          return;
        }
        await sleepMs(NEW_LEADER_POLL_MS);
      }
    }),
  );
  return seenAtMs;
}
