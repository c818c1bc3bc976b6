/**
 * Shape check of Raft messages arriving from the wire. Raft asserts its
 * invariants loudly, so a malformed message must be stopped here, where it is
 * input, not reach the state machine, where it would look like a bug.
 */
import type { Message } from '../../raft/protocol.js';
import type { SnapshotChunk } from './snapshot-transfer.js';

const nat = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const bool = (v: unknown): v is boolean => typeof v === 'boolean';
const str = (v: unknown): v is string => typeof v === 'string';

function isEntry(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Record<string, unknown>;
  return nat(e.term) && nat(e.index) && (e.type === 'normal' || e.type === 'confChange') && e.data instanceof Uint8Array;
}

function isSnapshot(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return false;
  const s = v as { metadata?: Record<string, unknown>; data?: unknown };
  const m = s.metadata;
  if (typeof m !== 'object' || m === null || !nat(m.index) || !nat(m.term)) return false;
  const cs = m.confState as { voters?: unknown; learners?: unknown; votersOutgoing?: unknown; learnersNext?: unknown; autoLeave?: unknown } | undefined;
  const optionalIds = (x: unknown): boolean => x === undefined || (Array.isArray(x) && x.every(nat));
  return (
    typeof cs === 'object' && cs !== null && Array.isArray(cs.voters) && cs.voters.every(nat) && Array.isArray(cs.learners) && cs.learners.every(nat) &&
    optionalIds(cs.votersOutgoing) && optionalIds(cs.learnersNext) && (cs.autoLeave === undefined || typeof cs.autoLeave === 'boolean') &&
    s.data instanceof Uint8Array
  );
}

export function isRaftMessage(v: unknown): v is Message {
  if (typeof v !== 'object' || v === null) return false;
  const m = v as Record<string, unknown>;
  if (!nat(m.from) || !nat(m.to) || !nat(m.term) || m.from === 0 || m.to === 0) return false;
  switch (m.type) {
    case 'msgApp':
      return nat(m.index) && nat(m.logTerm) && nat(m.commit) && Array.isArray(m.entries) && m.entries.every(isEntry);
    case 'msgAppResp':
      return nat(m.index) && bool(m.reject) && nat(m.rejectHint) && nat(m.logTerm);
    case 'msgVote':
    case 'msgPreVote':
      return nat(m.index) && nat(m.logTerm) && bool(m.transfer);
    case 'msgVoteResp':
    case 'msgPreVoteResp':
      return bool(m.reject) && (m.commit === undefined || nat(m.commit)) && (m.commitTerm === undefined || nat(m.commitTerm));
    case 'msgHeartbeat':
      return nat(m.commit) && str(m.context) && nat(m.sentTick);
    case 'msgHeartbeatResp':
      return str(m.context) && nat(m.sentTick);
    case 'msgSnap':
      return isSnapshot(m.snapshot);
    case 'msgTimeoutNow':
      return true;
    case 'msgReadIndex':
      return str(m.context);
    case 'msgReadIndexResp':
      return nat(m.index) && str(m.context);
    case 'msgTransferLeader':
      return nat(m.transferee);
    default:
      return false;
  }
}

/** Shape check of a snapshot chunk (snapshot-transfer.ts): its header must be a valid msgSnap without the data. */
export function isSnapshotChunk(v: unknown): v is SnapshotChunk {
  if (typeof v !== 'object' || v === null) return false;
  const c = v as Record<string, unknown>;
  if (!str(c.transfer) || !nat(c.seq) || !nat(c.offset) || !nat(c.total) || !(c.bytes instanceof Uint8Array)) return false;
  const header = c.header as { type?: unknown; snapshot?: unknown } | null;
  if (typeof header !== 'object' || header === null || header.type !== 'msgSnap' || typeof header.snapshot !== 'object' || header.snapshot === null) return false;
  return isRaftMessage({ ...header, snapshot: { ...header.snapshot, data: new Uint8Array(0) } });
}
