/**
 * Behaviours the runtime's own tests run in both runtimes. They live in src/
 * (not in a test file) because worker threads import them by module URL.
 */
import { defineBehaviour, unhandled, type DownEvent, type PeerDownEvent } from '../behaviour.js';
import type { Message } from '../protocol.js';

export type EchoMsg =
  | Message<'echo', unknown>
  | Message<'crash', string>
  | Message<'crash-async', string>
  | Message<'later', { ms: number; value: unknown }>
  | Message<'never', null>
  | Message<'now', null>
  | Message<'random', null>
  | Message<'stop', null>
  | Message<'tick', number>
  | Message<'ticks', null>
  | Message<'forward', { to: string; msg: Message }>
  | Message<'ask-peer', { to: string; msg: Message; timeoutMs: number }>
  | Message<'spawn-child', { name: string }>
  | Message<'watch', string>
  | Message<'downs', null>
  | Message<'monitor', string>
  | Message<'peer-downs', null>;

/** A test double with one message per runtime feature it exercises. */
export const echo = defineBehaviour<EchoMsg, { tag?: string } | undefined>(import.meta.url, 'echo', (ctx, args) => {
  let ticks = 0;
  const downs: DownEvent[] = [];
  /** With the time each was heard (this actor's clock). */
  const peerDowns: Array<PeerDownEvent & { atMs: number }> = [];
  const pendingLater: { resolve: (v: unknown) => void; value: unknown }[] = [];
  return {
    receive(msg) {
      switch (msg.type) {
        case 'echo':
          return { tag: args?.tag ?? null, from: ctx.name, value: msg.body };
        case 'crash':
          throw new Error(msg.body);
        case 'crash-async':
          return Promise.resolve().then(() => {
            throw new Error(msg.body);
          });
        case 'later':
          return new Promise((resolve) => {
            ctx.timer('later', msg.body.ms, { type: 'tick', body: 0 });
            pendingLater.push({ resolve, value: msg.body.value });
          });
        case 'never':
          return new Promise(() => undefined);
        case 'now':
          return ctx.now();
        case 'random':
          return ctx.random();
        case 'stop':
          ctx.stopSelf();
          return null;
        case 'tick':
          ticks++;
          for (const p of pendingLater.splice(0)) p.resolve(p.value);
          return null;
        case 'ticks':
          return ticks;
        case 'forward':
          ctx.send(msg.body.to, msg.body.msg);
          return null;
        case 'ask-peer':
          return ctx.ask(msg.body.to, msg.body.msg, { timeoutMs: msg.body.timeoutMs }).then(
            (value) => ({ ok: true, value }),
            (error: Error) => ({ ok: false, error: error.name }),
          );
        case 'spawn-child':
          ctx.spawn(echo, { name: msg.body.name, args: { tag: 'child' } });
          return msg.body.name;
        case 'watch':
          ctx.watch(msg.body);
          return null;
        case 'downs':
          return downs;
        case 'monitor':
          ctx.monitor(msg.body);
          return null;
        case 'peer-downs':
          return peerDowns;
        default:
          return unhandled;
      }
    },
    onDown(event) {
      downs.push(event);
    },
    onPeerDown(event) {
      peerDowns.push({ ...event, atMs: ctx.now() });
    },
    inspect: () => ({ ticks }),
    metrics: () => `# HELP echo_ticks_total Timer ticks this echo handled.\n# TYPE echo_ticks_total counter\necho_ticks_total{component="${ctx.name}"} ${ticks}\n`,
  };
});

export type CounterMsg = Message<'inc', number> | Message<'get', null>;

/** Durable counter: every increment is appended to its log and fsynced before the reply. */
export const durableCounter = defineBehaviour<CounterMsg, void>(import.meta.url, 'durable-counter', (ctx) => {
  const decode = (bytes: Uint8Array | undefined): number => {
    if (bytes === undefined) return 0;
    let sum = 0;
    for (let i = 0; i + 4 <= bytes.length; i += 4) sum += new DataView(bytes.buffer, bytes.byteOffset + i, 4).getInt32(0, true);
    return sum;
  };
  let total = decode(ctx.disk.read('counter.log'));
  return {
    receive(msg) {
      switch (msg.type) {
        case 'inc': {
          const record = new Uint8Array(4);
          new DataView(record.buffer).setInt32(0, msg.body, true);
          const fresh = ctx.disk.size('counter.log') === undefined;
          ctx.disk.append('counter.log', record);
          ctx.disk.fsync('counter.log');
          if (fresh) ctx.disk.fsyncDir();
          total += msg.body;
          return total;
        }
        case 'get':
          return total;
        default:
          return unhandled;
      }
    },
  };
});

