/**
 * The leader's view of lease expiry. Not replicated, as in etcd: keep-alives
 * go to the leader and only move an in-memory deadline; when a deadline
 * passes, the leader proposes a `leaseRevoke` through Raft, and every replica
 * deletes the lease's keys in the same revision when it applies it.
 * Time is an argument (`nowMs`), never read here.
 */
import type { MvccStore } from './store.js';

/** Revocations proposed per check: a burst of expiries must not flood the Raft log in one go (etcd: leaseRevokeRate). */
export const LEASE_REVOKES_PER_CHECK_MAX = 1000;

export class LeaseClock {
  private readonly deadlinesMs = new Map<number, number>();

  constructor(private readonly store: MvccStore) {}

  /**
   * Call when this node becomes leader: every lease gets a full TTL from now,
   * because the old leader's deadlines are unknown here (etcd's Promote).
   */
  promote(nowMs: number): void {
    this.deadlinesMs.clear();
    for (const id of this.store.leaseIds()) this.deadlinesMs.set(id, nowMs + this.store.lease(id)!.ttlSeconds * 1000);
  }

  /** Renews a lease; returns its TTL in seconds, or undefined when the store has no such lease. */
  keepAlive(id: number, nowMs: number): number | undefined {
    const lease = this.store.lease(id);
    if (lease === undefined) {
      this.deadlinesMs.delete(id);
      return undefined;
    }
    this.deadlinesMs.set(id, nowMs + lease.ttlSeconds * 1000);
    return lease.ttlSeconds;
  }

  /** Seconds left, rounded up (0 once expired); undefined when the store has no such lease. */
  remainingSeconds(id: number, nowMs: number): number | undefined {
    const lease = this.store.lease(id);
    if (lease === undefined) return undefined;
    const deadlineMs = this.deadline(id, nowMs, lease.ttlSeconds);
    return Math.max(0, Math.ceil((deadlineMs - nowMs) / 1000));
  }

  /**
   * Leases whose deadline has passed, oldest deadline first, at most
   * LEASE_REVOKES_PER_CHECK_MAX. The leader proposes a revoke for each; they
   * stay listed until the revoke is applied (so a lost proposal is retried).
   */
  expired(nowMs: number): number[] {
    const due: Array<[number, number]> = [];
    for (const id of this.store.leaseIds()) {
      const deadlineMs = this.deadline(id, nowMs, this.store.lease(id)!.ttlSeconds);
      if (deadlineMs <= nowMs) due.push([deadlineMs, id]);
    }
    for (const id of [...this.deadlinesMs.keys()]) if (this.store.lease(id) === undefined) this.deadlinesMs.delete(id);
    due.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    return due.slice(0, LEASE_REVOKES_PER_CHECK_MAX).map(([, id]) => id);
  }

  /** A lease granted since `promote` starts its TTL when this clock first sees it. */
  private deadline(id: number, nowMs: number, ttlSeconds: number): number {
    let deadlineMs = this.deadlinesMs.get(id);
    if (deadlineMs === undefined) {
      deadlineMs = nowMs + ttlSeconds * 1000;
      this.deadlinesMs.set(id, deadlineMs);
    }
    return deadlineMs;
  }
}
