/**
 * Helpers for end-to-end tests against a running cluster (real HTTP, real
 * time): one GET on a fresh connection, a poll until something holds, whether
 * a killed process is really gone, and API calls over actor messages that
 * throw on an error Status.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import type { ActorRef } from '../actor/index.js';
import type { ApiReply, ApiServerMsg } from '../api/protocol.js';

/** One GET on a fresh connection (no keep-alive: each request goes through the proxy's routing anew). */
export function httpGet(url: string, timeoutMs = 2_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = get(url, { timeout: timeoutMs, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/**
 * Whether a killed process has let go of its sockets (Linux /proc): gone, or a
 * zombie with no thread left but its main one. A zombie main thread alone is
 * not enough: it turns zombie while the process's other threads (Node has
 * several) are still exiting and still hold the shared file table, listening
 * socket included, so a connect in that window completes in the kernel and is
 * reset a few ms later — the 'socket hang up' e2e-process.test.ts used to
 * tolerate. Pinned by testing.test.ts.
 */
export function processExited(pid: number): boolean {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return true;
  }
  const state = /^State:\s+(\S)/m.exec(status)?.[1];
  const threads = Number(/^Threads:\s+(\d+)/m.exec(status)?.[1]);
  return (state === 'Z' || state === 'X') && threads === 1;
}

/** Poll `probe` every 200 ms until it returns a value; fail with `what` (and the last error) after `timeoutMs`. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) assert.fail(`${what} did not happen within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Ask the API server actor; the reply's body, or an error naming the message type and the Status. */
export function apiMust(api: ActorRef<ApiServerMsg>, timeoutMs = 10_000): <T>(msg: ApiServerMsg) => Promise<T> {
  return async <T>(msg: ApiServerMsg): Promise<T> => {
    const reply = await api.ask<ApiReply<T>>(msg, { timeoutMs });
    if (!reply.ok) throw new Error(`${msg.type}: ${reply.status.message}`);
    return reply.body;
  };
}
