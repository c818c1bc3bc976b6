/**
 * Faults for the store, as a schedule of steps. Targets are resolved when a
 * step runs ("the leader" is whoever leads then), through the system's fault
 * controller, so one schedule drives both runtimes.
 */
import type { ActorSystem } from '../../actor/system.js';
import { groupStatus } from '../../kv/replica/group.js';

export type StoreFault =
  /** Kill the leader's thread; its supervisor restarts it from its disk. */
  | { kind: 'killLeader' }
  /** Stall the leader for `ms` (its thread blocks, messages queue), then resume it. */
  | { kind: 'pauseLeader'; ms: number }
  /** Cut the leader off from the other replicas (clients still reach it) for `ms`. */
  | { kind: 'isolateLeader'; ms: number }
  /** Cut one follower off from everyone for `ms`. */
  | { kind: 'partitionMinority'; ms: number }
  /** Drop and duplicate messages between replicas for `ms`. */
  | { kind: 'flakyNetwork'; ms: number; drop: number; duplicate: number }
  /** Arm "lose unsynced writes", then kill a follower (or the leader when `leader`). */
  | { kind: 'crashLosingUnsynced'; leader?: boolean };

export interface NemesisStep {
  /** Milliseconds after the previous step ended. */
  afterMs: number;
  fault: StoreFault;
}

/** The schedule of the issue: every fault the store must survive, one after another, with time to recover between. */
export const standardStoreNemesis: NemesisStep[] = [
  { afterMs: 1_500, fault: { kind: 'killLeader' } },
  { afterMs: 2_000, fault: { kind: 'pauseLeader', ms: 2_000 } },
  { afterMs: 2_000, fault: { kind: 'isolateLeader', ms: 3_000 } },
  { afterMs: 2_000, fault: { kind: 'partitionMinority', ms: 2_000 } },
  { afterMs: 1_500, fault: { kind: 'flakyNetwork', ms: 2_000, drop: 0.2, duplicate: 0.2 } },
  { afterMs: 1_500, fault: { kind: 'crashLosingUnsynced' } },
  { afterMs: 1_500, fault: { kind: 'crashLosingUnsynced', leader: true } },
];

export interface NemesisEnv {
  system: ActorSystem;
  replicas: string[];
  /** Names that count as "everyone else" for a minority partition (clients). */
  others: string[];
  /** Let `ms` pass (virtual time in the simulated runtime). */
  wait(ms: number): Promise<void>;
  /** Await a host-side promise (the simulated runtime must run to settle it). */
  settle<T>(promise: Promise<T>): Promise<T>;
  /** Pick uniformly; drawn from the run's seed. */
  random(): number;
  log(line: string): void;
}

/** Runs the schedule; returns when the last step's fault is healed. */
export async function runNemesis(env: NemesisEnv, steps: readonly NemesisStep[]): Promise<void> {
  const t0 = env.system.now();
  const at = () => `t=${((env.system.now() - t0) / 1000).toFixed(1)}s`;
  for (const step of steps) {
    await env.wait(step.afterMs);
    const leader = await findLeader(env);
    const followers = env.replicas.filter((n) => n !== leader);
    const anyFollower = followers[Math.floor(env.random() * followers.length)]!;
    const f = step.fault;
    switch (f.kind) {
      case 'killLeader': {
        const target = leader ?? anyFollower;
        env.log(`${at()} kill ${target}${leader ? ' (leader)' : ' (no leader: a replica)'}`);
        await env.system.faults.kill(target);
        break;
      }
      case 'pauseLeader': {
        const target = leader ?? anyFollower;
        env.log(`${at()} pause ${target} for ${f.ms} ms`);
        await env.system.faults.pause(target);
        await env.wait(f.ms);
        await env.system.faults.resume(target);
        env.log(`${at()} resume ${target}`);
        break;
      }
      case 'isolateLeader': {
        const target = leader ?? anyFollower;
        env.log(`${at()} isolate ${target} from the other replicas for ${f.ms} ms`);
        const ids = await env.system.faults.partition([target], env.replicas.filter((n) => n !== target));
        await env.wait(f.ms);
        await env.system.faults.heal(ids);
        env.log(`${at()} heal`);
        break;
      }
      case 'partitionMinority': {
        env.log(`${at()} partition ${anyFollower} from everyone for ${f.ms} ms`);
        const ids = await env.system.faults.partition([anyFollower], [...env.replicas.filter((n) => n !== anyFollower), ...env.others]);
        await env.wait(f.ms);
        await env.system.faults.heal(ids);
        env.log(`${at()} heal`);
        break;
      }
      case 'flakyNetwork': {
        env.log(`${at()} drop ${f.drop * 100}% and duplicate ${f.duplicate * 100}% of replica traffic for ${f.ms} ms`);
        const id = await env.system.faults.link({ from: env.replicas, to: env.replicas, drop: f.drop, duplicate: f.duplicate });
        await env.wait(f.ms);
        await env.system.faults.heal(id);
        env.log(`${at()} heal`);
        break;
      }
      case 'crashLosingUnsynced': {
        const target = f.leader === true && leader !== undefined ? leader : anyFollower;
        env.log(`${at()} crash ${target}${target === leader ? ' (leader)' : ''}, losing its unsynced writes`);
        await env.system.faults.disk(target, { loseUnsyncedOnCrash: true });
        await env.system.faults.kill(target);
        break;
      }
    }
  }
}

async function findLeader(env: NemesisEnv): Promise<string | undefined> {
  const statuses = await env.settle(groupStatus(env.system, env.replicas));
  let best: { name: string; term: number } | undefined;
  for (const s of statuses) if (s?.role === 'leader' && (best === undefined || s.term > best.term)) best = { name: s.name, term: s.term };
  return best?.name;
}
