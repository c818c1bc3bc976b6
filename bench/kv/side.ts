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
  /** Every member up, one leader, everyone caught up. */
  waitHealthy(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/** The Raft timing both sides run with: etcd's defaults. */
export const HEARTBEAT_MS = 100;
export const ELECTION_MS = 1_000;

export const sleepMs = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
