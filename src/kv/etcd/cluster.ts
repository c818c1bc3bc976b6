/**
 * A real etcd cluster of N members on loopback, started from the installed
 * binary: for `kubethreads up --store etcd`, for chaos runs against etcd and
 * for the kv benchmark. Free ports, the caller's heartbeat and election
 * timeout, data under one directory (temporary, or the caller's to keep).
 *
 * Only the processes it started are ever signalled. Every one of them is
 * killed by `stop()`, on process exit, and (unless the owner handles signals
 * itself) on Ctrl-C or SIGTERM; a small watchdog process kills them too if
 * this process dies without a chance to clean up (kill -9, a crash).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ReplicaStatus } from '../replica/protocol.js';
import { guardChild, guardDir, releaseChild, releaseDir } from './exit-guard.js';

export interface EtcdClusterOptions {
  members: number;
  heartbeatMs: number;
  electionMs: number;
  /** The etcd binary (default: `etcd` on the PATH). */
  binary?: string;
  /**
   * Keep the members' data here (created if missing; reused with the same ports on the next start).
   * Absent: a temporary directory, removed by `stop()`.
   */
  dataDir?: string;
  /** Member names are `<prefix><index>` (default `etcd-`, the names of kubethreads' own replicas). */
  namePrefix?: string;
  /** Also clean up on Ctrl-C / SIGTERM (default true; false when the owner drains on signals itself). */
  cleanOnSignals?: boolean;
}

/** One member's view, from its maintenance status. */
export interface EtcdMemberStatus {
  index: number;
  name: string;
  memberId: string;
  /** Member id of the leader it knows, '0' when none. */
  leader: string;
  raftTerm: number;
  raftIndex: number;
  raftAppliedIndex: number;
  /** The store's revision as this member serves it. */
  revision: number;
  version: string;
}

/**
 * How long a status request may take before the member counts as not answering. Generous: a member this
 * cluster paused or killed is known to be down without asking, so only a live member on a loaded machine waits.
 */
