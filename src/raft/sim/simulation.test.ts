import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SafetyChecker, SafetyViolation } from './checker.js';
import { LIVENESS_TICKS_MAX, nodesForSeed, replayCommand, runSimulation, sweepOptions, type SimKnobs, type SimResult } from './simulation.js';

/** The fixed seed set of `npm test`. Longer sweeps: `npm run test:sweep -- --seeds N`. */
const SEED_COUNT = 500;
const SEEDS_PER_CHUNK = 50;

const SAFETY_PROPERTIES = new Set(['electionSafety', 'logMatching', 'leaderCompleteness', 'stateMachineSafety', 'committedEntryLost', 'linearizableRead', 'configChangeUncommitted', 'nodeAssertion']);

function describeFailure(r: SimResult, knobs?: SimKnobs): string {
  return `seed ${r.seed}: ${r.failure!.property} at tick ${r.failure!.tick}: ${r.failure!.message}\nreplay: ${replayCommand(r.seed, r.nodes, knobs)}`;
}

describe(`simulation: ${SEED_COUNT} seeded runs with every rule intact`, () => {
  for (let from = 1; from <= SEED_COUNT; from += SEEDS_PER_CHUNK) {
    const to = Math.min(SEED_COUNT, from + SEEDS_PER_CHUNK - 1);
    test(`seeds ${from}..${to} keep every safety property and heal to a committing leader`, () => {
      const failures: string[] = [];
      for (let seed = from; seed <= to; seed++) {
        const r = runSimulation({ seed, nodes: nodesForSeed(seed) });
        if (!r.ok) failures.push(describeFailure(r));
        else assert.ok(r.stats.livenessTicks >= 0 && r.stats.leadersElected > 0 && r.stats.committedIndex > 3, `seed ${seed} made no progress`);
      }
      assert.deepEqual(failures, []);
    });
  }
});

describe('the harness bites: each deliberately broken rule is caught within the seed set', () => {
  const knobs: [string, SimKnobs][] = [
    ['commit by counting replicas of an earlier term\'s entry', { commitByCountingOldTermEntries: true }],
    ['grant a vote without the up-to-date check', { grantVoteWithoutUpToDateCheck: true }],
    ['send before persisting (skip fsync before replying)', { skipPersistBeforeSend: true }],
    ['every role sends before its fsync and may crash in between (a follower acks what it has not synced)', { anyRoleSendsBeforePersist: true }],
    ['serve lease reads for as long as check-quorum keeps the leader, not from acked heartbeats', { leaseFromCheckQuorumOnly: true }],
  ];
  for (const [name, k] of knobs) {
    test(`${name}: a safety violation is found`, () => {
      let found: SimResult | undefined;
      for (let seed = 1; seed <= SEED_COUNT && !found; seed++) {
        const r = runSimulation({ seed, nodes: nodesForSeed(seed), knobs: k });
        if (!r.ok) found = r;
      }
      assert.ok(found, `no violation in seeds 1..${SEED_COUNT} with ${JSON.stringify(k)}`);
      assert.ok(SAFETY_PROPERTIES.has(found.failure!.property), `expected a safety violation, got ${describeFailure(found, k)}`);
    });
  }
});