export type BackgroundCounterMsg = Message<'inc', number> | Message<'get', null> | Message<'completions', null>;

/**
 * A counter whose increments are appended and fsynced off its thread
 * (`Disk.inBackground`): `inc` answers once its fsync's completion arrived, so
 * an answered increment must survive any crash. `completions` lists the
 * background operations' ends in the order the actor saw them.
 */
export const backgroundCounter = defineBehaviour<BackgroundCounterMsg, void>(import.meta.url, 'background-counter', (ctx) => {
  const path = 'counter.log';
  const bytes = ctx.disk.read(path);
  if (bytes === undefined) {
    ctx.disk.write(path, new Uint8Array(0));
    ctx.disk.fsync(path);
    ctx.disk.fsyncDir();
  }
  let total = 0;
  for (let i = 0; bytes !== undefined && i + 4 <= bytes.length; i += 4) total += new DataView(bytes.buffer, bytes.byteOffset + i, 4).getInt32(0, true);
  const completions: string[] = [];
  return {
    receive(msg) {
      switch (msg.type) {
        case 'inc':
          return new Promise<number>((resolve, reject) => {
            const record = new Uint8Array(4);
            new DataView(record.buffer).setInt32(0, msg.body, true);
            ctx.disk.inBackground({ type: 'append', path, data: record }, (error) => {
              completions.push(`append ${msg.body}`);
              if (error !== undefined) reject(error);
            });
            ctx.disk.inBackground({ type: 'fsync', path }, (error) => {
              completions.push(`fsync ${msg.body}`);
              if (error !== undefined) return reject(error);
              total += msg.body;
              resolve(total);
            });
          });
        case 'get':
          return total;
        case 'completions':
          return completions;
        default:
          return unhandled;
      }
    },
  };
});

export type SinkMsg = Message<'bind', { pod: string; node: string }> | Message<'count', null> | Message<'ping', number>;

/** Counts what it receives; answers `ping` at once. The benchmark's receiver. */
export const sink = defineBehaviour<SinkMsg, void>(import.meta.url, 'sink', () => {
  let received = 0;
  return {
    receive(msg) {
      switch (msg.type) {
        case 'bind':
          received++;
          return undefined;
        case 'count':
          return received;
        case 'ping':
          return msg.body;
        default:
          return unhandled;
      }
    },
    inspect: () => ({ received }),
  };
});

export type RelayMsg = Message<'burst', { to: string; count: number }> | Message<'hop', number> | Message<'count', null>;

/** Sends bursts to a peer and counts hops; drives the simulated runtime's throughput figure. */
export const relay = defineBehaviour<RelayMsg, { peer: string }>(import.meta.url, 'relay', (ctx, args) => {
  let hops = 0;
  return {
    receive(msg) {
      switch (msg.type) {
        case 'burst':
          for (let i = 0; i < msg.body.count; i++) ctx.send(msg.body.to, { type: 'hop', body: i });
          return null;
        case 'hop':
          hops++;
          if (msg.body > 0) ctx.send(args.peer, { type: 'hop', body: msg.body - 1 });
          return undefined;
        case 'count':
          return hops;
        default:
          return unhandled;
      }
    },
  };
});

export type BatcherMsg = Message<'stall', number> | Message<'item', number> | Message<'batches', null>;

/**
 * Counts items per `afterArrivals` batch: what a group commit would cover.
 * `stall` blocks its thread (as an fsync does) so that frames pile up.
 */
export const batcher = defineBehaviour<BatcherMsg, void>(import.meta.url, 'batcher', (ctx) => {
  const batches: number[] = [];
  let pending = 0;
  return {
    receive(msg) {
      switch (msg.type) {
        case 'stall':
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, msg.body);
          return null;
        case 'item':
          if (pending++ === 0) {
            ctx.afterArrivals(() => {
              batches.push(pending);
              pending = 0;
            });
          }
          return undefined;
        case 'batches':
          return batches;
        default:
          return unhandled;
      }
    },
  };
});

export type SlicerMsg = Message<'run', { slices: number; sliceMs: number; continuation: 'afterArrivals' | 'microtask' }> | Message<'tick', null> | Message<'events', null>;

/**
 * Works in slices, as the replicas' Ready drain applies a backlog: each slice blocks its thread `sliceMs`
 * and asks for the next one (`afterArrivals`, or a microtask: the variant that never yields), with a
 * timer of 1 ms armed before the first. `events` says in what order the slices and the tick ran.
 */
