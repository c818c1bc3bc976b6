/**
 * Objects a sender promises never to change again, so every receiver may
 * share one copy of them (as one encoding shared by every watcher: what an
 * API server's watch fan-out does). The watch cache marks each object it
 * keeps: one pod's change then reaches a thousand kube-proxies as one copy,
 * not a thousand.
 *
 * In the simulated runtime a shared object is copied once and that copy is
 * deep-frozen: a receiver that changes what it got from a watch (client-go
 * forbids it: cache objects are read-only; copy before changing) throws
 * there at once instead of corrupting its cache quietly. The threaded
 * runtime decodes a private copy per receiver, as before.
 */
const SHARED = new WeakSet<object>();

/** Marks `value` (not what it contains) as never to be changed again; returns it. */
export function markShared<T extends object>(value: T): T {
  SHARED.add(value);
  return value;
}

export function isShared(value: object): boolean {
  return SHARED.has(value);
}
