/**
 * The control endpoint of a running `kubethreads etcd`, and the client that
 * `kubethreads etcd member list|add|promote|remove` uses: HTTP on 127.0.0.1 at a
 * port the OS picks, guarded by a bearer token; both are written to
 * `control.json` in the data dir (mode 0600), so only whoever can read the
 * data dir can change the membership, as with etcd's own data dir.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { ActorSystem } from '../actor/system.js';
import { addLearnerReplica, changeMembers, groupMembership, listMembers, type EtcdGroup } from '../kv/replica/group.js';
import { writeMembershipFile } from '../kv/replica/membership-file.js';
import type { MemberInfo, ReplicaArgs } from '../kv/replica/protocol.js';

export const CONTROL_FILE = 'control.json';
/** A request body larger than this is refused: the control API takes a member id at most. */
const CONTROL_BODY_BYTES_MAX = 4096;
/** How long one membership change may take before the CLI reports it as unknown. */
const CONTROL_CHANGE_TIMEOUT_MS = 10_000;

export type MemberVerb = 'list' | 'add' | 'promote' | 'remove';
export const MEMBER_VERBS: readonly MemberVerb[] = ['list', 'add', 'promote', 'remove'];

/** What the endpoint answers: the membership after the change, or why it failed. */
export type ControlReply = { ok: true; message: string; members: MemberInfo[]; leader: string } | { ok: false; error: string };

interface ControlFile {
  port: number;
  token: string;
}

/** Serve the control endpoint for `group`; close it with the returned function. */
export async function serveEtcdControl(system: ActorSystem, group: EtcdGroup, dataDir: string, replica: Omit<ReplicaArgs, 'id' | 'members'>): Promise<() => Promise<void>> {
  const token = randomBytes(24).toString('hex');
  const server: Server = createServer((req, res) => {
    void handle(req).then((reply) => {
      res.writeHead(reply.ok ? 200 : reply.error === 'unauthorized' ? 401 : 400, { 'content-type': 'application/json' });
      res.end(JSON.stringify(reply));
    });
  });
  async function handle(req: IncomingMessage): Promise<ControlReply> {
    if (req.headers.authorization !== `Bearer ${token}`) return { ok: false, error: 'unauthorized' };
    let body = '';
    for await (const chunk of req) {
      body += String(chunk);
      if (body.length > CONTROL_BODY_BYTES_MAX) return { ok: false, error: 'request too large' };
    }
    let parsed: { verb?: unknown; id?: unknown };
    try {
      parsed = JSON.parse(body) as { verb?: unknown; id?: unknown };
    } catch {
      return { ok: false, error: 'the request is not JSON' };
    }
    try {
      return await runVerb(system, group, replica, parsed.verb, parsed.id, () => writeMembershipFile(dataDir, groupMembership(group)));
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error.message : String(error) };
    }
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const file = join(dataDir, CONTROL_FILE);
  writeFileSync(file, JSON.stringify({ port, token } satisfies ControlFile), { mode: 0o600 });
  return async () => {
    rmSync(file, { force: true });
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}

/** `record` writes the running set to the data dir's members.json, so a restart starts the same replicas. */
async function runVerb(system: ActorSystem, group: EtcdGroup, replica: Omit<ReplicaArgs, 'id' | 'members'>, verb: unknown, id: unknown, record: () => void): Promise<ControlReply> {
  const list = async (message: string): Promise<ControlReply> => {
    const members = await listMembers(system, group.names);
    return members === undefined ? { ok: false, error: 'no replica answered' } : { ok: true, message, members: members.members, leader: members.leader };
  };
  if (verb === 'list') return list('');
  if (verb === 'add') {
    const added = await addLearnerReplica(system, group, { replica, timeoutMs: CONTROL_CHANGE_TIMEOUT_MS, onSpawned: record });
    if (!added.reply.ok) return { ok: false, error: `member ${added.id} (${added.name}) started, but adding it failed: ${added.reply.error}` };
    return list(`Member ${added.id} added to cluster as learner (${added.name})`);
  }
  if (verb !== 'promote' && verb !== 'remove') return { ok: false, error: `unknown verb ${String(verb)}; known: ${MEMBER_VERBS.join(', ')}` };
  if (typeof id !== 'number' || !Number.isInteger(id) || id <= 0) return { ok: false, error: `${verb} needs a member id (a positive integer)` };
  const current = await listMembers(system, group.names);
  const member = current?.members.find((m) => m.id === id);
  if (member === undefined) return { ok: false, error: `no member ${id}` };
  const name = member.name;
  const reply = await changeMembers(system, group.names, [{ type: verb === 'promote' ? 'addVoter' : 'removeVoter', nodeId: id }], { timeoutMs: CONTROL_CHANGE_TIMEOUT_MS });
  if (!reply.ok) return { ok: false, error: reply.error };
  if (verb === 'remove') {
    // etcd's server stops a member once it is removed; ours is an actor of this process.
    // Its id stays in group.members, so it is never given to another member (etcd never reuses one).
    await system.stop(name).catch(() => undefined);
    group.names.splice(group.names.indexOf(name), 1);
    record();
    return list(`Member ${id} removed from cluster (${name})`);
  }
  return list(`Member ${id} promoted (${name})`);
}

/** `kubethreads etcd member VERB [ID]`: ask the `kubethreads etcd` whose data dir is `dataDir`. */
export async function requestEtcdControl(dataDir: string, verb: MemberVerb, id?: number): Promise<ControlReply> {
  let control: ControlFile;
  try {
    control = JSON.parse(readFileSync(join(dataDir, CONTROL_FILE), 'utf8')) as ControlFile;
  } catch {
    return { ok: false, error: `no running kubethreads etcd found: ${join(dataDir, CONTROL_FILE)} is missing or unreadable (start one with --data-dir ${dataDir})` };
  }
  const body = JSON.stringify({ verb, id });
  return new Promise<ControlReply>((resolve) => {
    const req = httpRequest(
      { host: '127.0.0.1', port: control.port, method: 'POST', path: '/members', headers: { authorization: `Bearer ${control.token}`, 'content-type': 'application/json' }, timeout: CONTROL_CHANGE_TIMEOUT_MS * 2 },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => {
          try {
            resolve(JSON.parse(text) as ControlReply);
          } catch {
            resolve({ ok: false, error: `the control endpoint answered ${res.statusCode ?? '?'} with something that is not JSON` });
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (error) => resolve({ ok: false, error: `cannot reach kubethreads etcd on 127.0.0.1:${control.port}: ${error.message} (is it still running?)` }));
    req.end(body);
  });
}

/** etcdctl-like lines: the message, then one line per member. */
export function formatControlReply(reply: ControlReply): string[] {
  if (!reply.ok) return [`Error: ${reply.error}`];
  const lines = reply.message === '' ? [] : [reply.message];
  for (const m of reply.members) lines.push(`${m.id}, started, ${m.name}, ${m.isLearner ? 'learner' : 'voter'}${m.name === reply.leader ? ', leader' : ''}`);
  return lines;
}
