/**
 * Membership changes as pure functions from one configuration to the next, with the
 * validation etcd-io/raft's `confchange.Changer` does. A change either enters a joint
 * configuration (C_old,new: the incoming voters change, the old voters stay on as the
 * outgoing half), leaves one (the outgoing half is dropped), or, outside a joint
 * configuration, changes at most one voter directly ("simple", the Raft thesis §4.1).
 *
 * Every node applies the same committed changes in the same order, so a change this
 * module refuses is refused everywhere: the caller treats it as a no-op.
 */
import { NONE, type ConfChange, type ConfChangeV2, type ConfState, type NodeId } from './types.js';

/** One configuration: incoming voters, outgoing voters (joint only), learners, learners to be. */
export interface MembershipConfig {
  voters: Set<NodeId>;
  votersOutgoing: Set<NodeId>;
  learners: Set<NodeId>;
  /** Outgoing voters demoted by the joint change: learners once the joint configuration is left. */
  learnersNext: Set<NodeId>;
  /** Leave the joint configuration without waiting for the application to ask. */
  autoLeave: boolean;
}

export type ChangeResult = { ok: true; config: MembershipConfig } | { ok: false; error: string };

export function configFromConfState(cs: ConfState): MembershipConfig {
  return {
    voters: new Set(cs.voters),
    votersOutgoing: new Set(cs.votersOutgoing ?? []),
    learners: new Set(cs.learners),
    learnersNext: new Set(cs.learnersNext ?? []),
    autoLeave: cs.autoLeave === true && (cs.votersOutgoing?.length ?? 0) > 0,
  };
}

export function confStateFromConfig(cfg: MembershipConfig): ConfState {
  const sorted = (s: Set<NodeId>): NodeId[] => [...s].sort((a, b) => a - b);
  const cs: ConfState = { voters: sorted(cfg.voters), learners: sorted(cfg.learners) };
  if (isJoint(cfg)) {
    cs.votersOutgoing = sorted(cfg.votersOutgoing);
    cs.learnersNext = sorted(cfg.learnersNext);
    cs.autoLeave = cfg.autoLeave;
  }
  return cs;
}

export function isJoint(cfg: MembershipConfig): boolean {
  return cfg.votersOutgoing.size > 0;
}

/** Every node the configuration replicates to: voters of both halves and learners of both kinds. */
export function members(cfg: MembershipConfig): Set<NodeId> {
  return new Set([...cfg.voters, ...cfg.votersOutgoing, ...cfg.learners, ...cfg.learnersNext]);
}

function copy(cfg: MembershipConfig): MembershipConfig {
  return {
    voters: new Set(cfg.voters),
    votersOutgoing: new Set(cfg.votersOutgoing),
    learners: new Set(cfg.learners),
    learnersNext: new Set(cfg.learnersNext),
    autoLeave: cfg.autoLeave,
  };
}

/** Whether a V2 change enters a joint configuration, and if so whether it leaves it by itself (etcd's ConfChangeV2.EnterJoint). */
export function entersJoint(cc: ConfChangeV2): { joint: boolean; autoLeave: boolean } {
  if (cc.transition === 'auto' && cc.changes.length <= 1) return { joint: false, autoLeave: false };
  return { joint: true, autoLeave: cc.transition !== 'jointExplicit' };
}

/** An empty V2 change asks to leave the joint configuration. */
export function leavesJoint(cc: ConfChangeV2): boolean {
  return cc.changes.length === 0;
}

/** The configuration after `cc`, or why it is refused. */
export function applyChange(cfg: MembershipConfig, cc: ConfChangeV2): ChangeResult {
  if (leavesJoint(cc)) return leaveJoint(cfg);
  const { joint, autoLeave } = entersJoint(cc);
  return joint ? enterJoint(cfg, autoLeave, cc.changes) : simple(cfg, cc.changes);
}

/** Enter C_old,new: the current voters become the outgoing half, the changes make the incoming half. */
export function enterJoint(cfg: MembershipConfig, autoLeave: boolean, changes: ConfChange[]): ChangeResult {
  if (isJoint(cfg)) return { ok: false, error: 'config is already joint' };
  if (cfg.voters.size === 0) return { ok: false, error: "can't make a zero-voter config joint" };
  const next = copy(cfg);
  next.votersOutgoing = new Set(cfg.voters);
  const err = applyAll(next, changes);
  if (err) return { ok: false, error: err };
  next.autoLeave = autoLeave;
  return checked(next);
}

/** Leave C_old,new: drop the outgoing half; demoted voters become learners. */
export function leaveJoint(cfg: MembershipConfig): ChangeResult {
  if (!isJoint(cfg)) return { ok: false, error: "can't leave a non-joint config" };
  const next = copy(cfg);
  for (const id of next.learnersNext) next.learners.add(id);
  next.learnersNext = new Set();
  next.votersOutgoing = new Set();
  next.autoLeave = false;
  return checked(next);
}

/** Outside a joint configuration: changes that move at most one voter. */
export function simple(cfg: MembershipConfig, changes: ConfChange[]): ChangeResult {
  if (isJoint(cfg)) return { ok: false, error: "can't apply simple config change in joint config" };
  const next = copy(cfg);
  const err = applyAll(next, changes);
  if (err) return { ok: false, error: err };
  let moved = 0;
  for (const id of next.voters) if (!cfg.voters.has(id)) moved++;
  for (const id of cfg.voters) if (!next.voters.has(id)) moved++;
  if (moved > 1) return { ok: false, error: 'more than one voter changed without entering joint config' };
  return checked(next);
}

function applyAll(cfg: MembershipConfig, changes: ConfChange[]): string | undefined {
  for (const c of changes) {
    if (!Number.isInteger(c.nodeId) || c.nodeId <= NONE) return `bad node id ${c.nodeId}`;
    switch (c.type) {
      case 'addVoter':
        cfg.learners.delete(c.nodeId);
        cfg.learnersNext.delete(c.nodeId);
        cfg.voters.add(c.nodeId);
        break;
      case 'addLearner':
        cfg.voters.delete(c.nodeId);
        // Still a voter of the outgoing half: it may only become a learner when that half goes.
        if (cfg.votersOutgoing.has(c.nodeId)) cfg.learnersNext.add(c.nodeId);
        else cfg.learners.add(c.nodeId);
        break;
      case 'removeVoter':
        cfg.voters.delete(c.nodeId);
        cfg.learners.delete(c.nodeId);
        cfg.learnersNext.delete(c.nodeId);
        break;
      default:
        return `unknown conf change type ${String((c as { type: unknown }).type)}`;
    }
  }
  if (cfg.voters.size === 0) return 'removed all voters';
  return undefined;
}

/** The invariants etcd's changer checks after every change. */
function checked(cfg: MembershipConfig): ChangeResult {
  for (const id of cfg.learners) {
    if (cfg.voters.has(id) || cfg.votersOutgoing.has(id)) return { ok: false, error: `${id} is in learners and voters` };
  }
  for (const id of cfg.learnersNext) {
    if (!cfg.votersOutgoing.has(id)) return { ok: false, error: `${id} is in learnersNext, but not outgoing` };
    if (cfg.learners.has(id)) return { ok: false, error: `${id} is in learnersNext and learners` };
  }
  if (!isJoint(cfg) && (cfg.learnersNext.size > 0 || cfg.autoLeave)) return { ok: false, error: 'learnersNext or autoLeave outside a joint config' };
  return { ok: true, config: cfg };
}
