/**
 * The actor API in one page: define two behaviours, spawn them in their own
 * threads, ask, cut the link between them and see the typed timeout, heal,
 * and see them recover. Run it with `npm run example` (threaded) or
 * `npm run example -- --sim` (the same program in the simulated runtime).
 */
import {
  AskTimeoutError,
  SimulatedSystem,
  ThreadedSystem,
  defineBehaviour,
  unhandled,
  type ActorSystem,
  type Message,
} from '../src/actor/index.js';
import { isMainThread } from 'node:worker_threads';

type PongMsg = Message<'ping', { n: number }>;
type PingMsg = Message<'serve', { peer: string; rounds: number }>;

/** Answers every ping with the next number. */
export const pong = defineBehaviour<PongMsg>(import.meta.url, 'pong', (ctx) => ({
  receive(msg) {
    if (msg.type !== 'ping') return unhandled;
    ctx.log.debug({ n: msg.body.n }, 'ping');
    return { n: msg.body.n + 1, at: ctx.now() };
  },
}));

/** Plays `rounds` of ping-pong with a peer; reports how many rounds got an answer within 200 ms. */
export const ping = defineBehaviour<PingMsg>(import.meta.url, 'ping', (ctx) => ({
  async receive(msg) {
    if (msg.type !== 'serve') return unhandled;
    let answered = 0;
    let timedOut = 0;
    let n = 0;
    for (let round = 0; round < msg.body.rounds; round++) {
      try {
        const reply = await ctx.ask<{ n: number }>(msg.body.peer, { type: 'ping', body: { n } }, { timeoutMs: 200 });
        n = reply.n;
        answered++;
      } catch (error) {
        if (!(error instanceof AskTimeoutError)) throw error;
        timedOut++;
      }
    }
    return { answered, timedOut, n };
  },
}));

async function play(system: ActorSystem, settle: <T>(p: Promise<T>) => Promise<T>): Promise<void> {
  const pinger = await system.spawn(ping, { name: 'pinger' });
  await system.spawn(pong, { name: 'ponger' });
  const serve = (rounds: number) => settle(pinger.ask<{ answered: number; timedOut: number; n: number }>({ type: 'serve', body: { peer: 'ponger', rounds } }, { timeoutMs: 10_000 }));

  console.log('healthy       ', await serve(100));

  const cut = await system.faults.partition(['pinger'], ['ponger']);
  console.log('partitioned   ', await serve(3), '← every ask ends in an AskTimeoutError');

  await system.faults.heal(cut);
  console.log('healed        ', await serve(100));

  await system.faults.link({ from: ['pinger'], to: ['ponger'], drop: 0.3 });
  console.log('30% loss      ', await serve(100));

  const { actors } = await system.inspect();
  for (const a of actors) console.log(`${a.name.padEnd(8)} thread=${a.thread} received=${a.received} sent=${a.sent}`);
}

// Every thread that hosts `ping` or `pong` imports this module: only the main thread plays.
const useSim = process.argv.includes('--sim');
if (!isMainThread) {
  // a host thread: the exports above are all it needs
} else if (useSim) {
  const sim = new SimulatedSystem({ seed: 42 });
  console.log(`simulated runtime, seed ${sim.seed}`);
  await play(sim, (p) => sim.settle(p, { maxMs: 600_000 }));
  console.log(`virtual time elapsed: ${sim.now() - 1_700_000_000_000} ms; trace hash ${sim.traceHash()} (same seed, same hash)`);
  await sim.shutdown();
} else {
  const system = new ThreadedSystem({ seed: 42 });
  console.log(`threaded runtime, seed ${system.seed}`);
  try {
    await play(system, (p) => p);
  } finally {
    await system.shutdown();
  }
}
