/**
 * How long one attempt on a replica may take before the client gives up on
 * it: TCP's retransmission timeout (RFC 6298) over the client's recent
 * round trips, floored at the configured attempt timeout.
 *
 * Why adaptive: a fixed 1 s turns a loaded store's latency into failures (a
 * write whose attempt timed out has an unknown outcome) and extra NotLeader
 * round trips, where etcd's clientv3 waits on a slow leader up to the
 * request's deadline. Why floored: a dead or stopped replica fails fast in the
 * actor system (ActorUnavailable/NotFound); only a paused or partitioned one is
 * silent, and an idle client must still leave it after the floor (~1 s), as
 * before.
 *
 * Pure: the caller measures each round trip with its host's clock and feeds
 * it in, so the simulated runtime replays it exactly.
 */

/** RFC 6298 §2: gains of the smoothed RTT and of the RTT variance, and the variance's weight in the timeout. */
const SMOOTHING_GAIN = 1 / 8;
const VARIANCE_GAIN = 1 / 4;
const VARIANCE_WEIGHT = 4;
/** RFC 6298's clock granularity G: our clock counts milliseconds. */
const CLOCK_GRANULARITY_MS = 1;

export class AttemptTimeout {
  private smoothedMs: number | undefined;
  private varianceMs = 0;

  /** @param floorMs the shortest attempt timeout, and the only one an idle client uses. */
  constructor(private readonly floorMs: number) {
    if (!(floorMs > 0)) throw new Error(`the attempt timeout floor must be positive, got ${floorMs}`);
  }

  /** A round trip that got an answer (of any kind), in ms. Timed-out attempts are no sample: their RTT is unknown (Karn). */
  observe(roundTripMs: number): void {
    if (!(roundTripMs >= 0) || !Number.isFinite(roundTripMs)) throw new Error(`a round trip must be a finite, non-negative duration, got ${roundTripMs}`);
    if (this.smoothedMs === undefined) {
      this.smoothedMs = roundTripMs;
      this.varianceMs = roundTripMs / 2;
      return;
    }
    // The variance first, from the smoothed RTT before this sample moves it (RFC 6298 §2.3).
    this.varianceMs = (1 - VARIANCE_GAIN) * this.varianceMs + VARIANCE_GAIN * Math.abs(this.smoothedMs - roundTripMs);
    this.smoothedMs = (1 - SMOOTHING_GAIN) * this.smoothedMs + SMOOTHING_GAIN * roundTripMs;
  }

  /** The timeout for the next attempt: the estimate, at least the floor, at most what is left of the call's deadline. */
  nextMs(remainingMs: number): number {
    return Math.min(remainingMs, Math.max(this.floorMs, this.estimateMs()));
  }

  /** The estimate's state, for an error message: why an attempt was given what it was. */
  describe(): string {
    if (this.smoothedMs === undefined) return `no round trip measured yet; floor ${this.floorMs} ms`;
    return `smoothed round trip ${Math.round(this.smoothedMs)} ms, variance ${Math.round(this.varianceMs)} ms, floor ${this.floorMs} ms`;
  }

  /** SRTT + max(G, 4 × RTTVAR); 0 before the first sample. */
  estimateMs(): number {
    if (this.smoothedMs === undefined) return 0;
    return Math.ceil(this.smoothedMs + Math.max(CLOCK_GRANULARITY_MS, VARIANCE_WEIGHT * this.varianceMs));
  }
}
