/**
 * Objects a sender promises never to change again, so every receiver may
 * share one copy of them (as one encoding shared by every watcher: what an
 * API server's watch fan-out does). The watch cache marks each object it
 * keeps: one pod's change then reaches a thousand kube-proxies as one copy,
 * not a thousand.
 *
 * In the simulated runtime a shared object is deep-frozen in place on its
 * first delivery and every receiver gets it (a frozen copy when it holds
 * something a copy would turn into plain data; a copy each time when it
 * holds bytes): a receiver that changes what it got from a watch (client-go
 * forbids it: cache objects are read-only; copy before changing) throws
 * there at once instead of corrupting its cache quietly, and so does the
 * sender, which promised not to. The threaded runtime decodes a private
 * copy per receiver, as before.
 */
const SHARED = new WeakSet<object>();

/**
 * Only the simulated runtime reads the marks (its message copy), so a thread marks nothing until a SimulatedSystem
 * is made in it. The threaded API server marked every pod version its watch cache kept: a WeakSet entry per object
 * costs its add (1.0 % of that thread's burst CPU at 1,000 x 20,000) and an ephemeron the garbage collector must
 * visit in every scavenge and mark-compact while the object lives (issue #16, docs/performance.md).
 */
let marking = false;

/** The simulated runtime reads the marks: from now on this thread keeps them. */
export function keepSharedMarks(): void {
  marking = true;
}

/** Marks `value` (not what it contains) as never to be changed again; returns it. */
export function markShared<T extends object>(value: T): T {
  if (marking) SHARED.add(value);
  return value;
}

export function isShared(value: object): boolean {
  return SHARED.has(value);
}
