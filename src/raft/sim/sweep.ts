/**
 * The simulation sweep CLI.
 *
 *   npm run test:sweep -- --seeds 10000            seeds 1..10000 (odd: 3 nodes, even: 5)
 *   npm run test:sweep -- --seeds 500 --from 7000 --nodes 5
 *   npm run test:sweep -- --seed 1234 --nodes 5    replay one seed with a full trace
 *   --knob skipPersistBeforeSend                   switch on a deliberately broken rule
 *   --modes joint                                  ConfChangeV2 membership through joint configurations on every
 *                                                  seed, async storage writes on a third (default: classic)
 *   --modes async                                  joint, with async storage writes on every seed (the replicas' default)
 *   --modes detector                               classic, with a failure detector: followers of a crashed leader
 *                                                  forgetLeader and campaign at once; misfires on live leaders too
 *   --committed-per-ready N                        at most N committed entries per Ready (the replicas bound their
 *                                                  drains so): applied trails commit across Readies
 *
 * Exits 1 on the first failing seed and prints the command that replays it.
 */
import { replayCommand, nodesForSeed, runSimulation, sweepOptions, type SimKnobs, type SweepModes } from './simulation.js';

const KNOBS = ['commitByCountingOldTermEntries', 'grantVoteWithoutUpToDateCheck', 'skipPersistBeforeSend', 'leaseReadsAssumeNoDrift', 'leaseFromCheckQuorumOnly', 'leaderSendsBeforePersist', 'anyRoleSendsBeforePersist', 'leaderDropsProposals', 'jointQuorumIncomingOnly', 'forgetLeaderClearsVote', 'asyncAcksBeforeDurable'] as const;

interface Args {
  seeds: number;
  from: number;
  nodes: 3 | 5 | undefined;
  seed: number | undefined;
  knobs: SimKnobs;
  keepGoing: boolean;
  modes: SweepModes;
  committedPerReady: number | undefined;
}

function usage(message: string): never {
  console.error(`${message}\nusage: sweep [--seeds N] [--from S] [--nodes 3|5] [--seed S] [--knob NAME]... [--modes classic|joint|detector|async] [--committed-per-ready N] [--keep-going]`);
  process.exit(2);
}

