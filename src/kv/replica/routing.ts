/**
 * Putting a request's routing (`KvRouting`) beside it in a `kv` message body,
 * and taking it off again, without slowing the message path.
 *
 * Not `{ ...request, waitMs }`: once that code is warm, V8 (Node 20) gives
 * every object a spread followed by a new property makes a hidden class of
 * its own, so each `for...in` over it misses the enum cache, and msgpackr's
 * record writer walks every body with two of them. Measured: 0.6 → 3.6 µs
 * per envelope encoded, which made the store client's reads cost 24-53 % more
 * CPU (docs/metrics.md, "The read drop, found"). `Object.assign` onto an empty
 * object and then a plain store keep one hidden class per request shape.
 */
import type { ClientRequest, KvRouting } from './protocol.js';

/** A fresh `kv` body: the request's own fields (any routing it carried dropped), then `routing`'s. The request is not touched. */
export function withRouting<R extends ClientRequest>(request: R & KvRouting, routing: KvRouting): R & KvRouting {
  const body: R & KvRouting = Object.assign({}, carriesRouting(request) ? withoutRouting(request) : request);
  if (routing.waitMs !== undefined) body.waitMs = routing.waitMs;
  if (routing.forwarded !== undefined) body.forwarded = routing.forwarded;
  return body;
}

/**
 * `request` itself, given `routing`: for a request its sender made fresh for
 * this call and sends for the first time (the store client's first attempt).
 * No copy: `withRouting`'s copy walks every field (a range request has eight)
 * and cost a read about 2,700 instructions more than the bare request, encoded
 * and decoded (docs/metrics.md, "Reads after the routing fix"). The fields
 * are added in one order onto requests of one literal shape, so the bodies
 * share one hidden class as `withRouting`'s do. Later attempts use
 * `withRouting`: the first body may still be in flight, and must not change.
 */
export function addRouting<R extends ClientRequest>(request: R & KvRouting, routing: KvRouting): R & KvRouting {
  if (routing.waitMs !== undefined) request.waitMs = routing.waitMs;
  if (routing.forwarded !== undefined) request.forwarded = routing.forwarded;
  return request;
}

/**
 * The request without its routing: what a replica writes into the log, so
 * entries hold what the client asked for and nothing about how it travelled.
 * The body itself when it carries none (no copy on the read path).
 */
export function withoutRouting<R extends ClientRequest>(body: R & KvRouting): R {
  if (!carriesRouting(body)) return body;
  const { waitMs: _waitMs, forwarded: _forwarded, ...request } = body;
  return request as unknown as R;
}

/**
 * How long a replica may hold or forward this body (0: answer at once). A
 * forwarded body is never held or forwarded again: one hop, no loops.
 */
export function routingWaitMs(body: ClientRequest & KvRouting): number {
  const waitMs = body.waitMs;
  return typeof waitMs === 'number' && Number.isFinite(waitMs) && body.forwarded !== true ? Math.max(0, waitMs) : 0;
}

function carriesRouting(request: ClientRequest & KvRouting): boolean {
  return 'waitMs' in request || 'forwarded' in request;
}
