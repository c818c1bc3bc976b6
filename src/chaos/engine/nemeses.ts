/**
 * The store's nemeses: faults on the replicas through the system's fault
 * controller, so one schedule means the same in both runtimes. Each picks its
 * targets when it fires ("the leader" is whoever leads then) unless the
 * scenario pins them with `nodes` (a replay of a threaded run does).
 */
import type { ChaosEnv, FaultSpec, Injection, JsonSchema, NemesisPlugin } from './types.js';

const targetSchema: JsonSchema = {
  description: 'leader, follower or random (among the store\'s replicas), scheduler-leader or controller-manager-leader (with the deployments workload), a replica name such as etcd-1, or any component\'s actor name such as apiserver or scheduler-1',
  type: 'string',
  minLength: 1,
};
const nodesSchema: JsonSchema = { description: 'pin the targets (replica names), instead of choosing when the fault fires', type: 'array', items: { type: 'string' } };

/** Parameters every nemesis accepts besides its own. */
export const commonFaultProperties: Record<string, JsonSchema> = {
  atMs: { description: 'when the fault fires, in ms from the start of the workload', type: 'number', minimum: 0 },
  durationMs: { description: 'how long it lasts before it is healed', type: 'number', minimum: 0 },
  nodes: nodesSchema,
};

type Target = string;

/** Chooses `target` among the replicas: the leader, a follower, any replica, or one by name (ChaosEnv.resolveTarget also knows other components). */
export function pickTarget(env: ChaosEnv, target: Target, pinned: unknown): string {
  if (Array.isArray(pinned) && typeof pinned[0] === 'string') return pinned[0];
  const leader = env.leader()?.name;
  const followers = env.replicas.filter((n) => n !== leader);
  const any = (names: readonly string[]): string => names[Math.floor(env.random() * names.length)]!;
  switch (target) {
    case 'leader':
      return leader ?? any(env.replicas);
    case 'follower':
      return any(followers.length > 0 ? followers : env.replicas);
    case 'random':
      return any(env.replicas);
    default:
      if (!env.replicas.includes(target)) throw new Error(`no replica named ${JSON.stringify(target)}; replicas are ${env.replicas.join(', ')}`);
      return target;
  }
}

