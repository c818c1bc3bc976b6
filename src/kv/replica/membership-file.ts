/**
 * `members.json` in a `kubethreads etcd` data dir: which replicas to start
 * when the command is started again on that dir.
 *
 * Raft's configuration (in each replica's WAL and snapshot) is the truth about
 * who votes; this file only says which replica actors this process must spawn
 * so that configuration can run, and which of them joined after the founding
 * (a joined replica whose disk is empty must join empty, never bootstrap the
 * founding voters). etcd keeps the same split: `--initial-cluster` is read
 * only when the data dir is new; afterwards the member list comes from the
 * cluster's own state.
 *
 * Written atomically (temporary file, then rename) after every change of the
 * running set, before a new member is proposed and after a removed one is
 * stopped, so a crash between the two leaves at worst a learner nobody runs
 * (listed by `member list`; remove it) or a removed replica started again
 * (outside the configuration, it cannot campaign).
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const MEMBERSHIP_FILE = 'members.json';

/** The replica actors of one group, as the file records them. */
export interface GroupMembership {
  /** Actor names are `${namePrefix}-${id - 1}`. */
  namePrefix: string;
  /** Every id ever given a replica (removed ones included: ids are never reused), with its actor name. */
  members: Record<number, string>;
  /** The ids whose replicas run (not removed), ascending. */
  running: number[];
  /** The ids added after the founding (they join empty when their disk is empty). */
  joined: number[];
}

interface MembershipFileV1 extends GroupMembership {
  version: 1;
}

/** Write `membership` to `dir/members.json` atomically. */
export function writeMembershipFile(dir: string, membership: GroupMembership): void {
  const file = join(dir, MEMBERSHIP_FILE);
  const body: MembershipFileV1 = { version: 1, ...membership, running: [...membership.running].sort((a, b) => a - b), joined: [...membership.joined].sort((a, b) => a - b) };
  writeFileSync(`${file}.tmp`, `${JSON.stringify(body, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
}

/**
 * The membership recorded in `dir`, `undefined` when there is none (a new data dir).
 * A file that is there but not a membership this code wrote is an error that says what to do:
 * guessing would start the wrong replicas on someone's data.
 */
export function readMembershipFile(dir: string): GroupMembership | undefined {
  const file = join(dir, MEMBERSHIP_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return parseMembership(text, file);
}

/** Parse and check a membership file's text; `file` names it in errors. */
export function parseMembership(text: string, file: string): GroupMembership {
  const fail = (why: string): never => {
    throw new Error(`${file}: ${why}; it records which replicas this data dir runs (remove the file only if the data dir holds no replica added or removed since it was made)`);
  };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return fail('not JSON');
  }
  if (raw === null || typeof raw !== 'object') return fail('not an object');
  const o = raw as Record<string, unknown>;
  if (o.version !== 1) return fail(`unknown version ${JSON.stringify(o.version)} (this kubethreads reads version 1)`);
  if (typeof o.namePrefix !== 'string' || o.namePrefix === '') return fail('namePrefix must be a non-empty string');
  if (o.members === null || typeof o.members !== 'object' || Array.isArray(o.members)) return fail('members must be an object of id to name');
  const members: Record<number, string> = {};
  for (const [key, name] of Object.entries(o.members as Record<string, unknown>)) {
    const id = Number(key);
    if (!Number.isInteger(id) || id <= 0) fail(`member id ${JSON.stringify(key)} is not a positive integer`);
    if (typeof name !== 'string' || name === '') fail(`member ${key} has no name`);
    members[id] = name as string;
  }
  const ids = (field: 'running' | 'joined'): number[] => {
    const list = o[field];
    if (!Array.isArray(list)) return fail(`${field} must be a list of member ids`);
    for (const id of list) if (typeof id !== 'number' || members[id] === undefined) fail(`${field} names ${JSON.stringify(id)}, which is not among the members`);
    return [...new Set(list as number[])].sort((a, b) => a - b);
  };
  const running = ids('running');
  if (running.length === 0) fail('no replica is running');
  return { namePrefix: o.namePrefix, members, running, joined: ids('joined') };
}