describe('the sweep\'s detector mode: followers of a crashed leader forgetLeader and campaign at once; the detector also misfires', () => {
  const DETECTOR_SEEDS = 300;
  test(`seeds 1..${DETECTOR_SEEDS} keep every safety property and heal to a committing leader, with many leaders forgotten`, () => {
    let forgotten = 0;
    let campaigns = 0;
    for (let seed = 1; seed <= DETECTOR_SEEDS; seed++) {
      const r = runSimulation(sweepOptions(seed, nodesForSeed(seed), 'detector'));
      if (!r.ok) assert.fail(describeFailure(r));
      forgotten += r.stats.leadersForgotten;
      campaigns += r.stats.detectorCampaigns;
    }
    assert.ok(forgotten > DETECTOR_SEEDS && campaigns > DETECTOR_SEEDS / 2, `the detector acted: ${forgotten} leaders forgotten, ${campaigns} campaigns`);
  });

  test('forgetting the vote with the leader (forgetLeaderClearsVote) is caught as a safety violation (first at seed 91)', () => {
    // The sweep from seed 1 finds it first at 91 (npm run test:sweep -- --seeds 500 --modes detector --knob forgetLeaderClearsVote).
    const k: SimKnobs = { forgetLeaderClearsVote: true };
    let found: SimResult | undefined;
    for (let seed = 51; seed <= 150 && !found; seed++) {
      const r = runSimulation(sweepOptions(seed, nodesForSeed(seed), 'detector', k));
      if (!r.ok) found = r;
    }
    assert.ok(found, 'no safety violation in seeds 51..150 with forgetLeaderClearsVote');
    assert.ok(SAFETY_PROPERTIES.has(found.failure!.property), `expected a safety violation, got ${describeFailure(found, k)}`);
    assert.ok(runSimulation(sweepOptions(found.seed, found.nodes as 3 | 5, 'detector')).ok, `seed ${found.seed} is clean with every rule intact`);
  });

  test('acknowledging before the write is durable under async writes (asyncAcksBeforeDurable) is caught (first at seed 3)', () => {
    // npm run test:sweep -- --seeds 2000 --modes async --knob asyncAcksBeforeDurable: seed 3, a follower forgot entries it had acknowledged.
    const k: SimKnobs = { asyncAcksBeforeDurable: true };
    let found: SimResult | undefined;
    for (let seed = 1; seed <= 40 && !found; seed++) {
      const r = runSimulation(sweepOptions(seed, nodesForSeed(seed), 'async', k));
      if (!r.ok) found = r;
    }
    assert.ok(found, 'no failure in seeds 1..40 with asyncAcksBeforeDurable');
    assert.ok(runSimulation(sweepOptions(found.seed, found.nodes as 3 | 5, 'async')).ok, `seed ${found.seed} is clean with every rule intact`);
  });

  test('the replay command names the detector mode', () => {
    assert.equal(replayCommand(208, 5, { forgetLeaderClearsVote: true }, 'detector'), 'npm run test:sweep -- --seed 208 --nodes 5 --modes detector --knob forgetLeaderClearsVote');
    assert.deepEqual(sweepOptions(208, 5, 'detector'), { seed: 208, nodes: 5, knobs: undefined, failureDetector: true });
  });
});

describe('the sweep\'s joint modes: ConfChangeV2 membership through joint configurations, async storage writes on a third of the seeds', () => {
  const JOINT_SEEDS = 200;
  test(`seeds 1..${JOINT_SEEDS} keep every safety property and heal to a committing leader, with many joint configurations and writes lost in flight`, () => {
    const failures: string[] = [];
    let joint = 0;
    let asyncSeeds = 0;
    let lostInFlight = 0;
    for (let seed = 1; seed <= JOINT_SEEDS; seed++) {
      const options = sweepOptions(seed, nodesForSeed(seed), 'joint');
      const r = runSimulation(options);
      if (!r.ok) failures.push(describeFailure(r));
      joint += r.stats.jointConfChanges;
      if (options.asyncStorageWrites === true) asyncSeeds++;
      lostInFlight += r.stats.asyncWritesLost;
    }
    assert.deepEqual(failures, []);
    assert.ok(joint > JOINT_SEEDS, `${joint} changes entered a joint configuration`);
    assert.ok(asyncSeeds > JOINT_SEEDS / 5 && asyncSeeds < JOINT_SEEDS / 2, `${asyncSeeds} seeds ran async writes`);
    assert.ok(lostInFlight > 50, `${lostInFlight} crashes lost async writes in flight`);
  });

  test('a joint quorum that counts only the incoming voters (jointQuorumIncomingOnly) is caught as a safety violation (first at seed 480)', () => {
    // The sweep from seed 1 finds it first at 480 (npm run test:sweep -- --seeds 500 --modes joint --knob
    // jointQuorumIncomingOnly --keep-going), 1 in a few hundred seeds: it needs a node still using C_old while
    // C_new's majority decides alone. This searches the hundred seeds up to it, to stay cheap; if the simulation
    // changes, rerun that sweep and move the window.
    const k: SimKnobs = { jointQuorumIncomingOnly: true };
    let found: SimResult | undefined;
    for (let seed = 401; seed <= 500 && !found; seed++) {
      const r = runSimulation(sweepOptions(seed, nodesForSeed(seed), 'joint', k));
      if (!r.ok && SAFETY_PROPERTIES.has(r.failure!.property)) found = r;
    }
    assert.ok(found, 'no safety violation in seeds 401..500 with jointQuorumIncomingOnly');
    assert.ok(runSimulation(sweepOptions(found.seed, found.nodes as 3 | 5, 'joint')).ok, `seed ${found.seed} is clean with every rule intact`);
  });

  test('a seed\'s modes are drawn from the seed alone, so the replay command runs the same scenario', () => {
    assert.deepEqual(sweepOptions(77, 3, 'joint'), sweepOptions(77, 3, 'joint'));
    assert.equal(replayCommand(77, 3, {}, 'joint'), 'npm run test:sweep -- --seed 77 --nodes 3 --modes joint');
    assert.deepEqual(sweepOptions(77, 3, 'classic'), { seed: 77, nodes: 3, knobs: undefined });
  });
});

