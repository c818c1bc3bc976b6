/**
 * "At most one active leader per lease term", judged from what the replicas
 * of a leader-elected component did: each tells a recorder when it started
 * leading, when it stopped, and every write it made as leader. The record
 * lives outside the replicas, so it survives their deaths.
 *
 * Activity, not belief, is judged: a leader that was paused past its lease
 * still believes it leads when it wakes, but `isLeader()` checks the renew
 * deadline, so it writes nothing. A term therefore spans from its start to
 * its own last write; a write by anyone else inside that span means two
 * replicas acted at once. A write outside the writer's own terms means it
 * acted without leading. Pure.
 */
import type { Message } from '../actor/protocol.js';

export interface LeaderActivity {
  /** Which component's lease: 'kube-scheduler', 'kube-controller-manager'. */
  component: string;
  /** The actor (restarted incarnations share it). */
  actor: string;
  /** The lease identity: unique per incarnation (`<actor>_<random>`). */
  identity: string;
  /** The replica's clock (one process: one clock for all replicas). */
  atMs: number;
  what: 'started' | 'stopped' | 'write';
  /** For a write: what it was, for people (`bind default/web-1 node-2`). */
  detail?: string;
}

/** Told to a component's `recordTo` actor: the records one turn made, in the order made. */
export type LeaderActivityMsg = Message<'leader.activity', LeaderActivity[]>;

/**
 * A component's records leave for its recorder one message per turn, not one per record: a ReplicaSet's burst of
 * creates, or a scheduler's cycles of one turn (each in a continuation of the one before), made a message per write,
 * 587 of a 20-node bench run's 23,457 (docs/performance.md). The batch leaves from a chain of microtasks started by
 * its first record, once one hop of the chain has seen no new record: so behind the writes (each record is made
 * before its write is sent) and before the turn ends, since the microtask queue drains before the runtime's next
 * event. The simulated runtime kills or pauses an actor only between events, so a write that left has its record.
 * Only there (`batched`): a thread can be terminated between two microtasks, where a batch leaving after its writes
 * would let a write out in one frame and its record in the next, and a kill between them would lose the record. On
 * threads each record is sent at once, in the same outbox frame as the write made after it (so a kill loses both or
 * neither), and batching would save nothing: records there join the frame being written anyway.
 */
export function leaderActivitySender(send: (msg: LeaderActivityMsg) => void, batched: boolean): (record: LeaderActivity) => void {
  if (!batched) return (record) => send({ type: 'leader.activity', body: [record] });
  let batch: LeaderActivity[] | undefined;
  let seen = 0;
  const hop = (): void => {
    const body = batch!;
    if (body.length > seen) {
      // Records still coming (a loop of awaits): look again after them.
      seen = body.length;
      queueMicrotask(hop);
      return;
    }
    batch = undefined;
    seen = 0;
    send({ type: 'leader.activity', body });
  };
  return (record) => {
    if (batch !== undefined) {
      batch.push(record);
      return;
    }
    batch = [record];
    queueMicrotask(hop);
  };
}

export interface ActiveTerm {
  identity: string;
  startMs: number;
  /** When it stopped leading; undefined when it never said (killed, or still leading at the end). */
  stoppedMs: number | undefined;
  /** Its last write in the term (startMs when it wrote nothing): the end of its activity. */
  activeUntilMs: number;
  writes: number;
}

export interface ActivityProblem {
  kind: 'overlap' | 'outside-term';
  identity: string;
  atMs: number;
  detail?: string;
  /** overlap: the identity whose term the write fell in. */
  other?: string;
}

export interface ActivityJudgement {
  terms: ActiveTerm[];
  writes: number;
  problems: ActivityProblem[];
}

/** Judge one component's records (filter by `component` first when a recorder holds several). */
export function judgeLeaderActivity(records: readonly LeaderActivity[]): ActivityJudgement {
  const sorted = [...records].sort((a, b) => a.atMs - b.atMs);
  const terms: ActiveTerm[] = [];
  const open = new Map<string, ActiveTerm>();
  const problems: ActivityProblem[] = [];
  const writes: Array<{ record: LeaderActivity; term: ActiveTerm | undefined }> = [];
  for (const r of sorted) {
    if (r.what === 'started') {
      const term: ActiveTerm = { identity: r.identity, startMs: r.atMs, stoppedMs: undefined, activeUntilMs: r.atMs, writes: 0 };
      terms.push(term);
      open.set(r.identity, term);
    } else if (r.what === 'stopped') {
      const term = open.get(r.identity);
      if (term !== undefined) term.stoppedMs = r.atMs;
      open.delete(r.identity);
    } else {
      const term = open.get(r.identity);
      if (term === undefined) {
        problems.push({ kind: 'outside-term', identity: r.identity, atMs: r.atMs, ...(r.detail !== undefined ? { detail: r.detail } : {}) });
      } else {
        term.writes++;
        term.activeUntilMs = r.atMs;
      }
      writes.push({ record: r, term });
    }
  }
  for (const { record, term } of writes) {
    if (term === undefined) continue;
    const other = terms.find((t) => t.identity !== record.identity && t.startMs <= record.atMs && record.atMs <= t.activeUntilMs);
    if (other !== undefined) {
      problems.push({ kind: 'overlap', identity: record.identity, atMs: record.atMs, other: other.identity, ...(record.detail !== undefined ? { detail: record.detail } : {}) });
    }
  }
  return { terms, writes: writes.length, problems };
}

/** One line per problem, for check summaries and assertion messages. */
export function describeActivityProblem(p: ActivityProblem): string {
  const what = p.detail !== undefined ? ` (${p.detail})` : '';
  return p.kind === 'overlap'
    ? `${p.identity} wrote at ${Math.round(p.atMs)} ms${what} while ${p.other} was acting as leader`
    : `${p.identity} wrote at ${Math.round(p.atMs)} ms${what} outside any term of its own`;
}
