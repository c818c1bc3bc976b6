import type { PeerDownEvent } from './behaviour.js';

/** What a monitor notifies: a cell of either runtime (only its liveness and its hook matter here). */
export interface MonitoringCell {
  readonly state: string;
  notifyPeerDown(event: PeerDownEvent): void;
}

/**
 * Monitors (`ActorContext.monitor`) kept where the monitoring cells live: one
 * table per thread, or one for the simulation. A monitor belongs to one
 * incarnation of the monitoring actor and ends with it; it stays armed across
 * the target's incarnations. Each ended incarnation of a target is told once,
 * however many paths report it (a kill is reported when it is ordered and
 * again when the thread has gone).
 */
export class PeerMonitors<C extends MonitoringCell = MonitoringCell> {
  private readonly byTarget = new Map<string, Set<C>>();
  /** Per target, the newest incarnation id already told: reports of it, or of older ones, are dropped. */
  private readonly toldIncarnation = new Map<string, number>();

  add(cell: C, target: string): void {
    let cells = this.byTarget.get(target);
    if (cells === undefined) this.byTarget.set(target, (cells = new Set()));
    cells.add(cell);
  }

  remove(cell: C, target: string): void {
    const cells = this.byTarget.get(target);
    if (cells === undefined) return;
    cells.delete(cell);
    if (cells.size === 0) this.byTarget.delete(target);
  }

  /**
   * The incarnation of `event.name` with id `incarnationId` ended: tell every live cell
   * that monitors it, in the order they asked. Ids grow with every incarnation the
   * runtime starts (respawns under the same name included). Returns how many were told.
   */
  notify(event: PeerDownEvent, incarnationId: number): number {
    if ((this.toldIncarnation.get(event.name) ?? 0) >= incarnationId) return 0;
    this.toldIncarnation.set(event.name, incarnationId);
    const cells = this.byTarget.get(event.name);
    if (cells === undefined) return 0;
    let told = 0;
    for (const cell of [...cells]) {
      // A monitor dies with the incarnation that set it.
      if (cell.state !== 'running') {
        cells.delete(cell);
        continue;
      }
      cell.notifyPeerDown(event);
      told++;
    }
    if (cells.size === 0) this.byTarget.delete(event.name);
    return told;
  }
}
