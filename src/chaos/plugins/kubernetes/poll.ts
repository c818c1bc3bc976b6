/**
 * The workload kinds' waits (every member Ready before the run, convergence
 * after it): observe, keep the latest view, stop once converged or past the
 * deadline. Time is the run's (`elapsedMs`) and the sleep is the run's own, so
 * the simulated runtime replays it.
 */

/** The sleeper actor's sleep, POLL_MS at a time. */
export const POLL_MS = 250;

export interface PollOptions<T> {
  observe: () => Promise<T | undefined>;
  sleep: (ms: number) => Promise<unknown>;
  elapsedMs: () => number;
  deadlineMs: number;
  /** Every view observed, the last one included. */
  onSeen?: (seen: T) => void;
}

/** The last view seen: converged, or the one at the deadline (undefined if none answered). */
export async function pollUntilConverged<T extends { converged: boolean }>(options: PollOptions<T>): Promise<T | undefined> {
  for (;;) {
    const seen = await options.observe();
    if (seen !== undefined) options.onSeen?.(seen);
    if (seen?.converged === true || options.elapsedMs() >= options.deadlineMs) return seen;
    await options.sleep(POLL_MS);
  }
}
