import type { ErrorValue } from './errors.js';

/**
 * A message: a discriminated union member with a `type` and a `body`.
 * Each module declares its protocol as a union of these in its own protocol.ts.
 */
export interface Message<T extends string = string, B = unknown> {
  readonly type: T;
  readonly body: B;
}

/**
 * What travels between actors: the message plus routing. `corr` is non-zero
 * for an ask and for its reply; 0 for a tell (one record shape for both keeps
 * msgpackr's record encoding to a single structure).
 */
export interface Envelope {
  to: string;
  from: string;
  type: string;
  corr: number;
  body: unknown;
}

/** Types starting with `$` belong to the runtime. */
export const REPLY_TYPE = '$reply';
/** An actor's own background disk operation ended (`Disk.inBackground`); never routed, only delivered by its cell to itself. */
export const DISK_DONE_TYPE = '$diskDone';

export type ReplyBody = { ok: true; value: unknown } | { ok: false; error: ErrorValue };

/** The sender name used by plain library code on the host (not an actor). */
export const HOST_SENDER = '$host';

/** Structural check of a decoded envelope: bad frames are counted, never trusted. */
export function isEnvelope(value: unknown): value is Envelope {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.to === 'string' && typeof v.from === 'string' && typeof v.type === 'string' && typeof v.corr === 'number';
}
