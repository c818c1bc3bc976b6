/**
 * The baseline: bare worker threads with no runtime at all, exchanging
 * structured-clone postMessage of the same envelope object over a
 * MessageChannel. One plays the sink (counts, answers pings), the other the
 * driver (same rounds and flow control as the actor benchmark).
 */
import { parentPort, type MessagePort } from 'node:worker_threads';

type Cmd =
  | { role: 'sink'; port: MessagePort }
  | { role: 'driver'; port: MessagePort }
  | { run: 'blast'; count: number; roundSize: number; roundsInFlight: number; envelope: unknown }
  | { run: 'rtt'; count: number };

interface Wire {
  type: string;
  body: unknown;
}

let peer: MessagePort | undefined;
const waiters: ((body: unknown) => void)[] = [];

function pong(): Promise<unknown> {
  return new Promise((resolve) => waiters.push(resolve));
}

async function blast(count: number, roundSize: number, roundsInFlight: number, envelope: unknown): Promise<number> {
  const started = performance.now();
  const inFlight: Promise<unknown>[] = [];
  let sent = 0;
  while (sent < count) {
    const n = Math.min(roundSize, count - sent);
    for (let i = 0; i < n; i++) peer!.postMessage(envelope);
    sent += n;
    peer!.postMessage({ type: 'ping', body: sent });
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
    peer!.postMessage({ type: 'ping', body: i });
    await pong();
    samplesUs.push((performance.now() - t0) * 1000);
  }
  return samplesUs;
}

parentPort!.on('message', async (cmd: Cmd) => {
  if ('role' in cmd) {
    peer = cmd.port;
    if (cmd.role === 'sink') {
      let received = 0;
      peer.on('message', (msg: Wire) => {
        if (msg.type === 'ping') peer!.postMessage({ type: 'pong', body: msg.body });
        else received++;
      });
    } else {
      peer.on('message', (msg: Wire) => waiters.shift()?.(msg.body));
    }
    parentPort!.postMessage({ ready: true });
    return;
  }
  if (cmd.run === 'blast') parentPort!.postMessage({ rate: await blast(cmd.count, cmd.roundSize, cmd.roundsInFlight, cmd.envelope) });
  else parentPort!.postMessage({ samplesUs: await rtt(cmd.count) });
});
