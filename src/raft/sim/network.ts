/**
 * A seeded message network: loss, duplication, delay (which reorders) and partitions.
 * Time is the simulation's tick.
 */
import type { Message } from '../protocol.js';
import type { NodeId } from '../types.js';
import type { Prng } from './prng.js';

export interface NetworkFaults {
  /** Probability that a message is dropped. */
  dropRate: number;
  /** Probability that a message is delivered twice. */
  duplicateRate: number;
  /** Delivery delay, uniform in [delayTicksMin, delayTicksMax] ticks. */
  delayTicksMin: number;
  delayTicksMax: number;
  /** Deliver messages due in the same tick in random order (otherwise in send order, like TCP). */
  reorder: boolean;
}

export const HEALTHY_NETWORK: NetworkFaults = { dropRate: 0, duplicateRate: 0, delayTicksMin: 1, delayTicksMax: 1, reorder: false };

/** Who can talk to whom. Nodes in the same group can; a bridge node talks to everyone. */
export interface Partition {
  kind: 'isolateLeader' | 'minorityMajority' | 'bridge';
  groupOf: Map<NodeId, number>;
  bridge: NodeId | undefined;
  describe: string;
}

/** Bound on messages in flight in the whole network: a runaway protocol shows up as a failure, not as memory growth. */
export const NETWORK_IN_FLIGHT_MAX = 200_000;

interface InFlight {
  deliverAtTick: number;
  message: Message;
}

export class SimNetwork {
  faults: NetworkFaults;
  partition: Partition | undefined = undefined;
  private inFlight: InFlight[] = [];
  sent = 0;
  dropped = 0;

  constructor(
    private readonly prng: Prng,
    faults: NetworkFaults,
  ) {
    this.faults = faults;
  }

  connected(a: NodeId, b: NodeId): boolean {
    const p = this.partition;
    if (!p) return true;
    if (p.bridge === a || p.bridge === b) return true;
    return p.groupOf.get(a) === p.groupOf.get(b);
  }

  send(m: Message, nowTick: number): void {
    this.sent++;
    if (!this.connected(m.from, m.to) || this.prng.chance(this.faults.dropRate)) {
      this.dropped++;
      return;
    }
    const copies = this.prng.chance(this.faults.duplicateRate) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const delay = this.prng.int(this.faults.delayTicksMin, this.faults.delayTicksMax);
      this.inFlight.push({ deliverAtTick: nowTick + delay, message: m });
    }
    if (this.inFlight.length > NETWORK_IN_FLIGHT_MAX) throw new Error(`network: more than ${NETWORK_IN_FLIGHT_MAX} messages in flight`);
  }

  /** Messages due at `nowTick`, in a random order; a partition at delivery time also drops. */
  due(nowTick: number): Message[] {
    const out: Message[] = [];
    const keep: InFlight[] = [];
    for (const f of this.inFlight) {
      if (f.deliverAtTick <= nowTick) {
        if (this.connected(f.message.from, f.message.to)) out.push(f.message);
        else this.dropped++;
      } else {
        keep.push(f);
      }
    }
    this.inFlight = keep;
    return this.faults.reorder ? this.prng.shuffle(out) : out;
  }

  /** Drop everything addressed to a node (it crashed; its sockets are gone). */
  dropTo(id: NodeId): void {
    this.inFlight = this.inFlight.filter((f) => f.message.to !== id);
  }

  inFlightCount(): number {
    return this.inFlight.length;
  }
}

export function makePartition(kind: Partition['kind'], ids: NodeId[], leader: NodeId | undefined, prng: Prng): Partition {
  const groupOf = new Map<NodeId, number>();
  const shuffled = prng.shuffle([...ids]);
  let bridge: NodeId | undefined;
  if (kind === 'isolateLeader') {
    const lone = leader ?? shuffled[0]!;
    for (const id of ids) groupOf.set(id, id === lone ? 1 : 0);
    return { kind, groupOf, bridge, describe: `isolate ${lone}` };
  }
  if (kind === 'minorityMajority') {
    const minority = prng.int(1, Math.floor((ids.length - 1) / 2));
    shuffled.forEach((id, i) => groupOf.set(id, i < minority ? 1 : 0));
    return { kind, groupOf, bridge, describe: `minority {${shuffled.slice(0, minority).join(',')}} | majority {${shuffled.slice(minority).join(',')}}` };
  }
  // bridge: two sides that cannot talk, joined by one node that talks to both.
  bridge = shuffled[0]!;
  const rest = shuffled.slice(1);
  const half = Math.ceil(rest.length / 2);
  rest.forEach((id, i) => groupOf.set(id, i < half ? 1 : 2));
  groupOf.set(bridge, 3);
  return { kind, groupOf, bridge, describe: `bridge ${bridge} between {${rest.slice(0, half).join(',')}} and {${rest.slice(half).join(',')}}` };
}
