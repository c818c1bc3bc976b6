/**
 * The kv benchmark's workload, written once against `BenchKv` so that
 * kubethreads' store (driven from inside an actor) and the real etcd (driven
 * through the etcd3 client) run exactly the same operations with the same keys
 * and values. No I/O of its own: the store and the clock are injected.
 *
 * Bench instruments read a high-resolution clock (`BenchClock.nowMs`): they
 * measure the system, they are not behaviour under test.
 */

/** The five things the workload asks of a store. */
export interface BenchKv {
  /** Put and resolve with the revision the put created. */
  put(key: string, value: string): Promise<number>;
  /** A linearizable get (or, with `serializable`, the serving member's local state); null when the key is absent. */
  get(key: string, serializable?: boolean): Promise<string | null>;
  /** Put `value` if the key's value is `expected`, in one txn; resolves with whether it did. */
  cas(key: string, expected: string, value: string): Promise<boolean>;
  /** Watch puts under `prefix`; resolves once asked (the watch may go live a little later); the result cancels it. */
  watchPrefix(prefix: string, onPut: (key: string, revision: number) => void): Promise<() => void>;
  /** Delete every key under `prefix`, then compact the store to that revision. */
  cleanup(prefix: string): Promise<void>;
}

export interface BenchClock {
  /** Milliseconds, sub-millisecond precision, comparable within one thread. */
  nowMs(): number;
  sleep(ms: number): Promise<void>;
}

/** A phase of the workload: what the orchestrator asks each side to run. */
export type PhaseSpec =
  /** `count` puts one at a time; every latency recorded. */
  | { kind: 'sequentialPuts'; prefix: string; count: number; valueBytes: number }
  /** `count` distinct keys written with `outstanding` in flight; not measured (setup for gets). */
  | { kind: 'populate'; prefix: string; count: number; valueBytes: number; outstanding: number }
  /**
   * Puts to `keyspace` keys, linearizable gets of `keyspace` populated keys,
   * serializable gets of them (no consensus, no disk: the client's own ceiling),
   * or compare-and-swaps on one key per worker.
   */
  | {
      kind: 'load'; op: 'put' | 'get' | 'serializableGet' | 'cas'; prefix: string; outstanding: number; durationMs: number; valueBytes: number; keyspace: number;
      /** Time every successful operation into `latenciesUs` (the cross-process rows report their percentiles). */
      recordLatencies?: boolean;
    }
  /** `count` sequential puts under a watched prefix; put acknowledged → event received, per put. */
  | { kind: 'watchLatency'; prefix: string; count: number; valueBytes: number }
  | { kind: 'cleanup'; prefix: string };

export interface PhaseResult {
  /** Operations that succeeded. */
  ops: number;
  errors: number;
  /** The first error's message, to show when a side misbehaves. */
  firstError?: string;
  elapsedMs: number;
  /** Per-operation latencies in microseconds (sequential phases, and load phases asked to record them). */
  latenciesUs: number[];
  /**
   * sequentialPuts: when each acknowledged put was sent (`BenchClock.nowMs`, epoch ms on the threaded runtime), beside
   * `latenciesUs`: lines the slow puts up with what other threads did meanwhile (scripts/kv-seq-tail.mjs).
   */
  startsMs?: number[];
  /** watchLatency: events that arrived before their put's acknowledgement (recorded as 0). */
  eventsBeforeAck?: number;
  /** watchLatency: put sent → event received, in microseconds (the put's own latency included). */
  sentToEventUs?: number[];
  /** cas: txns whose compare failed (none expected: each worker owns its key). */
  casFailed?: number;
}