export const slicer = defineBehaviour<SlicerMsg, void>(import.meta.url, 'slicer', (ctx) => {
  const events: string[] = [];
  return {
    receive(msg) {
      switch (msg.type) {
        case 'run': {
          const { slices, sliceMs, continuation } = msg.body;
          let left = slices;
          const slice = (): void => {
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, sliceMs);
            events.push('slice');
            if (--left === 0) return;
            if (continuation === 'afterArrivals') ctx.afterArrivals(slice);
            else queueMicrotask(slice);
          };
          ctx.timer('t', 1, { type: 'tick', body: null });
          ctx.afterArrivals(slice);
          return null;
        }
        case 'tick':
          events.push('tick');
          return undefined;
        case 'events':
          return events;
        default:
          return unhandled;
      }
    },
  };
});

export type TickingMsg = Message<'tick', null> | Message<'work', null> | Message<'stall', number> | Message<'ticks', null>;

/**
 * Ticks every `periodMs` and records when each tick arrived. `mode: 'ticker'`
 * uses the runtime's fixed-rate ticker; `'rearm'` re-arms a one-shot timer
 * from inside the tick handler (the drifting way, kept to prove the tests of
 * the ticker would catch it). With `workEveryMs`, a timer of its own does an
 * fsync that often, so a slow-fsync fault keeps the actor busy when ticks fall due.
 */
export const ticking = defineBehaviour<TickingMsg, { periodMs: number; mode: 'ticker' | 'rearm'; workEveryMs?: number }>(
  import.meta.url,
  'ticking',
  (ctx, args) => {
    const tickTimesMs: number[] = [];
    const startedAtMs = ctx.now();
    if (args.mode === 'ticker') ctx.ticker('tick', args.periodMs, { type: 'tick', body: null });
    else ctx.timer('tick', args.periodMs, { type: 'tick', body: null });
    if (args.workEveryMs !== undefined) ctx.timer('work', args.workEveryMs, { type: 'work', body: null });
    return {
      receive(msg) {
        switch (msg.type) {
          case 'tick':
            tickTimesMs.push(ctx.now());
            if (args.mode === 'rearm') ctx.timer('tick', args.periodMs, { type: 'tick', body: null });
            return undefined;
          case 'work':
            ctx.disk.append('work', new Uint8Array(16));
            ctx.disk.fsync('work');
            ctx.timer('work', args.workEveryMs ?? 0, { type: 'work', body: null });
            return undefined;
          case 'stall':
            // Blocks the thread as a long fsync or snapshot would.
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, msg.body);
            return null;
          case 'ticks':
            return { startedAtMs, tickTimesMs };
          default:
            return unhandled;
        }
      },
    };
  },
);

/**
 * Answers `echo` asks; every incarnation after the first blocks its thread in
 * the factory for `restartBlockMs`, as a replica replaying a long log does.
 */
export const slowRestart = defineBehaviour<Message<'echo', unknown>, { restartBlockMs: number }>(import.meta.url, 'slow-restart', (ctx, args) => {
  if (ctx.disk.read('started') !== undefined) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, args.restartBlockMs);
  else {
    ctx.disk.write('started', new Uint8Array([1]));
    ctx.disk.fsync('started');
  }
  return {
    receive: (msg) => (msg.type === 'echo' ? msg.body : unhandled),
  };
});

export type HeapLimitsMsg = Message<'young-generation-mb', null> | Message<'thread-nice', null>;

/** Answers the young-generation limit of the thread it runs in (threaded runtime; undefined on the main thread), or its thread's nice value. */
export const heapLimits = defineBehaviour<HeapLimitsMsg, null>(import.meta.url, 'heap-limits', () => ({
  async receive(msg) {
    if (msg.type === 'thread-nice') {
      // Linux: this thread's own nice value (a thread id from /proc/thread-self), and the process's (its main thread's).
      const [{ readlinkSync }, { getPriority }] = await Promise.all([import('node:fs'), import('node:os')]);
      return { thread: getPriority(Number(readlinkSync('/proc/thread-self').split('/').pop())), process: getPriority(process.pid) };
    }
    if (msg.type !== 'young-generation-mb') return unhandled;
    // A test fixture, not a component: it reads its thread's own limits.
    const { resourceLimits } = await import('node:worker_threads');
    return resourceLimits.maxYoungGenerationSizeMb ?? null;
  },
}));
