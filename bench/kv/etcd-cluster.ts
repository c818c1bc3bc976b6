/**
 * A real 3-member etcd cluster on loopback for the side-by-side benchmark:
 * temporary data directories, free ports, the same heartbeat and election
 * timeout as kubethreads' replicas. Every process it starts is killed by
 * `stop()`, and also on process exit, Ctrl-C or SIGTERM while it runs.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { guardChild, guardDir, releaseChild, releaseDir } from './exit-guard.js';
import { firstToReport } from './side.js';

export interface EtcdClusterOptions {
  members: number;
  heartbeatMs: number;
  electionMs: number;
  /** The etcd binary (default: `etcd` on the PATH). */
  binary?: string;
}

/** One member's view, from its maintenance status. */
export interface EtcdMemberStatus {
  index: number;
  memberId: string;
  /** Member id of the leader it knows, '0' when none. */
  leader: string;
  raftTerm: number;
  raftIndex: number;
  raftAppliedIndex: number;
}

/** How long a status request may take before the member counts as not answering. */
const STATUS_TIMEOUT_MS = 300;
/** How long a fresh or restarted member gets to start serving. */
const START_TIMEOUT_MS = 20_000;
/** How long `stop` waits for a killed process to be reaped. */
const EXIT_WAIT_MS = 5_000;
const POLL_MS = 10;

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
}

export class EtcdCluster {
  readonly dir: string;
  private readonly members: Member[] = [];
  private stopped = false;

  private constructor(private readonly options: EtcdClusterOptions, dir: string) {
    this.dir = dir;
  }

  /** Start every member and wait until they agree on a leader. */
  static async start(options: EtcdClusterOptions): Promise<EtcdCluster> {
    const cluster = new EtcdCluster(options, fs.mkdtempSync(path.join(os.tmpdir(), 'kubethreads-bench-etcd-')));
    guardDir(cluster.dir);
    try {
      for (let i = 0; i < options.members; i++) {
        cluster.members.push({
          name: `m${i}`, clientPort: await freePort(), peerPort: await freePort(), dataDir: path.join(cluster.dir, `m${i}`),
          logFile: path.join(cluster.dir, `m${i}.log`), process: undefined, exited: Promise.resolve(),
        });
      }
      for (let i = 0; i < options.members; i++) cluster.launch(i);
      await cluster.waitHealthy(START_TIMEOUT_MS);
      return cluster;
    } catch (error) {
      const logs = cluster.logTails();
      await cluster.stop();
      throw new Error(`${error instanceof Error ? error.message : String(error)}\n${logs}`);
    }
  }

  /** The last lines of every member's log, for an error message (the directory is removed on stop). */
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

  clientUrl(index: number): string {
    return `http://127.0.0.1:${this.members[index]!.clientPort}`;
  }

  clientUrls(): string[] {
    return this.members.map((_, i) => this.clientUrl(i));
  }

  private launch(index: number): void {
    const m = this.members[index]!;
    const initialCluster = this.members.map((x) => `${x.name}=http://127.0.0.1:${x.peerPort}`).join(',');
    const args = [
      '--name', m.name, '--data-dir', m.dataDir,
      '--listen-client-urls', this.clientUrl(index), '--advertise-client-urls', this.clientUrl(index),
      '--listen-peer-urls', `http://127.0.0.1:${m.peerPort}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${m.peerPort}`,
      '--initial-cluster', initialCluster, '--initial-cluster-state', 'new', '--initial-cluster-token', 'kubethreads-bench',
      '--heartbeat-interval', String(this.options.heartbeatMs), '--election-timeout', String(this.options.electionMs),
      // kubethreads' Raft runs with pre-vote (etcd 3.5's default; 3.4 needs the flag); check-quorum is always on in etcd.
      '--pre-vote',
      '--logger', 'zap', '--log-level', 'warn',
    ];
    const log = fs.openSync(m.logFile, 'a');
    const child = spawn(this.options.binary ?? 'etcd', args, { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    guardChild(child);
    m.process = child;
    m.exited = new Promise<void>((resolve) => {
      const gone = (): void => {
        releaseChild(child);
        resolve();
      };
      child.once('exit', gone);
      child.once('error', gone);
    });
  }

  /** One member's status, or undefined when it does not answer in time. */
  async status(index: number): Promise<EtcdMemberStatus | undefined> {
    try {
      const response = await fetch(`${this.clientUrl(index)}/v3/maintenance/status`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(STATUS_TIMEOUT_MS) });
      if (!response.ok) return undefined;
      const s = (await response.json()) as { header?: { member_id?: string }; leader?: string; raftTerm?: string; raftIndex?: string; raftAppliedIndex?: string };
      return {
        index, memberId: s.header?.member_id ?? '', leader: s.leader ?? '0', raftTerm: Number(s.raftTerm ?? 0), raftIndex: Number(s.raftIndex ?? 0),
        raftAppliedIndex: Number(s.raftAppliedIndex ?? 0),
      };
    } catch {
      return undefined;
    }
  }

  async statuses(): Promise<Array<EtcdMemberStatus | undefined>> {
    return Promise.all(this.members.map((_, i) => this.status(i)));
  }

  /** The leader's index and term, as a member that answers reports it; undefined while there is none. */
  async leader(): Promise<{ index: number; term: number } | undefined> {
    const all = await this.statuses();
    for (const s of all) {
      if (s === undefined || s.leader === '0') continue;
      const leader = all.find((x) => x !== undefined && x.memberId === s.leader);
      if (leader !== undefined && leader.leader === leader.memberId) return { index: leader.index, term: leader.raftTerm };
    }
    return undefined;
  }

  /** Every member answers, all name the same leader, and each has applied what the leader had when asked. */
  async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no status yet';
    while (Date.now() < deadline) {
      const all = await this.statuses();
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

  /** Poll the members other than `excluded` until one leads in a term after `term`; resolves with the epoch time it was seen. */
  async waitNewLeader(term: number, timeoutMs: number, nowMs: () => number): Promise<number> {
    // Each member on its own loop: a round waiting on the restarting member's status saw the new leader late.
    const seenAtMs = await firstToReport(this.members.map((_, i) => i), timeoutMs, nowMs, async (index) => {
      const s = await this.status(index);
      return s !== undefined && s.memberId === s.leader && s.raftTerm > term;
    });
    if (seenAtMs === undefined) throw new Error(`etcd: no new leader after term ${term} within ${timeoutMs} ms`);
    return seenAtMs;
  }

  /** kill -9 the member and wait until it is reaped. */
  async kill(index: number): Promise<void> {
    const m = this.members[index]!;
    m.process?.kill('SIGKILL');
    await m.exited;
    m.process = undefined;
  }

  /** Start a killed member again on its data directory. */
  restart(index: number): void {
    if (this.members[index]!.process !== undefined) throw new Error(`etcd member ${index} is still running`);
    this.launch(index);
  }

  /** Kill every member (SIGKILL: nothing here needs a clean shutdown) and remove the data directories. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const m of this.members) m.process?.kill('SIGKILL');
    await Promise.race([Promise.all(this.members.map((m) => m.exited)), sleep(EXIT_WAIT_MS)]);
    for (const m of this.members) m.process = undefined;
    fs.rmSync(this.dir, { recursive: true, force: true });
    releaseDir(this.dir);
  }
}