function parseArgs(argv: string[]): Args {
  const args: Args = { seeds: 100, from: 1, nodes: undefined, seed: undefined, knobs: {}, keepGoing: false, modes: 'classic', committedPerReady: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 0) usage(`${a} needs a non-negative integer`);
      return v;
    };
    if (a === '--seeds') args.seeds = value();
    else if (a === '--from') args.from = value();
    else if (a === '--seed') args.seed = value();
    else if (a === '--nodes') {
      const n = value();
      if (n !== 3 && n !== 5) usage('--nodes must be 3 or 5');
      args.nodes = n;
    } else if (a === '--knob') {
      const k = argv[++i] as (typeof KNOBS)[number];
      if (!KNOBS.includes(k)) usage(`unknown knob ${k}; known: ${KNOBS.join(', ')}`);
      args.knobs[k] = true;
    } else if (a === '--modes') {
      const m = argv[++i];
      if (m !== 'classic' && m !== 'joint' && m !== 'detector' && m !== 'async') usage('--modes must be classic, joint, detector or async');
      args.modes = m;
    } else if (a === '--committed-per-ready') {
      const n = value();
      if (n < 1) usage('--committed-per-ready must be at least 1');
      args.committedPerReady = n;
    } else if (a === '--keep-going') args.keepGoing = true;
    else if (a === '--help' || a === '-h') {
      console.log('usage: sweep [--seeds N] [--from S] [--nodes 3|5] [--seed S] [--knob NAME]... [--modes classic|joint|detector|async] [--committed-per-ready N] [--keep-going]');
      console.log(`knobs: ${KNOBS.join(', ')}`);
      process.exit(0);
    }
    else usage(`unknown argument ${a}`);
  }
  return args;
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  if (args.seed !== undefined) {
    const nodes = args.nodes ?? nodesForSeed(args.seed);
    console.log(`replaying seed ${args.seed} with ${nodes} nodes, modes ${args.modes}${knobList(args.knobs)}`);
    const r = runSimulation({ ...sweepOptions(args.seed, nodes, args.modes, args.knobs), ...perReady(args), trace: (line) => console.log(line) });
    console.log(JSON.stringify(r.stats));
    if (r.ok) {
      console.log(`seed ${args.seed}: ok`);
      return;
    }
    console.log(`seed ${args.seed}: FAILED ${r.failure!.property} at tick ${r.failure!.tick}: ${r.failure!.message}`);
    process.exit(1);
  }
  const last = args.from + args.seeds - 1;
  console.log(`sweep: seeds ${args.from}..${last}, nodes ${args.nodes ?? '3 (odd seeds) / 5 (even seeds)'}, modes ${args.modes}${knobList(args.knobs)}${args.committedPerReady === undefined ? '' : `, at most ${args.committedPerReady} committed entries per Ready`}`);
  const started = process.hrtime.bigint();
  let failures = 0;
  let livenessTicksMax = 0;
  let committedTotal = 0;
  let leaseSeeds = 0;
  let readsAnswered = 0;
  let jointChanges = 0;
  let confChanges = 0;
  let asyncSeeds = 0;
  let asyncWritesLost = 0;
  let leadersForgotten = 0;
  let detectorCampaigns = 0;
  const progressEvery = Math.max(1, Math.floor(args.seeds / 20));
  for (let seed = args.from; seed <= last; seed++) {
    const nodes = args.nodes ?? nodesForSeed(seed);
    const options = { ...sweepOptions(seed, nodes, args.modes, args.knobs), ...perReady(args) };
    const r = runSimulation(options);
    committedTotal += r.stats.committedIndex;
    jointChanges += r.stats.jointConfChanges;
    confChanges += r.stats.confChanges;
    asyncWritesLost += r.stats.asyncWritesLost;
    leadersForgotten += r.stats.leadersForgotten;
    detectorCampaigns += r.stats.detectorCampaigns;
    if (options.asyncStorageWrites === true) asyncSeeds++;
    readsAnswered += r.stats.readsAnswered;
    if (r.stats.leaseReads) leaseSeeds++;
    livenessTicksMax = Math.max(livenessTicksMax, r.stats.livenessTicks);
    if (!r.ok) {
      failures++;
      console.log(`seed ${seed} (${nodes} nodes): FAILED ${r.failure!.property} at tick ${r.failure!.tick}: ${r.failure!.message}`);
      console.log(`replay: ${replayCommand(seed, nodes, args.knobs, args.modes)}${args.committedPerReady === undefined ? '' : ` --committed-per-ready ${args.committedPerReady}`}`);
      if (!args.keepGoing) break;
    }
    const done = seed - args.from + 1;
    if (done % progressEvery === 0) console.log(`  ${done}/${args.seeds} seeds, ${failures} failing`);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(
    `summary: ${failures} failing; committed entries ${committedTotal}; reads answered ${readsAnswered} (${leaseSeeds} seeds with lease reads); ` +
      `membership changes ${confChanges} (${jointChanges} through joint configurations); ${asyncSeeds} seeds with async writes (${asyncWritesLost} crashes lost writes in flight); ` +
      (args.modes === 'detector' ? `failure detector: ${leadersForgotten} leaders forgotten, ${detectorCampaigns} campaigns; ` : '') +
      `worst liveness ${livenessTicksMax} ticks after heal; ${seconds.toFixed(1)} s`,
  );
  if (failures > 0) process.exit(1);
}

function perReady(args: Args): { maxCommittedEntriesPerReady?: number } {
  return args.committedPerReady === undefined ? {} : { maxCommittedEntriesPerReady: args.committedPerReady };
}

function knobList(knobs: SimKnobs): string {
  const on = Object.entries(knobs).filter(([, v]) => v).map(([k]) => k);
  return on.length > 0 ? `, broken rules: ${on.join(', ')}` : '';
}

main();
