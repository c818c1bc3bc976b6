/**
 * Helpers for end-to-end tests against a running cluster (real HTTP, real
 * time): one GET on a fresh connection, a poll until something holds, and
 * API calls over actor messages that throw on an error Status.
 */
import assert from 'node:assert/strict';
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