/** A load phase stops early after this many errors: a broken side must not spin for the whole duration. */
export const LOAD_ERRORS_MAX = 1_000;
/** How long the watch phase waits for one event before counting it missed. */
export const WATCH_EVENT_TIMEOUT_MS = 5_000;
/** Sentinel puts tried while waiting for a new watch to go live (one every WATCH_READY_RETRY_MS). */
const WATCH_READY_ATTEMPTS_MAX = 100;
const WATCH_READY_RETRY_MS = 50;
/** The failover writer pauses this long after a failed put so a dead side does not become a busy loop. */
export const WRITER_ERROR_PAUSE_MS = 10;
/** How often a stopping writer checks whether writes have resumed. */
const WRITER_POLL_MS = 10;
/** Failed puts the failover writer keeps the detail of. */
const WRITER_ERROR_LOG_MAX = 50;
/** Keys the failover writer cycles through. */
const WRITER_KEYS = 100;

const FILLER_UNIT = 'kubethreads-kv-bench-';
let filler = FILLER_UNIT.repeat(64);

/** A value of exactly `bytes` ASCII bytes that differs per `seq` (so every CAS really swaps). */
export function makeValue(seq: number, bytes: number): string {
  const head = `${seq}:`;
  if (head.length >= bytes) return head.slice(0, bytes);
  // Grown once to the largest size asked for (bench snapshot writes values of 64 KiB).
  if (bytes - head.length > filler.length) filler = FILLER_UNIT.repeat(Math.ceil(bytes / FILLER_UNIT.length));
  return head + filler.slice(0, bytes - head.length);
}

