/**
 * Actors of the messaging benchmark. Bench instruments may read the
 * high-resolution clock (performance.now): they measure the runtime, they are
 * not behaviour under test.
 */
import { defineBehaviour, unhandled, type Message } from '../../src/actor/index.js';

export const BIND_BODY = { pod: 'default/web-1', node: 'node-7' };

export type BlasterMsg =
  | Message<'blast', { to: string; count: number; roundSize: number; roundsInFlight: number }>
  | Message<'rtt', { to: string; count: number }>;

/** Sends `count` bind envelopes to `to`, at most `roundsInFlight` rounds ahead of the receiver's acknowledgements. */
export const blaster = defineBehaviour<BlasterMsg, void>(import.meta.url, 'blaster', (ctx) => {
  return {
    async receive(msg) {
      switch (msg.type) {
        case 'blast': {
          const { to, count, roundSize, roundsInFlight } = msg.body;
          const started = performance.now();
          const inFlight: Promise<unknown>[] = [];
          let sent = 0;
          while (sent < count) {
            const n = Math.min(roundSize, count - sent);
            for (let i = 0; i < n; i++) ctx.send(to, { type: 'bind', body: BIND_BODY });
            sent += n;
            // The ping follows the round on the same link, so its reply acknowledges the whole round.
            inFlight.push(ctx.ask(to, { type: 'ping', body: sent }, { timeoutMs: 60_000 }));
            if (inFlight.length >= roundsInFlight) await inFlight.shift();
          }
          await Promise.all(inFlight);
          return { sent, elapsedMs: performance.now() - started };
        }
        case 'rtt': {
          const samplesUs: number[] = [];
          for (let i = 0; i < msg.body.count; i++) {
            const t0 = performance.now();
            await ctx.ask(msg.body.to, { type: 'ping', body: i }, { timeoutMs: 10_000 });
            samplesUs.push((performance.now() - t0) * 1000);
          }
          return samplesUs;
        }
        default:
          return unhandled;
      }
    },
  };
});
