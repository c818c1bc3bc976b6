import { MessageChannel, Worker } from 'node:worker_threads';
import { SimulatedSystem, ThreadedSystem } from '../../src/actor/index.js';
import { relay, sink } from '../../src/actor/testing/fixtures.js';
import { Progress } from '../lib/progress.js';
import { renderTable, type Row } from '../lib/report.js';
import { Latencies, median, round } from '../lib/stats.js';
import { FRAME_ENVELOPES_MAX } from '../../src/actor/threaded/router.js';
import type { BaselineMode } from './bare-worker.js';
import { BIND_BODY, blaster } from './behaviours.js';

export interface ActorBenchOptions {
  /** Envelopes per throughput round. */
  messages: number;
  /** Throughput rounds per side; the median is reported. */
  rounds: number;
  /** Sequential asks for the round-trip percentiles. */
  rttSamples: number;
  /** Hops for the simulated runtime's figure. */
  simMessages: number;
}

export const defaultActorBenchOptions: ActorBenchOptions = { messages: 1_000_000, rounds: 5, rttSamples: 20_000, simMessages: 2_000_000 };
export const quickActorBenchOptions: ActorBenchOptions = { messages: 100_000, rounds: 3, rttSamples: 2_000, simMessages: 200_000 };

/** JSON fields are an interface: names as the issue spells them. */
export interface ActorBenchResult {
  throughput_msgs_per_s: number;
  baseline_msgs_per_s: number;
  throughput_ratio: number;
  rtt_p50_us: number;
  rtt_p99_us: number;
  baseline_rtt_p50_us: number;
  baseline_rtt_p99_us: number;
  rtt_p50_ratio: number;
  sim_msgs_per_s: number;
  throughput_rounds_msgs_per_s: number[];
  baseline_rounds_msgs_per_s: number[];
  messages_per_round: number;
  rtt_samples: number;
  /** The batched baseline: bare workers, the same envelopes as msgpack frames per turn (the runtime's codec and frame bound). */
  batched_baseline_msgs_per_s: number;
  batched_throughput_ratio: number;
  batched_baseline_rtt_p50_us: number;
  batched_baseline_rtt_p99_us: number;
  batched_rtt_p50_ratio: number;
  batched_rtt_p99_ratio: number;
  rtt_p99_ratio: number;
  batched_baseline_rounds_msgs_per_s: number[];
  /** Envelopes per frame in the batched baseline and the runtime. */
  frame_envelopes_max: number;
  /** Ours over the baseline within each round (the sides take turns round by round): the spread behind the median ratios. */
  throughput_ratio_rounds: number[];
  batched_throughput_ratio_rounds: number[];
}

const ROUND_SIZE = 4_096;
const ROUNDS_IN_FLIGHT = 4;

/**
 * One contender: a throughput round (`count` envelopes, returns msgs/s) and a
 * run of sequential round trips (returns each in microseconds).
 */
interface Side {
  blast(): Promise<number>;
  rtt(count: number): Promise<number[]>;
  close(): Promise<void>;
}

/** Round trips are sampled in this many slices per side, interleaved with the other sides'. */
const RTT_SLICES = 4;

async function actorSide(options: ActorBenchOptions): Promise<Side> {
  const system = new ThreadedSystem({ seed: 1, logLevel: 'warn' });
  await system.spawn(sink, { name: 'sink' });
  await system.spawn(blaster, { name: 'blaster' });
  return {
    async blast() {
      const result = await system.ref('blaster').ask<{ sent: number; elapsedMs: number }>(
        { type: 'blast', body: { to: 'sink', count: options.messages, roundSize: ROUND_SIZE, roundsInFlight: ROUNDS_IN_FLIGHT } },
        { timeoutMs: 600_000 },
      );
      return result.sent / (result.elapsedMs / 1000);
    },
    rtt: (count) => system.ref('blaster').ask<number[]>({ type: 'rtt', body: { to: 'sink', count } }, { timeoutMs: 600_000 }),
    close: () => system.shutdown(),
  };
}

function reply<T>(worker: Worker): Promise<T> {
  return new Promise((resolve) => worker.once('message', resolve));
}