describe('a leader that sends before its own fsync (etcd\'s optimization, as src/kv\'s replica does)', () => {
  test('seeds 1..300 stay safe and live although leaders crash between the send and the fsync', () => {
    const failures: string[] = [];
    let crashesBeforeFsync = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const r = runSimulation({ seed, nodes: nodesForSeed(seed), knobs: { leaderSendsBeforePersist: true } });
      if (!r.ok) failures.push(describeFailure(r, { leaderSendsBeforePersist: true }));
      crashesBeforeFsync += r.stats.crashesBeforeFsync;
    }
    assert.deepEqual(failures, []);
    // The same crash for every role is caught above; here it must have happened to leaders, often.
    assert.ok(crashesBeforeFsync > 300, `leaders crashed in the window ${crashesBeforeFsync} times`);
  });
});

describe('lease reads in the fixed seed set', () => {
  test('about a quarter of the seeds serve lease-based reads on bounded clocks, and most of them answer reads', () => {
    const leaseRuns = [];
    for (let seed = 1; seed <= 40; seed++) {
      const r = runSimulation({ seed, nodes: nodesForSeed(seed), chaosTicks: 300 });
      assert.ok(r.ok, `seed ${seed}: ${r.failure?.property} ${r.failure?.message}`);
      if (r.stats.leaseReads) leaseRuns.push(r);
    }
    assert.ok(leaseRuns.length >= 4 && leaseRuns.length <= 20, `${leaseRuns.length} of 40 seeds use lease reads`);
    // A storm of partitions can lose every read of a short run; most runs must answer some.
    assert.ok(leaseRuns.filter((r) => r.stats.readsAnswered > 0).length * 2 >= leaseRuns.length, 'lease runs answer reads');
  });

  test('a lease that trusts clocks to drift less than they do gives a stale read (seed 891, found by the sweep)', () => {
    // Rarer than the other broken rules (1 seed in 3000), so pinned to the seed the sweep found:
    // npm run test:sweep -- --seeds 3000 --knob leaseReadsAssumeNoDrift. If the simulation changes, rerun that to pick a new one.
    const r = runSimulation({ seed: 891, nodes: 3, knobs: { leaseReadsAssumeNoDrift: true } });
    assert.equal(r.failure?.property, 'linearizableRead', JSON.stringify(r.failure));
    assert.ok(runSimulation({ seed: 891, nodes: 3 }).ok, 'the same seed is clean with every rule intact');
  });
});

describe('liveness: the check follows the newest term, and still bites', () => {
  test('a member removed while cut off still claims to lead term 24; the marker goes to the leader of term 25 and commits (seed 702305, 5 nodes)', () => {
    // Issue 23 found this at seed 710476 (npm run test:sweep -- --seeds 20000 --from 700001 --nodes 5 --keep-going),
    // when the check proposed to the first node claiming to lead: node 1, removed while cut off, which could never
    // commit again. Since vote rejections carry the voter's commit index (joint consensus work) that seed runs
    // differently; a search of seeds 700001.. found the same ghost at 702305.
    const trace: string[] = [];
    const r = runSimulation({ seed: 702305, nodes: 5, trace: (line) => trace.push(line) });
    assert.ok(r.ok, JSON.stringify(r.failure));
    assert.ok(
      trace.some((l) => l.includes("liveness: stale leaders ignored: n1 (term 24, not in n3's configuration); proposing to n3, leader of term 25")),
      'the removed stale leader is still there after the heal, and is passed over',
    );
    assert.ok(r.stats.livenessTicks >= 0 && r.stats.livenessTicks <= LIVENESS_TICKS_MAX);
  });

  test('leaders that acknowledge proposals and drop them fail the liveness check, on that seed and on every seed tried', () => {
    const knobs: SimKnobs = { leaderDropsProposals: true };
    for (const [seed, nodes] of [[702305, 5], [1, 3], [2, 5], [3, 3], [4, 5]] as const) {
      const r = runSimulation({ seed, nodes, knobs, chaosTicks: seed === 702305 ? undefined : 300 });
      assert.equal(r.failure?.property, 'liveness', `seed ${seed}: ${JSON.stringify(r.failure)}`);
      assert.match(r.failure!.message, /no proposal committed within/);
    }
  });
});

