/**
 * A message-level stand-in for the HTTPS call, as DESIGN.md asks of every
 * I/O edge: the API server asks an actor (`webhook.call`) instead of
 * opening a socket. The chaos engine's webhook runs as such an actor, so a
 * webhook scenario replays byte for byte in the simulated runtime and runs
 * unchanged on threads. The URL is passed along and otherwise unused.
 */
import type { Message } from '../../../actor/protocol.js';
import { AskTimeoutError } from '../../../actor/errors.js';
import type { WebhookCall, WebhookCallResult, WebhookCaller } from './caller.js';

/** What the stand-in receives; it answers a WebhookCallResult. */
export type WebhookCallMsg = Message<'webhook.call', WebhookCall>;

/** `ask` is the API server actor's context's ask. */
export function actorWebhookCaller(actor: string, ask: (to: string, msg: WebhookCallMsg, options: { timeoutMs: number }) => Promise<unknown>): WebhookCaller {
  return async (call) => {
    const post = `Post "${call.url}"`;
    try {
      return (await ask(actor, { type: 'webhook.call', body: call }, { timeoutMs: call.timeoutMs })) as WebhookCallResult;
    } catch (error) {
      if (error instanceof AskTimeoutError) return { ok: false, message: `${post}: context deadline exceeded` };
      return { ok: false, message: `${post}: ${error instanceof Error ? error.message : String(error)}` };
    }
  };
}
