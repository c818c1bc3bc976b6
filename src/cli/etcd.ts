/**
 * `kubethreads etcd`: the store alone, for consensus studies. Starts N replica
 * actors (each in its own thread, its WAL under --data-dir) and shows one live
 * status line per replica: role, term, leader, commit and applied index,
 * revision. With --data-dir the state survives restarts of the command.
 * `kubethreads etcd member ...` changes the membership of a running one
 * through its control endpoint (etcd-control.ts).
 */
import { ThreadedSystem } from '../actor/threaded/threaded-system.js';
import { groupMembership, groupStatus, spawnEtcdGroup } from '../kv/replica/group.js';
import { readMembershipFile, writeMembershipFile } from '../kv/replica/membership-file.js';
import type { ReplicaStatus } from '../kv/replica/protocol.js';
import type { AutoCompactionConfig } from '../kv/replica/auto-compaction.js';
import { serveEtcdControl } from './etcd-control.js';
import { runLive, withStopSignals, type Output } from './live.js';

export interface EtcdCommandOptions {
  replicas: number;
  dataDir?: string;
  tickMs: number;
  /** etcd's --auto-compaction-mode/--auto-compaction-retention (default none). */
  autoCompaction?: AutoCompactionConfig;
  /** Stop by itself after this many seconds (0: run until Ctrl-C / SIGTERM). */
  durationS: number;
  /** Print status as JSON lines instead of a table. */
  json: boolean;
  logLevel: string;
  /** How often the status refreshes. */
  intervalMs: number;
  out?: Output;
}

/** One status line per replica, aligned; an unanswered replica says so. */
export function formatStatusLines(names: readonly string[], statuses: ReadonlyArray<ReplicaStatus | undefined>): string[] {
  return names.map((name, i) => {
    const s = statuses[i];
    if (s === undefined) return `${name.padEnd(8)} (no answer: down, paused or restarting)`;
    return (
      `${name.padEnd(8)} ${s.role.padEnd(12)} term ${String(s.term).padStart(4)}  leader ${(s.leader || '-').padEnd(8)}` +
      ` commit ${String(s.commitIndex).padStart(7)}  applied ${String(s.appliedIndex).padStart(7)}  rev ${String(s.revision).padStart(7)}` +
      `  watchers ${s.watchers}${s.recoveredFrom ? `  recovered: ${s.recoveredFrom}` : ''}`
    );
  });
}

export async function runEtcdCommand(options: EtcdCommandOptions): Promise<number> {
  const out = options.out ?? process.stdout;
  const system = new ThreadedSystem({ dataDir: options.dataDir, logLevel: options.logLevel });
  return withStopSignals(out, async (stop) => {
    try {
      // A data dir that ran before starts the replicas it had, not --replicas founding ones (etcd ignores
      // --initial-cluster on an existing data dir the same way): members added or removed since stay so.
      const membership = readMembershipFile(system.dataDir);
      const group = await spawnEtcdGroup(system, { replicas: options.replicas, membership, replica: { tickMs: options.tickMs, autoCompaction: options.autoCompaction } });
      writeMembershipFile(system.dataDir, groupMembership(group));
      if (membership !== undefined && group.names.length !== options.replicas) {
        out.write(`etcd: the data dir records ${group.names.length} replicas, started those (--replicas ${options.replicas} applies to a new data dir only)\n`);
      }
      out.write(`etcd: ${group.names.length} replicas (${group.names.join(', ')}), data in ${system.dataDir}${options.dataDir ? '' : ' (temporary: pass --data-dir to keep it)'}; seed ${system.seed}; Ctrl-C stops\n`);
      const closeControl = await serveEtcdControl(system, group, system.dataDir, { tickMs: options.tickMs });
      out.write(`etcd: membership: kubethreads etcd member list|add|promote|remove --data-dir ${system.dataDir}\n`);
      try {
        await runLive(
        {
          out, durationS: options.durationS, intervalMs: options.intervalMs, json: options.json,
          poll: () => groupStatus(system, group.names, Math.max(200, options.intervalMs)),
          lines: (statuses) => formatStatusLines(group.names, statuses),
          toJson: (statuses) => ({ atMs: Date.now(), replicas: statuses.map((s, i) => s ?? { name: group.names[i], down: true }) }),
        },
        stop,
      );
      } finally {
        await closeControl();
      }
      return 0;
    } finally {
      await system.shutdown();
      if (out.writable) out.write('etcd: stopped\n');
    }
  });
}
