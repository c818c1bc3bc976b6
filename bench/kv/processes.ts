/**
 * The kv benchmark's cross-process load: one load phase split over several
 * client processes (client-process.ts), each with its own etcd3 client, all
 * told to go at once; their counts and latencies merged into one figure. The
 * same code drives etcd and our store's gRPC face, so these rows compare the
 * stores through one client and one process layout.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { exactPercentile } from '../lib/stats.js';
import type { ClientProcessArgs, ClientProcessMessage, ProcessPhaseOutcome } from './client-process.js';
import type { PhaseSpec } from './workload.js';

export type LoadSpec = Extract<PhaseSpec, { kind: 'load' }>;

/** A phase run across processes, merged. */
export interface CrossProcessResult {
  processes: number;
  /** Successful operations of every process, over the window from the first start to the last end. */
  opsPerS: number;
  ops: number;
  errors: number;
  firstError?: string;
  windowMs: number;
  /** The client processes' CPU over their phases, summed, in µs (see ProcessPhaseOutcome.cpuUs). */
  clientCpuUs: number;
  /** The client processes' read and write system calls over their phases, summed (absent without /proc). */
  clientSyscalls?: { reads: number; writes: number };
  /** Percentiles of every successful operation's latency, all processes' samples together (none dropped), in µs. */
  latencyUs: { p50: number; p90: number; p99: number; max: number; count: number };
}

/** A child that has not connected by then is wedged (a process start and one gRPC read: well under a second normally). */
const READY_TIMEOUT_MS = 60_000;
/** Past the phase's own duration: CAS seeding, the last calls' 5 s deadlines, a loaded machine. */
const RESULT_MARGIN_MS = 60_000;

/**
 * `total` outstanding requests over `processes`: as even as can be, none
 * without work (so `processes` is at most `total`).
 */
export function splitOutstanding(total: number, processes: number): number[] {
  if (!Number.isInteger(total) || !Number.isInteger(processes) || processes < 1 || total < processes) {
    throw new Error(`cannot split ${total} outstanding requests over ${processes} processes`);
  }
  const base = Math.floor(total / processes);
  return Array.from({ length: processes }, (_, i) => base + (i < total % processes ? 1 : 0));
}

/**
 * Each process's spec: its share of the outstanding requests, and (for CAS,
 * where a worker owns the key named by its index) a prefix of its own so two
 * processes' workers never contend for one key. Puts and gets share keys, as
 * one client's workers do.
 */
export function processSpecs(spec: LoadSpec, processes: number): LoadSpec[] {
  return splitOutstanding(spec.outstanding, processes).map((outstanding, i) => ({
    ...spec, outstanding, recordLatencies: true,
    prefix: spec.op === 'cas' ? `${spec.prefix}p${i}/` : spec.prefix,
  }));
}

/** Merge what the processes did: counts add up, throughput over the common window, every latency sample kept. */
export function mergeOutcomes(outcomes: readonly ProcessPhaseOutcome[]): CrossProcessResult {
  if (outcomes.length === 0) throw new Error('mergeOutcomes: no process reported');
  const startMs = Math.min(...outcomes.map((o) => o.startedAtMs));
  const endMs = Math.max(...outcomes.map((o) => o.endedAtMs));
  const windowMs = endMs - startMs;
  const ops = outcomes.reduce((sum, o) => sum + o.result.ops, 0);
  const errors = outcomes.reduce((sum, o) => sum + o.result.errors, 0);
  const samples = outcomes.flatMap((o) => o.result.latenciesUs);
  const at = (p: number) => (samples.length === 0 ? 0 : exactPercentile(samples, p));
  const merged: CrossProcessResult = {
    processes: outcomes.length, opsPerS: windowMs > 0 ? ops / (windowMs / 1000) : 0, ops, errors, windowMs,
    clientCpuUs: outcomes.reduce((sum, o) => sum + o.cpuUs, 0),
    latencyUs: { p50: at(50), p90: at(90), p99: at(99), max: at(100), count: samples.length },
  };
  if (outcomes.every((o) => o.syscalls !== undefined)) {
    merged.clientSyscalls = {
      reads: outcomes.reduce((sum, o) => sum + o.syscalls!.reads, 0),
      writes: outcomes.reduce((sum, o) => sum + o.syscalls!.writes, 0),
    };
  }
  const firstError = outcomes.find((o) => o.result.firstError !== undefined)?.result.firstError;
  if (firstError !== undefined) merged.firstError = firstError;
  return merged;
}

const CHILD = fileURLToPath(new URL('./client-process.js', import.meta.url));

/** Wait for one message of `type` from a child (or its failure or exit), within `timeoutMs`. */
function next<T extends ClientProcessMessage['type']>(child: ChildProcess, type: T, timeoutMs: number): Promise<Extract<ClientProcessMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`client process ${child.pid}: no '${type}' within ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (m: ClientProcessMessage) => {
      if (m.type === type) done(undefined, m as Extract<ClientProcessMessage, { type: T }>);
      else if (m.type === 'failed') done(new Error(`client process ${child.pid} failed: ${m.message}`));
    };
    const onExit = (code: number | null, signal: string | null) => done(new Error(`client process ${child.pid} exited (${signal ?? code}) before '${type}'`));
    function done(error: Error | undefined, m?: Extract<ClientProcessMessage, { type: T }>) {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (error !== undefined) reject(error);
      else resolve(m!);
    }
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

/** Run `spec` split over `processes` client processes on `endpoint`; every child is gone when this settles. */
export async function runAcrossProcesses(endpoint: string, spec: LoadSpec, processes: number): Promise<CrossProcessResult> {
  const children = processSpecs(spec, processes).map((s) => {
    const args: ClientProcessArgs = { endpoint, spec: s };
    return fork(CHILD, [JSON.stringify(args)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], env: { ...process.env, LOG_LEVEL: 'error' } });
  });
  try {
    await Promise.all(children.map((c) => next(c, 'ready', READY_TIMEOUT_MS)));
    const results = children.map((c) => next(c, 'result', spec.durationMs + RESULT_MARGIN_MS));
    for (const c of children) c.send({ type: 'go' });
    return mergeOutcomes(await Promise.all(results));
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
}
