/**
 * The baselines: bare worker threads with no runtime at all, exchanging the
 * benchmark's envelopes over a MessageChannel. One plays the sink (counts,
 * answers pings), the other the driver (same rounds and flow control as the
 * actor benchmark). Two ways to put envelopes on the channel:
 *
 *   - 'clone': one structured-clone postMessage per envelope object;
 *   - 'batched': what the runtime's threaded transport does
 *     (src/actor/threaded/router.ts), without the runtime: every envelope
 *     sent in one turn goes into one frame, encoded by the runtime's own
 *     FrameEncoder (msgpackr), at most FRAME_ENVELOPES_MAX per frame, the
 *     frame's buffer transferred; the receiver decodes with FrameDecoder.
 *     What is left between this and the runtime is the runtime itself:
 *     routing, mailboxes, cells, the ask registry.
 */
import { parentPort, type MessagePort } from 'node:worker_threads';
import { FrameDecoder, FrameEncoder } from '../../src/actor/codec.js';
import type { Envelope } from '../../src/actor/protocol.js';
import { FRAME_ENVELOPES_MAX } from '../../src/actor/threaded/router.js';

export type BaselineMode = 'clone' | 'batched';

type Cmd =
  | { role: 'sink' | 'driver'; mode: BaselineMode; port: MessagePort }
  | { run: 'blast'; count: number; roundSize: number; roundsInFlight: number; envelope: Envelope }
  | { run: 'rtt'; count: number };

/** How envelopes cross the channel: `send` one, and every arrival goes to the handler given to `listen`. */
interface Link {
  send(envelope: Envelope): void;
  listen(handler: (envelope: Envelope) => void): void;
}

function cloneLink(port: MessagePort): Link {
  return {
    send: (envelope) => port.postMessage(envelope),
    listen: (handler) => port.on('message', handler),
  };
}

/** Per-turn batching as the runtime's Router does it: flush at the bound, and at the end of the turn. */
function batchedLink(port: MessagePort): Link {
  const encoder = new FrameEncoder();
  const decoder = new FrameDecoder();
  let outbox: Envelope[] = [];
  let flushScheduled = false;
  const flush = (): void => {
    flushScheduled = false;
    if (outbox.length === 0) return;
    const frame = encoder.encode(outbox);
    outbox = [];
    port.postMessage(frame, [frame.buffer as ArrayBuffer]);
  };
  return {
    send(envelope) {
      outbox.push(envelope);
      if (outbox.length >= FRAME_ENVELOPES_MAX) flush();
      if (!flushScheduled) {
        flushScheduled = true;
        queueMicrotask(flush);
      }
    },
    listen(handler) {
      port.on('message', (frame: Uint8Array) => {
        const result = decoder.decode(frame);
        if (!result.ok || result.rejected > 0) throw new Error(`baseline frame did not decode: ${result.ok ? `${result.rejected} rejected` : result.error}`);
        for (const envelope of result.envelopes) handler(envelope);
      });
    },
  };
}

let link: Link | undefined;
const waiters: ((body: unknown) => void)[] = [];

function pong(): Promise<unknown> {
  return new Promise((resolve) => waiters.push(resolve));
}

function ping(corr: number, body: number): Envelope {
  return { to: 'sink', from: 'blaster', type: 'ping', corr, body };
}

async function blast(count: number, roundSize: number, roundsInFlight: number, envelope: Envelope): Promise<number> {
  const started = performance.now();
  const inFlight: Promise<unknown>[] = [];
  let sent = 0;
  while (sent < count) {
    const n = Math.min(roundSize, count - sent);
    // The same object each time (the runtime builds one per send): if anything, this favours the baseline.
    for (let i = 0; i < n; i++) link!.send(envelope);
    sent += n;
    link!.send(ping(sent, sent));
    inFlight.push(pong());
    if (inFlight.length >= roundsInFlight) await inFlight.shift();
  }
  await Promise.all(inFlight);
  return sent / ((performance.now() - started) / 1000);
}

async function rtt(count: number): Promise<number[]> {
  const samplesUs: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    link!.send(ping(i + 1, i));
    await pong();
    samplesUs.push((performance.now() - t0) * 1000);
  }
  return samplesUs;
}

parentPort!.on('message', async (cmd: Cmd) => {
  if ('role' in cmd) {
    const own = cmd.mode === 'batched' ? batchedLink(cmd.port) : cloneLink(cmd.port);
    link = own;
    if (cmd.role === 'sink') {
      let received = 0;
      own.listen((envelope) => {
        if (envelope.type === 'ping') own.send({ to: envelope.from, from: envelope.to, type: 'pong', corr: envelope.corr, body: envelope.body });
        else received++;
      });
    } else {
      own.listen((envelope) => waiters.shift()?.(envelope.body));
    }
    parentPort!.postMessage({ ready: true });
    return;
  }
  if (cmd.run === 'blast') parentPort!.postMessage({ rate: await blast(cmd.count, cmd.roundSize, cmd.roundsInFlight, cmd.envelope) });
  else parentPort!.postMessage({ samplesUs: await rtt(cmd.count) });
});
