/**
 * A chaos run of the store alone: three replicas, concurrent register
 * clients, a nemesis schedule; then heal, read every key once more, and
 * check that the history is linearizable (which covers "no acknowledged write
 * lost": the final reads must be explainable by the acknowledged writes).
 *
 * The same run works in the simulated runtime (virtual time, replayable from
 * the seed) and in the threaded runtime (real threads, real disk).
 */
import { Prng, deriveSeed } from '../../actor/prng.js';
import { SimulatedSystem } from '../../actor/sim/sim-system.js';
import type { ActorSystem } from '../../actor/system.js';
import { ThreadedSystem } from '../../actor/threaded/threaded-system.js';
import { groupStatus, spawnEtcdGroup } from '../../kv/replica/group.js';
import type { ReplicaArgs } from '../../kv/replica/protocol.js';
import type { Operation } from '../history.js';
import { checkHistory, type HistoryCheckResult } from '../linearizability/check.js';
import { formatCheckResult } from '../linearizability/report.js';
import { runNemesis, standardStoreNemesis, type NemesisStep } from './nemesis.js';
import { registerWorkload, type RegisterRunRequest, type RegisterWorkloadMsg } from './register-workload.js';

export interface StoreChaosOptions {
  seed: number;
  runtime: 'simulated' | 'threaded';
  clients?: number;
  keys?: number;
  nemesis?: readonly NemesisStep[];
  /** Workload time after the last fault is healed. */
  tailMs?: number;
  thinkMs?: number;
  replica?: Omit<ReplicaArgs, 'id' | 'members'>;
  /** Threaded runtime: where the replicas' disks live (default: a temporary directory). */
  dataDir?: string;
  log?: (line: string) => void;
}

export interface StoreChaosResult {
  seed: number;
  runtime: 'simulated' | 'threaded';
  operations: number;
  ok: number;
  failed: number;
  unknown: number;
  acknowledgedWrites: number;
  faults: string[];
  check: HistoryCheckResult;
  report: string;
  history: Operation[];
  /** Wall-clock milliseconds the run took. */
  wallMs: number;
}

export async function runStoreChaos(options: StoreChaosOptions): Promise<StoreChaosResult> {
  const wallStart = performance.now();
  const clients = options.clients ?? 4;
  const keys = Array.from({ length: options.keys ?? 3 }, (_, i) => `r${i}`);
  const nemesis = options.nemesis ?? standardStoreNemesis;
  const faults: string[] = [];
  const log = (line: string) => {
    faults.push(line);
    options.log?.(line);
  };
  const system: ActorSystem =
    options.runtime === 'simulated' ? new SimulatedSystem({ seed: options.seed }) : new ThreadedSystem({ seed: options.seed, dataDir: options.dataDir });
  const sim = system instanceof SimulatedSystem ? system : undefined;
  const wait = (ms: number): Promise<void> => (sim ? sim.runFor(ms) : new Promise((resolve) => setTimeout(resolve, ms)));
  const settle = <T>(p: Promise<T>): Promise<T> => (sim ? sim.settle(p, { maxMs: 600_000 }) : p);
  const prng = new Prng(deriveSeed(options.seed, 'store-chaos'));
  try {
    const group = await spawnEtcdGroup(system, { replicas: 3, replica: options.replica, supervision: { maxRestarts: 1_000 } });
    const clientNames = Array.from({ length: clients }, (_, i) => `client-${i}`);
    for (const name of clientNames) await system.spawn(registerWorkload, { name, args: { replicas: group.names, requestTimeoutMs: 3_000 } });
    await waitForLeader(system, group.names, wait, settle);

    // The workload runs through the whole schedule and a tail after it.
    const scheduleMs = nemesis.reduce((sum, s) => sum + s.afterMs + faultMs(s), 0);
    const untilMs = system.now() + scheduleMs + (options.tailMs ?? 2_000);
    const request: RegisterRunRequest = { keys, untilMs, thinkMs: options.thinkMs ?? 20 };
    const runs = clientNames.map((name) =>
      system.ref<RegisterWorkloadMsg>(name).ask<Operation[]>({ type: 'run', body: request }, { timeoutMs: scheduleMs + 120_000 }),
    );
    for (const run of runs) run.catch(() => undefined);
    await runNemesis(
      { system, replicas: group.names, others: clientNames, wait, settle, random: () => prng.next(), log },
      nemesis,
    );
    log(`t=end heal everything; workload continues ${options.tailMs ?? 2_000} ms`);
    await system.faults.heal();
    const histories = await settle(Promise.all(runs));

    // Final reads, by a fresh client, once the group has a leader: what survived.
    await waitForLeader(system, group.names, wait, settle);
    await system.spawn(registerWorkload, { name: 'final-reader', args: { replicas: group.names, requestTimeoutMs: 10_000 } });
    const finalOps = await settle(
      system.ref<RegisterWorkloadMsg>('final-reader').ask<Operation[]>({ type: 'run', body: { keys, untilMs: system.now() + 1, thinkMs: 0, readOnly: true } }, { timeoutMs: 60_000 }),
    );
    const finals: Operation[] = [];
    for (const key of keys) {
      // One read per key, all after everything else completed.
      const op = finalOps.find((o) => o.key === key && o.status === 'ok');
      if (op !== undefined) finals.push(op);
    }
    const history = renumber([...histories.flat(), ...finals]);
    const check = await checkHistory(history, { parallel: false });
    const count = (status: string) => history.filter((o) => o.status === status).length;
    return {
      seed: options.seed,
      runtime: options.runtime,
      operations: history.length,
      ok: count('ok'),
      failed: count('fail'),
      unknown: count('unknown'),
      acknowledgedWrites: history.filter((o) => o.op !== 'read' && o.status === 'ok').length,
      faults,
      check,
      report: formatCheckResult(check),
      history,
      wallMs: performance.now() - wallStart,
    };
  } finally {
    await system.shutdown();
  }
}

function faultMs(step: NemesisStep): number {
  const f = step.fault as { ms?: number };
  return f.ms ?? 0;
}

function renumber(ops: Operation[]): Operation[] {
  return ops.map((op, id) => ({ ...op, id }));
}

async function waitForLeader(
  system: ActorSystem,
  names: string[],
  wait: (ms: number) => Promise<void>,
  settle: <T>(p: Promise<T>) => Promise<T>,
): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const statuses = await settle(groupStatus(system, names));
    if (statuses.some((s) => s?.role === 'leader')) return;
    await wait(100);
  }
  throw new Error('the store elected no leader within 30 s');
}