describe('determinism and replay', () => {
  test('the same seed gives the same run, event for event', () => {
    const a: string[] = [];
    const b: string[] = [];
    const ra = runSimulation({ seed: 4242, nodes: 5, chaosTicks: 400, trace: (l) => a.push(l) });
    const rb = runSimulation({ seed: 4242, nodes: 5, chaosTicks: 400, trace: (l) => b.push(l) });
    assert.deepEqual(ra, rb);
    assert.deepEqual(a, b);
    assert.ok(a.length > 10);
  });

  test('a failing seed names the one command that replays it', () => {
    assert.equal(replayCommand(1234, 5), 'npm run test:sweep -- --seed 1234 --nodes 5');
    assert.equal(replayCommand(7, 3, { skipPersistBeforeSend: true }), 'npm run test:sweep -- --seed 7 --nodes 3 --knob skipPersistBeforeSend');
  });
});

describe('safety checker', () => {
  const log = (terms: Record<number, number>) => ({ logTerm: (i: number) => terms[i] });

  test('two leaders in one term is an election-safety violation', () => {
    const c = new SafetyChecker();
    c.observeLeader(1, 5, log({}), 1, 0);
    assert.throws(() => c.observeLeader(2, 5, log({}), 1, 0), (e: unknown) => e instanceof SafetyViolation && e.property === 'electionSafety');
  });

  test('a new leader missing a committed entry breaks leader completeness', () => {
    const c = new SafetyChecker();
    c.observeCommit(1, 0, 2, log({ 1: 1, 2: 1 }));
    assert.throws(() => c.observeLeader(2, 3, log({ 1: 1, 2: 2 }), 1, 2), (e: unknown) => e instanceof SafetyViolation && e.property === 'leaderCompleteness');
  });

  test('different content at the same index and term breaks log matching', () => {
    const c = new SafetyChecker();
    const e = (data: string) => ({ term: 2, index: 3, type: 'normal' as const, data: new TextEncoder().encode(data) });
    c.observeAppended(1, [e('x')], log({ 2: 1 }));
    assert.throws(() => c.observeAppended(2, [e('y')], log({ 2: 1 })), (err: unknown) => err instanceof SafetyViolation && err.property === 'logMatching');
  });

  test('applying different entries at one index breaks state machine safety', () => {
    const c = new SafetyChecker();
    const e = (term: number) => ({ term, index: 1, type: 'normal' as const, data: new Uint8Array(0) });
    c.observeApplied(1, e(1), 10);
    assert.throws(() => c.observeApplied(2, e(2), 11), (err: unknown) => err instanceof SafetyViolation && err.property === 'stateMachineSafety');
  });

  test('a configuration entry created while the previous one is not committed is flagged', () => {
    const c = new SafetyChecker();
    c.observeCommit(1, 0, 3, { logTerm: () => 1 });
    c.observeConfChangeCreated(1, 9, 2, 3);
    assert.throws(() => c.observeConfChangeCreated(1, 10, 2, 9), (e: unknown) => e instanceof SafetyViolation && e.property === 'configChangeUncommitted');
  });

  test('committing a different term where an entry was committed is a lost commit', () => {
    const c = new SafetyChecker();
    c.observeCommit(1, 0, 1, log({ 1: 1 }));
    assert.throws(() => c.observeCommit(2, 0, 1, log({ 1: 2 })), (err: unknown) => err instanceof SafetyViolation && err.property === 'committedEntryLost');
  });
});
