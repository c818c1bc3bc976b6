/**
 * Starting a replica group: names, Raft ids and arguments for N replicas, and
 * a status poll that both the CLI and tests use.
 */
import type { ActorSystem } from '../../actor/system.js';
import type { SupervisionOptions } from '../../actor/behaviour.js';
import { etcdReplica } from './behaviour.js';
import type { ConfChange, ConfChangeTransition } from '../../raft/types.js';
import type { MemberChangeReply, MemberListReply, ReplicaArgs, ReplicaStatus } from './protocol.js';
import type { GroupMembership } from './membership-file.js';

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
  /**
   * Start this membership instead of `replicas` founding members: the group as it was when a
   * process last ran it on the same data (see membership-file.ts). `replicas` is then ignored,
   * as etcd ignores `--initial-cluster` on a data dir that already has members.
   */
  membership?: GroupMembership;
  /**
   * Threaded runtime: each replica's young generation in MB (`SpawnOptions.youngGenerationMb`); default V8's (48 MB).
   * Not raised by default: a replica keeps most of what a write allocates (its Raft log entry until a snapshot, its
   * MVCC revision until a compaction), so a larger young generation meant fewer scavenges but each copying more
   * survivors: at 192 MB half the scavenges or fewer, each pausing the thread 2-4 times longer, and the sequential
   * put's p99 not told apart (issue 22, docs/kv-bench.md). Kept for measuring.
   */
  youngGenerationMb?: number;
}

export interface EtcdGroup {
  /** The replicas running now. */
  names: string[];
  /** Every id ever given a replica, removed ones included (ids are never reused), by actor name. */
  members: Record<number, string>;
  /** Actor names are `${namePrefix}-${id - 1}`. */
  namePrefix: string;
  /** The ids added after the founding (`addLearnerReplica`): they join empty if their disk is empty. */
  joined: number[];
}

/** Replica names for a group, in Raft id order. */
export function etcdGroupNames(replicas: number, namePrefix = 'etcd'): string[] {
  return Array.from({ length: replicas }, (_, i) => `${namePrefix}-${i}`);
}

export async function spawnEtcdGroup(system: ActorSystem, options: EtcdGroupOptions): Promise<EtcdGroup> {
  const recorded = options.membership;
  if (recorded === undefined && (!Number.isInteger(options.replicas) || options.replicas < 1 || options.replicas % 2 === 0)) {
    throw new Error(`an etcd group needs an odd number of replicas (1, 3, 5...), not ${options.replicas}`);
  }
  const namePrefix = recorded?.namePrefix ?? options.namePrefix ?? 'etcd';
  const members: Record<number, string> = {};
  let running: number[];
  if (recorded !== undefined) {
    Object.assign(members, recorded.members);
    running = [...recorded.running];
  } else {
    etcdGroupNames(options.replicas, namePrefix).forEach((name, i) => (members[i + 1] = name));
    running = Object.keys(members).map(Number);
  }
  const joined = [...(recorded?.joined ?? [])];
  // Each replica gets the members it was first started with: a founding one the founding members (its
  // bootstrap voters, should its disk be empty), a joined one those and itself. Ids beyond them resolve
  // by the naming rule. Handing a founding replica every id ever given would bootstrap removed and
  // joined members as voters.
  const founding: Record<number, string> = {};
  for (const [id, name] of Object.entries(members)) if (!joined.includes(Number(id))) founding[Number(id)] = name;
  for (const id of running) {
    const isJoined = joined.includes(id);
    await system.spawn(etcdReplica, {
      name: members[id]!,
      args: { ...options.replica, id, members: isJoined ? { ...founding, [id]: members[id]! } : founding, namePrefix, ...(isJoined ? { join: true } : {}) },
      supervision: options.supervision,
      placement: options.placement,
      youngGenerationMb: options.youngGenerationMb,
    });
  }
  return { names: running.map((id) => members[id]!), members, namePrefix, joined };
}

/** What `membership-file.ts` records of a running group. */
export function groupMembership(group: EtcdGroup): GroupMembership {
  const idOf = new Map(Object.entries(group.members).map(([id, name]) => [name, Number(id)]));
  return { namePrefix: group.namePrefix, members: { ...group.members }, running: group.names.map((name) => idOf.get(name)!), joined: [...group.joined] };
}

