import { MessageChannel, Worker } from 'node:worker_threads';
import { SimulatedSystem, ThreadedSystem } from '../../src/actor/index.js';
import { relay, sink } from '../../src/actor/testing/fixtures.js';
import { Progress } from '../lib/progress.js';
import { renderTable, type Row } from '../lib/report.js';
import { Latencies, median, round } from '../lib/stats.js';
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
}

const ROUND_SIZE = 4_096;
const ROUNDS_IN_FLIGHT = 4;

async function actorThroughput(options: ActorBenchOptions, progress: Progress): Promise<{ rounds: number[]; latencies: Latencies }> {
  const system = new ThreadedSystem({ seed: 1, logLevel: 'warn' });
  try {
    await system.spawn(sink, { name: 'sink' });
    await system.spawn(blaster, { name: 'blaster' });
    const blast = () =>
      system.ref('blaster').ask<{ sent: number; elapsedMs: number }>(
        { type: 'blast', body: { to: 'sink', count: options.messages, roundSize: ROUND_SIZE, roundsInFlight: ROUNDS_IN_FLIGHT } },
        { timeoutMs: 600_000 },
      );
    await blast(); // warm-up: JIT, structures
    const rounds: number[] = [];
    for (let r = 0; r < options.rounds; r++) {
      const result = await blast();
      rounds.push(result.sent / (result.elapsedMs / 1000));
      progress.step(`actor throughput round ${r + 1}`);
    }
    const rtt = (count: number) => system.ref('blaster').ask<number[]>({ type: 'rtt', body: { to: 'sink', count } }, { timeoutMs: 600_000 });
    await rtt(Math.ceil(options.rttSamples / 4)); // warm-up: let the JIT settle before sampling
    const latencies = new Latencies();
    for (const us of await rtt(options.rttSamples)) latencies.record(us);
    progress.step('actor round trips');
    return { rounds, latencies };
  } finally {
    await system.shutdown();
  }
}

function reply<T>(worker: Worker): Promise<T> {
  return new Promise((resolve) => worker.once('message', resolve));
}

/** Two bare workers, no runtime: a driver posts to a sink; same envelope, same rounds and flow control. */
async function baseline(options: ActorBenchOptions, progress: Progress): Promise<{ rounds: number[]; latencies: Latencies }> {
  const url = new URL('./bare-worker.js', import.meta.url);
  const sinkWorker = new Worker(url);
  const driver = new Worker(url);
  const { port1, port2 } = new MessageChannel();
  sinkWorker.postMessage({ role: 'sink', port: port1 }, [port1]);
  driver.postMessage({ role: 'driver', port: port2 }, [port2]);
  await Promise.all([reply(sinkWorker), reply(driver)]);
  const envelope = { to: 'sink', from: 'blaster', type: 'bind', corr: 0, body: BIND_BODY };
  const blast = async (): Promise<number> => {
    driver.postMessage({ run: 'blast', count: options.messages, roundSize: ROUND_SIZE, roundsInFlight: ROUNDS_IN_FLIGHT, envelope });
    return (await reply<{ rate: number }>(driver)).rate;
  };
  try {
    await blast();
    const rounds: number[] = [];
    for (let r = 0; r < options.rounds; r++) {
      rounds.push(await blast());
      progress.step(`baseline throughput round ${r + 1}`);
    }
    const rtt = async (count: number): Promise<number[]> => {
      driver.postMessage({ run: 'rtt', count });
      return (await reply<{ samplesUs: number[] }>(driver)).samplesUs;
    };
    await rtt(Math.ceil(options.rttSamples / 4)); // warm-up, as on the actor side
    const latencies = new Latencies();
    for (const us of await rtt(options.rttSamples)) latencies.record(us);
    progress.step('baseline round trips');
    return { rounds, latencies };
  } finally {
    await Promise.all([sinkWorker.terminate(), driver.terminate()]);
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
  const progress = new Progress(options.rounds * 2 + 3, 'bench actor');
  const ours = await actorThroughput(options, progress);
  const base = await baseline(options, progress);
  const simRate = await simulated(options, progress);
  const throughput = median(ours.rounds);
  const baselineThroughput = median(base.rounds);
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
  };
  const rows: Row[] = [
    { name: 'one-way throughput (median)', ours: result.throughput_msgs_per_s, baseline: result.baseline_msgs_per_s, ratio: result.throughput_ratio, unit: 'msgs/s', note: 'target ratio >= 5' },
    { name: 'ask round trip p50', ours: result.rtt_p50_us, baseline: result.baseline_rtt_p50_us, ratio: result.rtt_p50_ratio, unit: 'us', note: 'target ratio <= 1.5' },
    { name: 'ask round trip p99', ours: result.rtt_p99_us, baseline: result.baseline_rtt_p99_us, ratio: round(result.rtt_p99_us / result.baseline_rtt_p99_us), unit: 'us' },
    { name: 'simulated runtime', ours: result.sim_msgs_per_s, unit: 'msgs/s (wall)', note: 'target >= 1,000,000' },
  ];
  const table = renderTable(
    `actor messaging: ${options.messages.toLocaleString('en-US')} envelopes x ${options.rounds} rounds, ${options.rttSamples.toLocaleString('en-US')} asks; baseline = bare structured-clone postMessage between two workers`,
    rows,
    'bare workers',
  );
  return { result, table };
}
