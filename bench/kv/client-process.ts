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
import { readFileSync } from 'node:fs';
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
  /**
   * This process's CPU (user + system, all its threads) over the phase, in µs: on a machine of two cores the
   * clients compete with the store for the same CPU, so a row's ceiling is set by client and server CPU per call.
   */
  cpuUs: number;
  /**
   * This process's read and write system calls over the phase (Linux's /proc/self/io; absent elsewhere): a server
   * that answers each call in a write of its own costs its client a socket read, and a JS callback, per call.
   */
  syscalls?: { reads: number; writes: number };
}

export type ClientProcessMessage =
  | { type: 'ready' }
  | ({ type: 'result' } & ProcessPhaseOutcome)
  | { type: 'failed'; message: string };

/** Read and write system calls so far (/proc/self/io's syscr and syscw), or undefined where there is no /proc. */
function syscallCounts(): { reads: number; writes: number } | undefined {
  try {
    const io = readFileSync('/proc/self/io', 'utf8');
    return { reads: Number(/syscr:\s+(\d+)/.exec(io)?.[1]), writes: Number(/syscw:\s+(\d+)/.exec(io)?.[1]) };
  } catch {
    return undefined;
  }
}

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
    const syscallsBefore = syscallCounts();
    const cpuBefore = process.cpuUsage();
    const result = await runPhase(kv, clock, args.spec);
    const cpu = process.cpuUsage(cpuBefore);
    const syscallsAfter = syscallCounts();
    // The phase's own timing, not the go message's: a CAS phase seeds its keys before it starts the clock.
    const endedAtMs = epochNowMs();
    const outcome: ProcessPhaseOutcome = { result, startedAtMs: endedAtMs - result.elapsedMs, endedAtMs, cpuUs: cpu.user + cpu.system };
    if (syscallsBefore !== undefined && syscallsAfter !== undefined) {
      outcome.syscalls = { reads: syscallsAfter.reads - syscallsBefore.reads, writes: syscallsAfter.writes - syscallsBefore.writes };
    }
    await send({ type: 'result', ...outcome });
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