/** Two bare workers, no runtime: a driver posts to a sink; same envelope, same rounds and flow control; see bare-worker.ts for the modes. */
async function baselineSide(options: ActorBenchOptions, mode: BaselineMode): Promise<Side> {
  const url = new URL('./bare-worker.js', import.meta.url);
  const sinkWorker = new Worker(url);
  const driver = new Worker(url);
  const { port1, port2 } = new MessageChannel();
  sinkWorker.postMessage({ role: 'sink', mode, port: port1 }, [port1]);
  driver.postMessage({ role: 'driver', mode, port: port2 }, [port2]);
  // A worker that throws (a frame that does not decode) fails the run instead of leaving it waiting for a reply.
  const crashed = new Promise<never>((_, reject) => {
    for (const worker of [sinkWorker, driver]) worker.once('error', (error) => reject(new Error(`${mode} baseline worker failed: ${error.message}`)));
  });
  crashed.catch(() => undefined);
  const answer = <T>(worker: Worker): Promise<T> => Promise.race([reply<T>(worker), crashed]);
  await Promise.all([answer(sinkWorker), answer(driver)]);
  const envelope = { to: 'sink', from: 'blaster', type: 'bind', corr: 0, body: BIND_BODY };
  return {
    async blast() {
      driver.postMessage({ run: 'blast', count: options.messages, roundSize: ROUND_SIZE, roundsInFlight: ROUNDS_IN_FLIGHT, envelope });
      return (await answer<{ rate: number }>(driver)).rate;
    },
    async rtt(count) {
      driver.postMessage({ run: 'rtt', count });
      return (await answer<{ samplesUs: number[] }>(driver)).samplesUs;
    },
    close: async () => {
      await Promise.all([sinkWorker.terminate(), driver.terminate()]);
    },
  };
}

const SIDE_NAMES = ['actor', 'clone baseline', 'batched baseline'] as const;

/**
 * The three sides take turns, round by round and slice by slice, so that a
 * machine whose load changes during the run (a shared 2-core box) weighs on
 * every side alike rather than on whichever ran at the worst moment.
 */
async function interleaved(options: ActorBenchOptions, progress: Progress): Promise<{ rounds: number[][]; latencies: Latencies[] }> {
  const sides: Side[] = [];
  try {
    sides.push(await actorSide(options), await baselineSide(options, 'clone'), await baselineSide(options, 'batched'));
    for (const side of sides) await side.blast(); // warm-up: JIT, structures
    const rounds: number[][] = sides.map(() => []);
    for (let r = 0; r < options.rounds; r++) {
      for (let i = 0; i < sides.length; i++) rounds[i]!.push(await sides[i]!.blast());
      progress.step(`throughput round ${r + 1} (${SIDE_NAMES.join(', ')})`);
    }
    for (const side of sides) await side.rtt(Math.ceil(options.rttSamples / 4)); // warm-up: let the JIT settle before sampling
    const latencies = sides.map(() => new Latencies());
    const sliceSamples = Math.ceil(options.rttSamples / RTT_SLICES);
    for (let taken = 0; taken < options.rttSamples; taken += sliceSamples) {
      const count = Math.min(sliceSamples, options.rttSamples - taken);
      for (let i = 0; i < sides.length; i++) for (const us of await sides[i]!.rtt(count)) latencies[i]!.record(us);
    }
    progress.step('round trips');
    return { rounds, latencies };
  } finally {
    await Promise.all(sides.map((side) => side.close()));
  }
}

/** Messages per second of wall time in the simulated runtime: 64 relay chains bouncing between two actors. */
async function simulated(options: ActorBenchOptions, progress: Progress): Promise<number> {
  const sim = new SimulatedSystem({ seed: 1 });
  await sim.spawn(relay, { name: 'r1', args: { peer: 'r2' } });
  await sim.spawn(relay, { name: 'r2', args: { peer: 'r1' } });
  const chains = 64;
  const hopsPerChain = Math.floor(options.simMessages / chains);
  for (let c = 0; c < chains; c++) sim.ref('r1').tell({ type: 'hop', body: hopsPerChain - 1 });
  const before = sim.delivered;
  const started = performance.now();
  await sim.runUntil(() => false, { maxMs: Number.MAX_SAFE_INTEGER });
  const elapsedS = (performance.now() - started) / 1000;
  progress.step('simulated runtime');
  return (sim.delivered - before) / elapsedS;
}

