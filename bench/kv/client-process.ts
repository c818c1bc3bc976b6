/**
 * One client process of the kv benchmark's cross-process rows: its own
 * `etcd3` client (gRPC over loopback) on one endpoint, etcd's or our store's
 * gRPC face, running one load phase of the shared workload when told to go.
 * Forked by processes.ts; speaks only over the IPC channel:
 *
 *   parent → child  { type: 'go' }             (after every child said ready)
 *   child → parent  { type: 'ready' }          (connected: one read answered)
 *                   { type: 'result', ... }    (ProcessPhaseOutcome), then exits
 *                   { type: 'failed', message }
 *
 * An instrument, not behaviour: it reads the high-resolution clock.
 */
import { Etcd3 } from 'etcd3';
import { epochNowMs } from './driver.js';
import { benchClientOptions, etcdBenchKv } from './etcd-side.js';
import { runPhase, type BenchClock, type PhaseResult, type PhaseSpec } from './workload.js';

/** What the parent passes (JSON in argv[2]). */
export interface ClientProcessArgs {
  endpoint: string;
  spec: Extract<PhaseSpec, { kind: 'load' }>;
}

/** One child's phase as the parent receives it: epoch-ms bounds so the parent can take the common window. */
export interface ProcessPhaseOutcome {
  result: PhaseResult;
  startedAtMs: number;
  endedAtMs: number;
}

export type ClientProcessMessage =
  | { type: 'ready' }
  | ({ type: 'result' } & ProcessPhaseOutcome)
  | { type: 'failed'; message: string };

const clock: BenchClock = { nowMs: epochNowMs, sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref()) };

function send(message: ClientProcessMessage): Promise<void> {
  return new Promise((resolve) => (process.send ? process.send(message, () => resolve()) : resolve()));
}

async function main(): Promise<void> {
  const raw = process.argv[2];
  if (raw === undefined || process.send === undefined) throw new Error('client-process: run by bench kv (forked with an IPC channel and its arguments as JSON)');
  const args = JSON.parse(raw) as ClientProcessArgs;
  // Without its parent nothing will collect the result: leave rather than load the store for no one.
  process.on('disconnect', () => process.exit(1));
  const client = new Etcd3(benchClientOptions(args.endpoint));
  try {
    const kv = etcdBenchKv(client);
    // One answered read opens the channel, so connecting is not timed.
    await kv.get(`${args.spec.prefix}connect`, true);
    const go = new Promise<void>((resolve) => process.once('message', () => resolve()));
    await send({ type: 'ready' });
    await go;
    const result = await runPhase(kv, clock, args.spec);
    // The phase's own timing, not the go message's: a CAS phase seeds its keys before it starts the clock.
    const endedAtMs = epochNowMs();
    await send({ type: 'result', result, startedAtMs: endedAtMs - result.elapsedMs, endedAtMs });
  } finally {
    client.close();
  }
}

main().then(
  () => process.exit(0),
  async (error: unknown) => {
    await send({ type: 'failed', message: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
    process.exit(1);
  },
);