/** Ask each named replica in turn for a membership change until one that leads accepts or refuses it. */
export async function changeMembers(
  system: ActorSystem,
  names: readonly string[],
  changes: ConfChange[],
  options: { transition?: ConfChangeTransition; timeoutMs?: number } = {},
): Promise<MemberChangeReply> {
  let last: MemberChangeReply = { ok: false, error: 'no replica answered', leader: '' };
  const tried = new Set<string>();
  // Follow the leader hint first, then everyone else.
  const queue = [...names];
  while (queue.length > 0) {
    const name = queue.shift()!;
    if (tried.has(name)) continue;
    tried.add(name);
    try {
      last = await system.ref(name).ask<MemberChangeReply>({ type: 'memberChange', body: { changes, transition: options.transition } }, { timeoutMs: options.timeoutMs ?? 5_000 });
    } catch (error) {
      last = { ok: false, error: `${name}: ${error instanceof Error ? error.message : String(error)}`, leader: '' };
      continue;
    }
    if (last.ok || last.error !== 'not the leader') return last;
    if (last.leader !== '') queue.unshift(last.leader);
  }
  return last;
}

/**
 * The membership as the leader has applied it, or, with no leader to ask, as the first replica that answers.
 * Why the leader: a follower learns that a change committed only with the leader's next append, so its list can
 * lack a member the leader has just added and answered for (etcd serves `member list` through the leader too).
 */
export async function listMembers(system: ActorSystem, names: readonly string[], timeoutMs = 1_000): Promise<MemberListReply | undefined> {
  const ask = (name: string): Promise<MemberListReply | undefined> =>
    system.ref(name).ask<MemberListReply>({ type: 'memberList', body: null }, { timeoutMs }).catch(() => undefined);
  for (const name of names) {
    const reply = await ask(name);
    if (reply === undefined) continue;
    if (reply.leader === '' || reply.leader === name || !names.includes(reply.leader)) return reply;
    return (await ask(reply.leader)) ?? reply;
  }
  return undefined;
}

/**
 * etcd's `member add --learner`: start a replica with the next free id that joins empty, then
 * add it as a learner; it catches up by log or snapshot. Promote it with `changeMembers`
 * (`addVoter`) once in sync. Returns the new member's id and name; `group` is updated.
 */
export async function addLearnerReplica(
  system: ActorSystem,
  group: EtcdGroup,
  options: {
    replica?: Omit<ReplicaArgs, 'id' | 'members'>;
    supervision?: Partial<SupervisionOptions>;
    placement?: string;
    timeoutMs?: number;
    /** Called once the replica runs and `group` names it, before it is proposed (to record it first). */
    onSpawned?: (group: EtcdGroup) => void;
  } = {},
): Promise<{ id: number; name: string; reply: MemberChangeReply }> {
  const id = Math.max(...Object.keys(group.members).map(Number)) + 1;
  const name = `${group.namePrefix}-${id - 1}`;
  const members = { ...group.members, [id]: name };
  await system.spawn(etcdReplica, {
    name,
    args: { ...options.replica, id, members, namePrefix: group.namePrefix, join: true },
    supervision: options.supervision,
    placement: options.placement,
  });
  group.members[id] = name;
  group.names.push(name);
  group.joined.push(id);
  options.onSpawned?.(group);
  const reply = await changeMembers(system, group.names, [{ type: 'addLearner', nodeId: id }], { timeoutMs: options.timeoutMs });
  return { id, name, reply };
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

/**
 * Polls the group until one replica reports itself leader, at most `polls` times; `pause` waits between
 * polls (real time on threads, `sim.runFor` in the simulated runtime); `settle` drives each poll's answer (in the simulated
 * runtime `(p) => sim.settle(p, ...)`, which runs virtual time until the asks are answered). Undefined when none was seen.
 */
export async function awaitGroupLeader(
  system: ActorSystem,
  names: readonly string[],
  pause: () => Promise<void>,
  polls = 300,
  settle: <T>(answer: Promise<T>) => Promise<T> = (answer) => answer,
): Promise<ReplicaStatus | undefined> {
  for (let i = 0; i < polls; i++) {
    const found = (await settle(groupStatus(system, names))).find((s) => s?.role === 'leader');
    if (found !== undefined) return found;
    await pause();
  }
  return undefined;
}