export async function runActorBench(options: ActorBenchOptions = defaultActorBenchOptions): Promise<{ result: ActorBenchResult; table: string }> {
  const progress = new Progress(options.rounds + 2, 'bench actor');
  const measured = await interleaved(options, progress);
  const [ours, base, batched] = SIDE_NAMES.map((_, i) => ({ rounds: measured.rounds[i]!, latencies: measured.latencies[i]! }));
  const simRate = await simulated(options, progress);
  const throughput = median(ours.rounds);
  const baselineThroughput = median(base.rounds);
  const batchedThroughput = median(batched.rounds);
  const result: ActorBenchResult = {
    throughput_msgs_per_s: Math.round(throughput),
    baseline_msgs_per_s: Math.round(baselineThroughput),
    throughput_ratio: round(throughput / baselineThroughput),
    rtt_p50_us: ours.latencies.percentile(50),
    rtt_p99_us: ours.latencies.percentile(99),
    baseline_rtt_p50_us: base.latencies.percentile(50),
    baseline_rtt_p99_us: base.latencies.percentile(99),
    rtt_p50_ratio: round(ours.latencies.percentile(50) / base.latencies.percentile(50)),
    sim_msgs_per_s: Math.round(simRate),
    throughput_rounds_msgs_per_s: ours.rounds.map(Math.round),
    baseline_rounds_msgs_per_s: base.rounds.map(Math.round),
    messages_per_round: options.messages,
    rtt_samples: options.rttSamples,
    batched_baseline_msgs_per_s: Math.round(batchedThroughput),
    batched_throughput_ratio: round(throughput / batchedThroughput),
    batched_baseline_rtt_p50_us: batched.latencies.percentile(50),
    batched_baseline_rtt_p99_us: batched.latencies.percentile(99),
    batched_rtt_p50_ratio: round(ours.latencies.percentile(50) / batched.latencies.percentile(50)),
    batched_rtt_p99_ratio: round(ours.latencies.percentile(99) / batched.latencies.percentile(99)),
    rtt_p99_ratio: round(ours.latencies.percentile(99) / base.latencies.percentile(99)),
    batched_baseline_rounds_msgs_per_s: batched.rounds.map(Math.round),
    frame_envelopes_max: FRAME_ENVELOPES_MAX,
    throughput_ratio_rounds: ours.rounds.map((rate, r) => round(rate / base.rounds[r]!)),
    batched_throughput_ratio_rounds: ours.rounds.map((rate, r) => round(rate / batched.rounds[r]!)),
  };
  const rows: Row[] = [
    { name: 'one-way throughput (median)', ours: result.throughput_msgs_per_s, baseline: result.baseline_msgs_per_s, ratio: result.throughput_ratio, unit: 'msgs/s', note: 'target ratio >= 5' },
    { name: 'ask round trip p50', ours: result.rtt_p50_us, baseline: result.baseline_rtt_p50_us, ratio: result.rtt_p50_ratio, unit: 'us', note: 'target ratio <= 1.5' },
    { name: 'ask round trip p99', ours: result.rtt_p99_us, baseline: result.baseline_rtt_p99_us, ratio: result.rtt_p99_ratio, unit: 'us' },
    { name: 'one-way throughput (median), batched baseline', ours: result.throughput_msgs_per_s, baseline: result.batched_baseline_msgs_per_s, ratio: result.batched_throughput_ratio, unit: 'msgs/s', note: 'the runtime\'s cost over its own transport' },
    { name: 'ask round trip p50, batched baseline', ours: result.rtt_p50_us, baseline: result.batched_baseline_rtt_p50_us, ratio: result.batched_rtt_p50_ratio, unit: 'us' },
    { name: 'ask round trip p99, batched baseline', ours: result.rtt_p99_us, baseline: result.batched_baseline_rtt_p99_us, ratio: result.batched_rtt_p99_ratio, unit: 'us' },
    { name: 'simulated runtime', ours: result.sim_msgs_per_s, unit: 'msgs/s (wall)', note: 'target >= 1,000,000' },
  ];
  const table = renderTable(
    [
      `actor messaging: ${options.messages.toLocaleString('en-US')} envelopes x ${options.rounds} rounds, ${options.rttSamples.toLocaleString('en-US')} asks, the three sides taking turns; baselines are two bare workers:`,
      `  structured-clone postMessage per envelope; batched = the same envelopes as msgpack frames of <= ${FRAME_ENVELOPES_MAX.toLocaleString('en-US')} per turn (the runtime's codec), no runtime`,
    ].join('\n'),
    rows,
    'bare workers',
  );
  return { result, table };
}