const STATUS_TIMEOUT_MS = 2_000;
/** How long a fresh or restarted member gets to start serving. */
const START_TIMEOUT_MS = 20_000;
/** Starts of a fresh cluster before its start fails (`EtcdCluster.start`). */
const START_ATTEMPTS = 3;
/** How long `stop` waits for a killed process to be reaped. */
const EXIT_WAIT_MS = 5_000;
const POLL_MS = 10;
/** How often the watchdog checks that this process still lives. */
const WATCHDOG_PERIOD_S = 1;
/** The file, in the cluster's directory, that keeps the ports of a kept data directory. */
const PORTS_FILE = 'ports.json';
/** The file listing the live members' pids, which the watchdog kills when this process is gone. */
const PIDS_FILE = 'pids';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The etcd binary's version line, or undefined when there is no etcd to run. */
export function etcdVersion(binary = 'etcd'): string | undefined {
  const result = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (result.error !== undefined || result.status !== 0) return undefined;
  const match = /etcd Version:\s*(\S+)/.exec(result.stdout);
  return match?.[1] ?? result.stdout.split('\n')[0]?.trim();
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

interface Member {
  name: string;
  clientPort: number;
  peerPort: number;
  dataDir: string;
  logFile: string;
  process: ChildProcess | undefined;
  exited: Promise<void>;
  paused: boolean;
}

export class EtcdCluster {
  readonly dir: string;
  private readonly members: Member[] = [];
  private readonly temporary: boolean;
  private readonly cleanOnSignals: boolean;
  private watchdog: ChildProcess | undefined;
  private readonly memberNames = new Map<string, string>();
  private stopped = false;

  private constructor(private readonly options: EtcdClusterOptions, dir: string, temporary: boolean) {
    this.dir = dir;
    this.temporary = temporary;
    this.cleanOnSignals = options.cleanOnSignals ?? true;
  }

  /**
   * Start every member and wait until they agree on a leader, every member running. A fresh cluster whose start
   * fails — a member that exits (the free port it was given taken by another process between our probe and its
   * bind), or no healthy quorum in time — is stopped, its members' data removed, and started again on fresh
   * ports, up to START_ATTEMPTS times: a quorum of two with the third member dead would otherwise pass for a start.
   * A kept directory's cluster keeps its ports and data: its start fails at once.
   */
  static async start(options: EtcdClusterOptions): Promise<EtcdCluster> {
    if (!Number.isInteger(options.members) || options.members < 1) throw new Error(`an etcd cluster needs at least one member, not ${options.members}`);
    const kept = options.dataDir !== undefined && fs.existsSync(path.join(path.resolve(options.dataDir), PORTS_FILE));
    for (let attempt = 1; ; attempt++) {
      try {
        return await EtcdCluster.startOnce(options);
      } catch (error) {
        if (kept || attempt >= START_ATTEMPTS) throw error;
        if (options.dataDir !== undefined) {
          // What this attempt created, so the next one starts fresh (a temporary directory is gone with stop()).
          const dir = path.resolve(options.dataDir);
          fs.rmSync(path.join(dir, PORTS_FILE), { force: true });
          const prefix = options.namePrefix ?? 'etcd-';
          for (let i = 0; i < options.members; i++) fs.rmSync(path.join(dir, `${prefix}${i}`), { recursive: true, force: true });
        }
        process.stderr.write(`etcd: the cluster did not start (attempt ${attempt} of ${START_ATTEMPTS}), starting it again on fresh ports: ${(error instanceof Error ? error.message : String(error)).split('\n')[0]}\n`);
      }
    }
  }

  private static async startOnce(options: EtcdClusterOptions): Promise<EtcdCluster> {
    const temporary = options.dataDir === undefined;
    const dir = options.dataDir === undefined ? fs.mkdtempSync(path.join(os.tmpdir(), 'kubethreads-etcd-')) : path.resolve(options.dataDir);
    fs.mkdirSync(dir, { recursive: true });
    const cluster = new EtcdCluster(options, dir, temporary);
    if (temporary) guardDir(dir, cluster.cleanOnSignals);
    try {
      const ports = await cluster.ports();
      const prefix = options.namePrefix ?? 'etcd-';
      for (let i = 0; i < options.members; i++) {
        const name = `${prefix}${i}`;
        cluster.members.push({
          name, clientPort: ports[i]!.client, peerPort: ports[i]!.peer, dataDir: path.join(dir, name),
          logFile: path.join(dir, `${name}.log`), process: undefined, exited: Promise.resolve(), paused: false,
        });
      }
      for (let i = 0; i < options.members; i++) cluster.launch(i);
      cluster.startWatchdog();
      await cluster.waitHealthy(START_TIMEOUT_MS);
      // waitHealthy leaves out members that are not running (a restart test's killed one): at start, every member must run.
      const down = cluster.members.filter((m) => m.process === undefined).map((m) => m.name);
      if (down.length > 0) throw new Error(`etcd member${down.length > 1 ? 's' : ''} ${down.join(', ')} exited while the cluster started`);
      return cluster;
    } catch (error) {
      const logs = cluster.logTails();
      await cluster.stop();
      throw new Error(`${error instanceof Error ? error.message : String(error)}\n${logs}`);
    }
  }

  /** Fresh ports, or for a kept directory the ports its members were created with (their peer URLs live in their data). */
  private async ports(): Promise<Array<{ client: number; peer: number }>> {
    const file = path.join(this.dir, PORTS_FILE);
    if (!this.temporary && fs.existsSync(file)) {
      const kept = JSON.parse(fs.readFileSync(file, 'utf8')) as Array<{ client: number; peer: number }>;
      if (kept.length !== this.options.members) {
        throw new Error(`${this.dir} holds an etcd cluster of ${kept.length} members, not ${this.options.members}: use another data directory`);
      }
      return kept;
    }
    const fresh: Array<{ client: number; peer: number }> = [];
    for (let i = 0; i < this.options.members; i++) fresh.push({ client: await freePort(), peer: await freePort() });
    if (!this.temporary) fs.writeFileSync(file, JSON.stringify(fresh));
    return fresh;
  }

  /** The last lines of every member's log, for an error message (a temporary directory is removed on stop). */
  logTails(lines = 5): string {
    return this.members
      .map((m) => {
        const text = fs.existsSync(m.logFile) ? fs.readFileSync(m.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') : '(no log)';
        return `--- ${m.name}:\n${text}`;
      })
      .join('\n');
  }

  get size(): number {
    return this.members.length;
  }

  /** The members' names, in index order. */
  get names(): string[] {
    return this.members.map((m) => m.name);
  }

  indexOf(name: string): number {
    return this.members.findIndex((m) => m.name === name);
  }

  clientUrl(index: number): string {
    return `http://127.0.0.1:${this.members[index]!.clientPort}`;
  }

  clientUrls(): string[] {
    return this.members.map((_, i) => this.clientUrl(i));
  }

  /** The member's process id while it runs (paused or not). */
  pid(index: number): number | undefined {
    return this.members[index]!.process?.pid;
  }

  running(index: number): boolean {
    return this.members[index]!.process !== undefined;
  }

  paused(index: number): boolean {
    return this.members[index]!.paused;
  }

  private launch(index: number): void {
    const m = this.members[index]!;
    const initialCluster = this.members.map((x) => `${x.name}=http://127.0.0.1:${x.peerPort}`).join(',');
    const args = [
      '--name', m.name, '--data-dir', m.dataDir,
      '--listen-client-urls', this.clientUrl(index), '--advertise-client-urls', this.clientUrl(index),
      '--listen-peer-urls', `http://127.0.0.1:${m.peerPort}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${m.peerPort}`,
      // Ignored by etcd once the member's data directory holds a WAL: a restart rejoins as itself.
      '--initial-cluster', initialCluster, '--initial-cluster-state', 'new', '--initial-cluster-token', 'kubethreads',
      '--heartbeat-interval', String(this.options.heartbeatMs), '--election-timeout', String(this.options.electionMs),
      // kubethreads' Raft runs with pre-vote (etcd 3.5's default; 3.4 needs the flag); check-quorum is always on in etcd.
      '--pre-vote',
      '--logger', 'zap', '--log-level', 'warn',
    ];
    const log = fs.openSync(m.logFile, 'a');
    // Its own process group: a Ctrl-C in the terminal reaches kubethreads, which drains the cluster before it stops etcd.
    const child = spawn(this.options.binary ?? 'etcd', args, { stdio: ['ignore', log, log], detached: true });
    fs.closeSync(log);
    guardChild(child, this.cleanOnSignals);
    m.process = child;
    m.paused = false;
    m.exited = new Promise<void>((resolve) => {
      const gone = (): void => {
        releaseChild(child);
        if (m.process === child) {
          m.process = undefined;
          m.paused = false;
        }
        this.writePids();
        resolve();
      };
      child.once('exit', gone);
      child.once('error', gone);
    });
    this.writePids();
  }

  private writePids(): void {
    if (this.stopped && this.members.every((m) => m.process === undefined)) return;
    const pids = this.members.flatMap((m) => (m.process?.pid === undefined ? [] : [m.process.pid]));
    try {
      fs.writeFileSync(path.join(this.dir, PIDS_FILE), pids.join(' '));
    } catch {
      // The directory is being removed by stop(): the watchdog is gone with it.
    }
  }

  /**
   * A detached shell that outlives a kill -9 of this process: once our pid is gone it kills the members listed
   * in the pids file (rewritten at every start and exit of a member) and removes a temporary directory.
   */
  private startWatchdog(): void {
    const pidsFile = path.join(this.dir, PIDS_FILE);
    const script =
      `while kill -0 ${process.pid} 2>/dev/null; do sleep ${WATCHDOG_PERIOD_S}; done; ` +
      `[ -f "$1" ] && kill -9 $(cat "$1") 2>/dev/null; ${this.temporary ? 'rm -rf "$2"' : 'true'}`;
    const watchdog = spawn('/bin/sh', ['-c', script, 'etcd-watchdog', pidsFile, this.dir], { stdio: 'ignore', detached: true });
    watchdog.on('error', () => undefined);
    watchdog.unref();
    this.watchdog = watchdog;
  }

  /** One member's status, or undefined when it does not answer in time. */
  async status(index: number): Promise<EtcdMemberStatus | undefined> {
    if (this.members[index]!.process === undefined || this.members[index]!.paused) return undefined;
    return memberStatus(this.clientUrl(index), index, this.members[index]!.name);
  }

  async statuses(): Promise<Array<EtcdMemberStatus | undefined>> {
    const all = await Promise.all(this.members.map((_, i) => this.status(i)));
    for (const s of all) if (s !== undefined && s.memberId !== '') this.memberNames.set(s.memberId, s.name);
    return all;
  }

  /** Member ids seen so far, by name: a leader named by id is still named while it is down. */
  get namesById(): ReadonlyMap<string, string> {
    return this.memberNames;
  }

  /** The leader's index and term, as a member that answers reports it; undefined while there is none. */
  async leader(): Promise<{ index: number; term: number } | undefined> {
    return leaderOf(await this.statuses());
  }

  /** Every running member answers, all name the same leader, and each has applied what the leader had when asked. */
  async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no status yet';
    while (Date.now() < deadline) {
      const all = (await this.statuses()).filter((s, i) => s !== undefined || (this.running(i) && !this.paused(i)));
      const leaders = new Set(all.map((s) => s?.leader));
      const leaderStatus = all.find((s) => s !== undefined && s.memberId === s.leader);
      if (all.every((s) => s !== undefined) && leaders.size === 1 && leaderStatus !== undefined) {
        if (all.every((s) => s!.raftAppliedIndex >= leaderStatus.raftIndex - 1)) return;
        last = `members catching up: applied ${all.map((s) => s!.raftAppliedIndex).join('/')} of ${leaderStatus.raftIndex}`;
      } else {
        last = `statuses: ${all.map((s) => (s === undefined ? 'down' : `${s.memberId === s.leader ? 'leader' : 'follower'} term ${s.raftTerm}`)).join(', ')}`;
      }
      await sleep(POLL_MS * 5);
    }
    throw new Error(`etcd cluster in ${this.dir} not healthy within ${timeoutMs} ms (${last}); the members' logs follow`);
  }

  /** Poll the members until one leads in a term after `term`; resolves with the epoch time it was seen. */
  async waitNewLeader(term: number, timeoutMs: number, nowMs: () => number): Promise<number> {
    // Each member on its own loop: a round waiting on the restarting member's status saw the new leader late.
    const deadline = Date.now() + timeoutMs;
    let seenAtMs: number | undefined;
    await Promise.all(
      this.members.map(async (_, index) => {
        while (seenAtMs === undefined && Date.now() < deadline) {
          const s = await this.status(index);
          if (s !== undefined && s.memberId === s.leader && s.raftTerm > term) {
            seenAtMs ??= nowMs();
            return;
          }
          await sleep(POLL_MS);
        }
      }),
    );
    if (seenAtMs === undefined) throw new Error(`etcd: no new leader after term ${term} within ${timeoutMs} ms`);
    return seenAtMs;
  }

  /** kill -9 the member and wait until it is reaped. */
  async kill(index: number): Promise<void> {
    const m = this.members[index]!;
    const exited = m.exited;
    m.process?.kill('SIGKILL');
    await exited;
  }

  /** Start a killed member again on its data directory. */
  restart(index: number): void {
    if (this.stopped) throw new Error('the etcd cluster is stopped');
    if (this.members[index]!.process !== undefined) throw new Error(`etcd member ${this.members[index]!.name} is still running`);
    this.launch(index);
  }

  /** SIGSTOP: the process stays, its sockets stay open, nothing answers (a stalled server). */
  pause(index: number): void {
    const m = this.members[index]!;
    if (m.process === undefined) throw new Error(`etcd member ${m.name} is not running: nothing to pause`);
    m.process.kill('SIGSTOP');
    m.paused = true;
  }

  /** SIGCONT after `pause`. */
  resume(index: number): void {
    const m = this.members[index]!;
    if (m.process === undefined || !m.paused) return;
    m.process.kill('SIGCONT');
    m.paused = false;
  }

  /** Kill every member (SIGKILL: etcd's WAL is fsynced, nothing needs a clean shutdown); a temporary directory is removed. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const m of this.members) m.process?.kill('SIGKILL');
    await Promise.race([Promise.all(this.members.map((m) => m.exited)), sleep(EXIT_WAIT_MS)]);
    try {
      if (this.watchdog?.pid !== undefined) process.kill(this.watchdog.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
    fs.rmSync(path.join(this.dir, PIDS_FILE), { force: true });
    if (this.temporary) {
      fs.rmSync(this.dir, { recursive: true, force: true, maxRetries: 3 });
      releaseDir(this.dir);
    }
  }
}

/** A member's maintenance status over etcd's JSON gateway (any etcd v3 endpoint), or undefined when it does not answer in time. */
export async function memberStatus(clientUrl: string, index: number, name: string, timeoutMs = STATUS_TIMEOUT_MS): Promise<EtcdMemberStatus | undefined> {
  try {
    const response = await fetch(`${clientUrl}/v3/maintenance/status`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) return undefined;
    const s = (await response.json()) as {
      header?: { member_id?: string; revision?: string }; leader?: string; raftTerm?: string; raftIndex?: string; raftAppliedIndex?: string; version?: string;
    };
    return {
      index, name, memberId: s.header?.member_id ?? '', leader: s.leader ?? '0', raftTerm: Number(s.raftTerm ?? 0),
      raftIndex: Number(s.raftIndex ?? 0), raftAppliedIndex: Number(s.raftAppliedIndex ?? 0), revision: Number(s.header?.revision ?? 0), version: s.version ?? '',
    };
  } catch {
    return undefined;
  }
}

/**
 * etcd members' statuses in the shape of kubethreads' replicas' (role, term, leader by name, commit and applied
 * index, revision), so `up`'s status line and the chaos engine's samples read the same on either store.
 */
export function asReplicaStatuses(all: ReadonlyArray<EtcdMemberStatus | undefined>, known: ReadonlyMap<string, string> = new Map()): Array<ReplicaStatus | undefined> {
  const nameOf = new Map([...known, ...all.flatMap((s) => (s === undefined ? [] : [[s.memberId, s.name] as const]))]);
  return all.map((s) =>
    s === undefined
      ? undefined
      : {
          name: s.name, id: s.index + 1, role: s.memberId === s.leader ? 'leader' : 'follower', term: s.raftTerm,
          leader: s.leader === '0' ? '' : nameOf.get(s.leader) ?? s.leader, commitIndex: s.raftIndex, appliedIndex: s.raftAppliedIndex,
          revision: s.revision, compactRevision: 0, firstIndex: 0, lastIndex: s.raftIndex, durableLastIndex: s.raftIndex, snapshotIndex: 0, watchers: 0, recoveredFrom: '',
        },
  );
}

/** The self-declared leader that members agree on (by member id), with its index and term. */
export function leaderOf(all: ReadonlyArray<EtcdMemberStatus | undefined>): { index: number; term: number } | undefined {
  let best: { index: number; term: number } | undefined;
  for (const s of all) {
    if (s === undefined || s.memberId !== s.leader) continue;
    if (best === undefined || s.raftTerm > best.term) best = { index: s.index, term: s.raftTerm };
  }
  return best;
}