function message(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

export async function runPhase(kv: BenchKv, clock: BenchClock, spec: PhaseSpec): Promise<PhaseResult> {
  switch (spec.kind) {
    case 'sequentialPuts':
      return sequential(clock, spec.count, (n) => kv.put(`${spec.prefix}${n}`, makeValue(n, spec.valueBytes)));
    case 'populate': {
      const result = await bounded(clock, spec.outstanding, spec.count, (n) => kv.put(`${spec.prefix}${n}`, makeValue(n, spec.valueBytes)));
      if (result.errors > 0) throw new Error(`populate ${spec.prefix}: ${result.errors} of ${spec.count} puts failed (${result.firstError})`);
      return result;
    }
    case 'load':
      return load(kv, clock, spec);
    case 'watchLatency':
      return watchLatency(kv, clock, spec.prefix, spec.count, spec.valueBytes);
    case 'cleanup': {
      const started = clock.nowMs();
      await kv.cleanup(spec.prefix);
      return { ops: 1, errors: 0, elapsedMs: clock.nowMs() - started, latenciesUs: [] };
    }
  }
}

async function sequential(clock: BenchClock, count: number, op: (n: number) => Promise<unknown>): Promise<PhaseResult> {
  const latenciesUs: number[] = [];
  const startsMs: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const started = clock.nowMs();
  for (let n = 0; n < count; n++) {
    const t0 = clock.nowMs();
    try {
      await op(n);
      latenciesUs.push((clock.nowMs() - t0) * 1000);
      startsMs.push(t0);
    } catch (error) {
      errors++;
      firstError ??= message(error);
    }
  }
  return { ops: latenciesUs.length, errors, firstError, elapsedMs: clock.nowMs() - started, latenciesUs, startsMs };
}

/** Exactly `count` operations, `outstanding` at a time. */
async function bounded(clock: BenchClock, outstanding: number, count: number, op: (n: number) => Promise<unknown>): Promise<PhaseResult> {
  let next = 0;
  let ops = 0;
  let errors = 0;
  let firstError: string | undefined;
  const started = clock.nowMs();
  const worker = async (): Promise<void> => {
    while (next < count) {
      const n = next++;
      try {
        await op(n);
        ops++;
      } catch (error) {
        errors++;
        firstError ??= message(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(outstanding, count) }, worker));
  return { ops, errors, firstError, elapsedMs: clock.nowMs() - started, latenciesUs: [] };
}

/** `outstanding` workers, each one request at a time, until `durationMs` has passed; throughput counts successes only. */
async function load(kv: BenchKv, clock: BenchClock, spec: Extract<PhaseSpec, { kind: 'load' }>): Promise<PhaseResult> {
  let next = 0;
  let ops = 0;
  let errors = 0;
  let casFailed = 0;
  let firstError: string | undefined;
  // CAS: each worker owns one key and knows its value, so every compare should hold.
  const expected: string[] = [];
  if (spec.op === 'cas') {
    for (let w = 0; w < spec.outstanding; w++) expected.push(makeValue(-1 - w, spec.valueBytes));
    await Promise.all(expected.map((value, w) => kv.put(`${spec.prefix}${w}`, value)));
  }
  const operation = async (worker: number, n: number): Promise<void> => {
    switch (spec.op) {
      case 'put':
        await kv.put(`${spec.prefix}${n % spec.keyspace}`, makeValue(n, spec.valueBytes));
        return;
      case 'get':
      case 'serializableGet': {
        const value = await kv.get(`${spec.prefix}${n % spec.keyspace}`, spec.op === 'serializableGet');
        if (value === null) throw new Error(`get ${spec.prefix}${n % spec.keyspace}: the key was populated but reads as absent`);
        return;
      }
      case 'cas': {
        const value = makeValue(n, spec.valueBytes);
        if (await kv.cas(`${spec.prefix}${worker}`, expected[worker]!, value)) expected[worker] = value;
        else casFailed++;
        return;
      }
    }
  };
  const latenciesUs: number[] = [];
  const started = clock.nowMs();
  let end = started + spec.durationMs;
  const worker = async (w: number): Promise<void> => {
    while (clock.nowMs() < end) {
      const n = next++;
      const t0 = spec.recordLatencies === true ? clock.nowMs() : 0;
      try {
        await operation(w, n);
        ops++;
        if (spec.recordLatencies === true) latenciesUs.push((clock.nowMs() - t0) * 1000);
      } catch (error) {
        errors++;
        firstError ??= message(error);
        if (errors >= LOAD_ERRORS_MAX) end = 0;
      }
    }
  };
  await Promise.all(Array.from({ length: spec.outstanding }, (_, w) => worker(w)));
  const result: PhaseResult = { ops, errors, firstError, elapsedMs: clock.nowMs() - started, latenciesUs };
  if (spec.op === 'cas') result.casFailed = casFailed;
  return result;
}

/**
 * Sequential puts under a watched prefix. Each put waits for its own event
 * before the next starts, so one slow delivery cannot queue the rest behind it.
 * An event that beats its put's acknowledgement is kept as the negative sample
 * it is (never clamped to 0) and counted in `eventsBeforeAck`; the headline
 * figure is put sent -> event, which cannot go negative.
 */
async function watchLatency(kv: BenchKv, clock: BenchClock, prefix: string, count: number, valueBytes: number): Promise<PhaseResult> {
  const arrivals = new Map<number, number>();
  let waiting: { revision: number; resolve: () => void } | undefined;
  const cancel = await kv.watchPrefix(prefix, (_key, revision) => {
    arrivals.set(revision, clock.nowMs());
    if (waiting !== undefined && waiting.revision === revision) waiting.resolve();
  });
  try {
    await untilLive(kv, clock, prefix, arrivals);
    arrivals.clear();
    const latenciesUs: number[] = [];
    const sentToEventUs: number[] = [];
    let errors = 0;
    let eventsBeforeAck = 0;
    let firstError: string | undefined;
    const started = clock.nowMs();
    for (let n = 0; n < count; n++) {
      let revision: number;
      const sentMs = clock.nowMs();
      try {
        revision = await kv.put(`${prefix}${n}`, makeValue(n, valueBytes));
      } catch (error) {
        errors++;
        firstError ??= message(error);
        continue;
      }
      const ackMs = clock.nowMs();
      if (!arrivals.has(revision)) {
        const arrived = new Promise<void>((resolve) => (waiting = { revision, resolve }));
        await Promise.race([arrived, clock.sleep(WATCH_EVENT_TIMEOUT_MS)]);
        waiting = undefined;
      } else {
        eventsBeforeAck++;
      }
      const eventMs = arrivals.get(revision);
      arrivals.delete(revision);
      if (eventMs === undefined) {
        errors++;
        firstError ??= `no watch event for revision ${revision} within ${WATCH_EVENT_TIMEOUT_MS} ms`;
        continue;
      }
      latenciesUs.push((eventMs - ackMs) * 1000);
      sentToEventUs.push((eventMs - sentMs) * 1000);
    }
    return { ops: latenciesUs.length, errors, firstError, elapsedMs: clock.nowMs() - started, latenciesUs, eventsBeforeAck, sentToEventUs };
  } finally {
    cancel();
  }
}

/** A watch asked for may go live a moment later: put a sentinel until its event comes back. */
async function untilLive(kv: BenchKv, clock: BenchClock, prefix: string, arrivals: Map<number, number>): Promise<void> {
  for (let attempt = 0; attempt < WATCH_READY_ATTEMPTS_MAX; attempt++) {
    const revision = await kv.put(`${prefix}ready`, makeValue(attempt, 16));
    for (let waitedMs = 0; waitedMs < WATCH_READY_RETRY_MS; waitedMs += 5) {
      if (arrivals.has(revision)) return;
      await clock.sleep(5);
    }
  }
  throw new Error(`watch on ${prefix} delivered none of ${WATCH_READY_ATTEMPTS_MAX} sentinel puts`);
}

/** What the failover writer saw: when each put was acknowledged. */
export interface WriterResult {
  acksMs: number[];
  errors: number;
  firstError?: string;
  /** The first failed puts, when each failed (epoch ms) and why: what the client went through during the outage. */
  errorLog: Array<{ atMs: number; message: string }>;
  /** Writes were acknowledged again after the outage before the writer stopped. */
  resumed: boolean;
}

/** Sequential puts until stopped; every acknowledgement's time is kept. */
export class FailoverWriter {
  private stopped = false;
  private readonly acksMs: number[] = [];
  private errors = 0;
  private firstError: string | undefined;
  private readonly errorLog: WriterResult['errorLog'] = [];
  private readonly done: Promise<void>;

  constructor(private readonly kv: BenchKv, private readonly clock: BenchClock, private readonly prefix: string, private readonly valueBytes: number) {
    this.done = this.loop();
  }

  private async loop(): Promise<void> {
    for (let n = 0; !this.stopped; n++) {
      try {
        await this.kv.put(`${this.prefix}${n % WRITER_KEYS}`, makeValue(n, this.valueBytes));
        this.acksMs.push(this.clock.nowMs());
      } catch (error) {
        this.errors++;
        this.firstError ??= message(error);
        if (this.errorLog.length < WRITER_ERROR_LOG_MAX) this.errorLog.push({ atMs: this.clock.nowMs(), message: message(error) });
        await this.clock.sleep(WRITER_ERROR_PAUSE_MS);
      }
    }
  }

  /**
   * Stop once `acksAfter` puts acknowledged after `sinceMs` (epoch ms, e.g. when a new
   * leader was seen) are in, or after `timeoutMs`: the gap is then measured across the
   * whole outage, not cut short. `resumed` says whether writes came back in time.
   */
  async stopAfterResume(sinceMs: number, acksAfter: number, timeoutMs: number): Promise<WriterResult> {
    const deadline = this.clock.nowMs() + timeoutMs;
    while (this.acksSince(sinceMs) < acksAfter && this.clock.nowMs() < deadline) await this.clock.sleep(WRITER_POLL_MS);
    const resumed = this.acksSince(sinceMs) >= acksAfter;
    this.stopped = true;
    await this.done;
    return { acksMs: this.acksMs, errors: this.errors, firstError: this.firstError, errorLog: this.errorLog, resumed };
  }

  private acksSince(sinceMs: number): number {
    let n = 0;
    for (let i = this.acksMs.length - 1; i >= 0 && this.acksMs[i]! > sinceMs; i--) n++;
    return n;
  }
}

/** The longest time between two consecutive acknowledgements (0 with fewer than two). */
export function longestGapMs(acksMs: readonly number[]): number {
  let gap = 0;
  for (let i = 1; i < acksMs.length; i++) gap = Math.max(gap, acksMs[i]! - acksMs[i - 1]!);
  return gap;
}