function shuffled<T>(env: ChaosEnv, xs: readonly T[]): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(env.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** `etcd-1 (leader)`, `scheduler-0 (scheduler-leader)`, or the bare name. */
function role(env: ChaosEnv, name: string, target?: string): string {
  if (env.leader()?.name === name) return `${name} (leader)`;
  return target !== undefined && target !== name && !['follower', 'random', 'leader'].includes(target) ? `${name} (${target})` : name;
}

/**
 * With store etcd the replicas are processes the run started: kill -9 (kill, crash), SIGSTOP / SIGCONT (pause)
 * and restart reach them; faults of messages, clocks and disks need kubethreads' own replicas (actors).
 */
function refuseOnEtcd(env: ChaosEnv, fault: string, names: readonly string[]): void {
  const member = names.find((n) => env.etcd?.has(n) === true);
  if (member === undefined) return;
  throw new Error(
    `${fault} cannot reach etcd member ${member}: with store etcd the nemeses kill -9 (kill, crash), SIGSTOP/SIGCONT (pause) and restart (restart, rolling-restart) member processes; ${fault} needs store raft`,
  );
}

/** Restart a replica, an etcd member (kill -9, then start it on its data directory) or any actor. */
async function restartAny(env: ChaosEnv, name: string): Promise<void> {
  if (env.etcd?.has(name) === true) {
    await env.etcd.kill(name);
    env.etcd.restart(name);
    return;
  }
  await env.system.faults.restart(name);
}

interface KillParams extends FaultSpec {
  target?: Target;
}

const kill: NemesisPlugin<KillParams> = {
  name: 'kill',
  description: 'terminate a replica (or any component named by target); its supervisor restarts it (a replica from its disk). With durationMs, it stays unreachable that long after the restart (a crashed server that stays down).',
  schema: { properties: { target: targetSchema } },
  needsDuration: false,
  async inject(env, p) {
    const name = await env.resolveTarget(p.target ?? 'leader', p.nodes);
    const who = role(env, name, p.target);
    const downMs = p.durationMs ?? 0;
    const etcd = env.etcd?.has(name) === true ? env.etcd : undefined;
    if (etcd !== undefined) {
      // As the supervisor restarts a killed replica: at once, or after durationMs (a crashed server that stays down).
      await etcd.kill(name);
      if (downMs <= 0) {
        etcd.restart(name);
        return { nodes: [name], description: `kill -9 etcd member ${who}, restarted` };
      }
      return { nodes: [name], description: `kill -9 etcd member ${who}, down for ${downMs} ms`, heal: async () => etcd.restart(name) };
    }
    await env.system.faults.kill(name);
    if (downMs <= 0) return { nodes: [name], description: `kill ${who}` };
    const everyone = [...env.replicas.filter((n) => n !== name), ...env.clients];
    const ids = await env.system.faults.partition([name], everyone);
    return { nodes: [name], description: `kill ${who}, down for ${downMs} ms`, heal: () => env.system.faults.heal(ids) };
  },
};

const restart: NemesisPlugin<KillParams> = {
  name: 'restart',
  description: 'kill a replica (or any component named by target) and start it again at once, whatever its restart policy',
  schema: { properties: { target: targetSchema } },
  needsDuration: false,
  async inject(env, p) {
    const name = await env.resolveTarget(p.target ?? 'leader', p.nodes);
    const who = role(env, name, p.target);
    await restartAny(env, name);
    return { nodes: [name], description: `restart ${who}` };
  },
};

const pause: NemesisPlugin<KillParams> = {
  name: 'pause',
  description: 'stall a replica (or any component named by target: its messages queue, it sends nothing) for durationMs: a paused leader comes back stale',
  schema: { properties: { target: targetSchema } },
  needsDuration: true,
  async inject(env, p) {
    const name = await env.resolveTarget(p.target ?? 'leader', p.nodes);
    const who = role(env, name, p.target);
    const etcd = env.etcd?.has(name) === true ? env.etcd : undefined;
    if (etcd !== undefined) {
      etcd.pause(name);
      return { nodes: [name], description: `SIGSTOP etcd member ${who} for ${p.durationMs} ms`, heal: async () => etcd.resume(name) };
    }
    await env.system.faults.pause(name);
    // The simulated runtime holds a paused actor's messages but still fires its timers, so it would
    // keep sending heartbeats; a blocked thread sends nothing. Silence its outgoing links to match.
    const silenced = env.sim !== undefined ? await env.system.faults.link({ from: [name], to: '*', drop: 1 }) : undefined;
    return {
      nodes: [name],
      description: `pause ${who} for ${p.durationMs} ms`,
      heal: async () => {
        if (silenced !== undefined) await env.system.faults.heal(silenced);
        await env.system.faults.resume(name);
      },
    };
  },
};

interface CrashParams extends KillParams {
  loseUnsynced?: boolean;
}

const crash: NemesisPlugin<CrashParams> = {
  name: 'crash',
  description: 'kill a replica so that it loses the writes it had not fsynced (a power cut), then let it restart',
  schema: { properties: { target: targetSchema, loseUnsynced: { type: 'boolean', description: 'lose unsynced writes (default true)' } } },
  needsDuration: false,
  async inject(env, p) {
    const name = await env.resolveTarget(p.target ?? 'leader', p.nodes);
    const who = role(env, name, p.target);
    if (env.etcd?.has(name) === true) {
      // etcd fsyncs its WAL before it acknowledges: a kill -9 is its power cut, with nothing unsynced to lose.
      await restartAny(env, name);
      return { nodes: [name], description: `crash (kill -9) etcd member ${who}, restarted` };
    }
    const lose = p.loseUnsynced ?? true;
    await env.system.faults.disk(name, { loseUnsyncedOnCrash: lose });
    await env.system.faults.kill(name);
    await env.system.faults.disk(name, { loseUnsyncedOnCrash: false });
    return { nodes: [name], description: `crash ${who}${lose ? ', losing its unsynced writes' : ''}` };
  },
};

type PartitionMode = 'isolate' | 'minority' | 'leader-minority' | 'bridge' | 'ring' | 'halves';

interface PartitionParams extends FaultSpec {
  mode: PartitionMode;
  target?: Target;
  /** Also cut the isolated side from the clients. */
  clients?: boolean;
}

/** Pairs of groups to cut, for a partition mode over `replicas` (leader first in `ordered`). */
export function partitionCuts(mode: PartitionMode, ordered: readonly string[]): { cuts: Array<[string[], string[]]>; nodes: string[]; shape: string } {
  const n = ordered.length;
  const majority = Math.floor(n / 2) + 1;
  switch (mode) {
    case 'isolate': {
      const [one, ...rest] = ordered;
      return { cuts: [[[one!], rest]], nodes: [one!], shape: `${one} | ${rest.join(' ')}` };
    }
    case 'minority': {
      // ordered = [leader, ...followers]: cut the last floor((n-1)/2) followers, the leader keeps its majority.
      const minority = ordered.slice(n - (n - majority));
      const rest = ordered.slice(0, n - minority.length);
      return { cuts: [[minority, rest]], nodes: minority, shape: `${minority.join(' ')} | ${rest.join(' ')}` };
    }
    case 'leader-minority': {
      const minority = ordered.slice(0, n - majority);
      const rest = ordered.slice(n - majority);
      return { cuts: [[minority, rest]], nodes: minority, shape: `${minority.join(' ')} | ${rest.join(' ')}` };
    }
    case 'halves': {
      const half = Math.floor(n / 2);
      const a = ordered.slice(0, half);
      const b = ordered.slice(half);
      return { cuts: [[a, b]], nodes: a, shape: `${a.join(' ')} | ${b.join(' ')}` };
    }
    case 'bridge': {
      // Two halves that cannot talk, and one replica in the middle that talks to both (Jepsen's bridge).
      const bridge = ordered[Math.floor(n / 2)]!;
      const sides = ordered.filter((x) => x !== bridge);
      const a = sides.filter((_, i) => i % 2 === 0);
      const b = sides.filter((_, i) => i % 2 === 1);
      return { cuts: [[a, b]], nodes: [...a, bridge, ...b], shape: `${a.join(' ')} | ${b.join(' ')} bridged by ${bridge}` };
    }
    case 'ring': {
      // Each replica sees its ring neighbours within distance d, enough for a majority with itself; no two see the same majority.
      // With 3 replicas a symmetric ring is fully connected, so this falls back to the bridge.
      if (n < 5) return partitionCuts('bridge', ordered);
      const d = Math.ceil((majority - 1) / 2);
      const cuts: Array<[string[], string[]]> = [];
      for (let i = 0; i < n; i++) {
        for (let j = i + 1; j < n; j++) {
          const dist = Math.min(j - i, n - (j - i));
          if (dist > d) cuts.push([[ordered[i]!], [ordered[j]!]]);
        }
      }
      return { cuts, nodes: [...ordered], shape: `ring ${ordered.join(' → ')} (each sees ±${d})` };
    }
  }
}

const partition: NemesisPlugin<PartitionParams> = {
  name: 'partition',
  description:
    'cut the replicas apart for durationMs. isolate: the target (default the leader) alone; minority: followers without the leader; leader-minority: the leader in the minority; halves; bridge: two sides and one replica that sees both; ring: each sees a different majority (5+ replicas)',
  schema: {
    properties: {
      mode: { type: 'string', enum: ['isolate', 'minority', 'leader-minority', 'bridge', 'ring', 'halves'] },
      target: targetSchema,
      clients: { type: 'boolean', description: 'also cut the first side from the clients (default: clients reach every replica)' },
    },
    required: ['mode'],
  },
  needsDuration: true,
  async inject(env, p) {
    refuseOnEtcd(env, 'partition', env.replicas);
    const leader = env.leader()?.name;
    let ordered: string[];
    if (Array.isArray(p.nodes) && p.nodes.length > 0) {
      // A replay pins the order the original run used; replicas it did not name follow.
      const pinned = (p.nodes as string[]).filter((n) => env.replicas.includes(n));
      ordered = [...pinned, ...env.replicas.filter((n) => !pinned.includes(n))];
    }
    else if (p.mode === 'isolate') {
      const one = pickTarget(env, p.target ?? 'leader', undefined);
      ordered = [one, ...env.replicas.filter((n) => n !== one)];
    } else {
      const followers = shuffled(env, env.replicas.filter((n) => n !== leader));
      ordered = leader === undefined ? followers : [leader, ...followers];
    }
    const { cuts, shape } = partitionCuts(p.mode, ordered);
    const ids: number[] = [];
    for (const [a, b] of cuts) ids.push(...(await env.system.faults.partition(a, b)));
    if (p.clients === true && cuts.length > 0) ids.push(...(await env.system.faults.partition(cuts[0]![0], env.clients)));
    return {
      // The whole order, so a replay that pins it cuts exactly the same links.
      nodes: ordered,
      description: `partition (${p.mode}) ${shape}${leader !== undefined ? ` [leader ${leader}]` : ''}${p.clients === true ? ', clients cut too' : ''} for ${p.durationMs} ms`,
      heal: () => env.system.faults.heal(ids),
    };
  },
};

interface LinkParams extends FaultSpec {
  between?: 'replicas' | 'all';
  loss?: number;
  duplicate?: number;
  delayMs?: number;
  jitterMs?: number;
}

const link: NemesisPlugin<LinkParams> = {
  name: 'link',
  description: 'flaky links for durationMs: drop (loss) and duplicate with probabilities, add delay ± jitter (jitter reorders)',
  schema: {
    properties: {
      between: { type: 'string', enum: ['replicas', 'all'], description: 'replica to replica (default), or every link including clients' },
      loss: { type: 'number', minimum: 0, maximum: 1 },
      duplicate: { type: 'number', minimum: 0, maximum: 1 },
      delayMs: { type: 'number', minimum: 0 },
      jitterMs: { type: 'number', minimum: 0 },
    },
  },
  needsDuration: true,
  async inject(env, p) {
    refuseOnEtcd(env, 'link', env.replicas);
    const set = p.between === 'all' ? '*' : [...env.replicas];
    const id = await env.system.faults.link({ from: set, to: set, drop: p.loss ?? 0, duplicate: p.duplicate ?? 0, delayMs: p.delayMs ?? 0, jitterMs: p.jitterMs ?? 0 });
    const parts = [
      p.loss ? `drop ${round(p.loss * 100)}%` : '',
      p.duplicate ? `duplicate ${round(p.duplicate * 100)}%` : '',
      p.delayMs || p.jitterMs ? `delay ${p.delayMs ?? 0} ± ${p.jitterMs ?? 0} ms` : '',
    ].filter((s) => s !== '');
    return {
      nodes: p.between === 'all' ? ['*'] : [...env.replicas],
      description: `${parts.join(', ') || 'no-op link rule'} on ${p.between === 'all' ? 'every link' : 'replica links'} for ${p.durationMs} ms`,
      heal: () => env.system.faults.heal(id),
    };
  },
};

interface SkewParams extends KillParams {
  offsetMs: number;
}

const clockSkew: NemesisPlugin<SkewParams> = {
  name: 'clock-skew',
  description: 'shift a replica\'s (or any component\'s) clock (now()) by offsetMs for durationMs; Raft ticks are timers and do not skip, lease expiry reads the clock',
  schema: { properties: { target: targetSchema, offsetMs: { type: 'number' } }, required: ['offsetMs'] },
  needsDuration: true,
  async inject(env, p) {
    const name = await env.resolveTarget(p.target ?? 'leader', p.nodes);
    const who = role(env, name, p.target);
    refuseOnEtcd(env, 'clock-skew', [name]);
    await env.system.faults.clockOffset(name, p.offsetMs);
    return { nodes: [name], description: `skew ${who}'s clock by ${p.offsetMs} ms for ${p.durationMs} ms`, heal: () => env.system.faults.clockOffset(name, 0) };
  },
};

interface DiskParams extends KillParams {
  fsyncFailProbability?: number;
  fsyncDelayMs?: number;
}

const disk: NemesisPlugin<DiskParams> = {
  name: 'disk',
  description: 'disk faults on one replica for durationMs: fsyncs fail with EIO with a probability, or take fsyncDelayMs longer',
  schema: {
    properties: {
      target: targetSchema,
      fsyncFailProbability: { type: 'number', minimum: 0, maximum: 1 },
      fsyncDelayMs: { type: 'number', minimum: 0 },
    },
  },
  needsDuration: true,
  async inject(env, p) {
    const name = await env.resolveTarget(p.target ?? 'leader', p.nodes);
    const who = role(env, name, p.target);
    refuseOnEtcd(env, 'disk', [name]);
    // The run records what the fault did, not only what it was: a replica whose fsync fails must crash (a poisoned WAL) and be restarted.
    const restartsOf = async (): Promise<number> => (await env.system.inspect()).actors.find((a) => a.name === name)?.restarts ?? 0;
    const restartsBefore = await restartsOf();
    await env.system.faults.disk(name, { fsyncFailProbability: p.fsyncFailProbability ?? 0, fsyncDelayMs: p.fsyncDelayMs ?? 0 });
    const what = [p.fsyncFailProbability ? `fail ${round(p.fsyncFailProbability * 100)}% of fsyncs` : '', p.fsyncDelayMs ? `slow every fsync by ${p.fsyncDelayMs} ms` : '']
      .filter((s) => s !== '')
      .join(' and ');
    return {
      nodes: [name],
      description: `disk of ${who}: ${what || 'no fault'} for ${p.durationMs} ms`,
      heal: async () => {
        await env.system.faults.disk(name, { fsyncFailProbability: 0, fsyncDelayMs: 0 });
        env.log(`  disk of ${name} healed: ${(await restartsOf()) - restartsBefore} restart(s) of ${name} while it was faulty`);
      },
    };
  },
};

interface RollingParams extends FaultSpec {
  intervalMs: number;
}

const rollingRestart: NemesisPlugin<RollingParams> = {
  name: 'rolling-restart',
  description: 'restart every replica one after another, intervalMs apart, followers first and the leader last (as an operator upgrades)',
  schema: { properties: { intervalMs: { type: 'number', minimum: 0 } }, required: ['intervalMs'] },
  needsDuration: false,
  async inject(env, p) {
    const leader = env.leader()?.name;
    const order = Array.isArray(p.nodes) && p.nodes.length > 0 ? (p.nodes as string[]) : [...env.replicas.filter((n) => n !== leader), ...(leader === undefined ? [] : [leader])];
    const [first, ...rest] = order;
    await restartAny(env, first!);
    env.log(`  restart ${role(env, first!)}`);
    rest.forEach((name, i) =>
      env.schedule(p.intervalMs * (i + 1), `rolling restart of ${name}`, async () => {
        env.log(`  restart ${role(env, name)}`);
        await restartAny(env, name);
      }),
    );
    return { nodes: order, description: `rolling restart ${order.join(', ')} every ${p.intervalMs} ms` };
  },
};

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

export const storeNemeses: NemesisPlugin<never>[] = [kill, restart, pause, crash, partition, link, clockSkew, disk, rollingRestart] as unknown as NemesisPlugin<never>[];

export type { Injection };
