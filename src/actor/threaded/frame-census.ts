/**
 * A diagnostic: what one thread's outgoing frames cost to encode, by
 * destination thread and by the message types a frame carried. On with
 * KUBETHREADS_FRAME_CENSUS=1 (read once by the router, as
 * KUBETHREADS_SIM_CENSUS is by the simulated runtime); every 10 s each
 * thread prints its rows, most encode time first, to stderr. Encode time is
 * wall time around the encoder (a GC or a preemption inside it counts), so
 * compare rows of one run, not runs.
 */
import type { Envelope } from '../protocol.js';

/** Rows printed per thread: the largest costs; the rest sum into the total. */
export const FRAME_CENSUS_ROWS_MAX = 12;
/** How often each thread prints its census. */
export const FRAME_CENSUS_PRINT_EVERY_MS = 10_000;

export interface FrameCensusRow {
  /** `to <thread>: <type>+<type>...` */
  key: string;
  frames: number;
  envelopes: number;
  encodeMs: number;
  bytes: number;
  /** Frames that went as a transferred buffer (no room in the pair's ring). */
  transferred: number;
}

export class FrameCensus {
  private readonly rows = new Map<string, FrameCensusRow>();

  count(threadId: number, batch: readonly Envelope[], encodeMs: number, bytes: number, transferred = false): void {
    const types = [...new Set(batch.map((e) => e.type))].sort().join('+');
    const key = `to ${threadId}: ${types}`;
    let row = this.rows.get(key);
    if (row === undefined) this.rows.set(key, (row = { key, frames: 0, envelopes: 0, encodeMs: 0, bytes: 0, transferred: 0 }));
    row.frames++;
    row.envelopes += batch.length;
    row.encodeMs += encodeMs;
    row.bytes += bytes;
    if (transferred) row.transferred++;
  }

  /** The costliest rows first, and the encode time of all of them. */
  top(max = FRAME_CENSUS_ROWS_MAX): { totalMs: number; rows: FrameCensusRow[] } {
    const all = [...this.rows.values()];
    return { totalMs: all.reduce((sum, r) => sum + r.encodeMs, 0), rows: all.sort((a, b) => b.encodeMs - a.encodeMs).slice(0, max) };
  }

  /**
   * One line: the thread (its first actors' names), the total, and the top rows as [key, frames, envelopes, ms, MB],
   * then, if any frame found no room in its ring, how many of all went transferred.
   */
  line(name: string): string {
    const { totalMs, rows } = this.top();
    let transferred = 0;
    let frames = 0;
    for (const row of this.rows.values()) {
      transferred += row.transferred;
      frames += row.frames;
    }
    const tail = transferred === 0 ? '' : `; ${transferred} of ${frames} frames transferred (no room in a ring)`;
    return `frame census ${name}: ${Math.round(totalMs)} ms encoding; ${JSON.stringify(rows.map((r) => [r.key, r.frames, r.envelopes, Math.round(r.encodeMs), Math.round(r.bytes / 1e6)]))}${tail}`;
  }
}
