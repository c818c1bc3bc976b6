/**
 * Three Raft voters on a lossless in-memory network, for scripted tests:
 * every node ticks at the same instant and messages are delivered in rounds
 * until none are left. A node in `cut` neither sends nor receives (isolated by
 * the network, or a paused process: to its peers the two look the same), and
 * does not tick. Test support only; not part of the library's API.
 */
import assert from 'node:assert/strict';
import { MemoryStorage } from './log.js';
import type { Message } from './protocol.js';
import { Raft, type RaftConfig } from './raft.js';
import { emptyHardState, type NodeId } from './types.js';

/** Bound on delivery rounds after one step; the exchanges of three nodes settle in a handful. */
const DELIVERY_ROUNDS_MAX = 100;

export class RaftTrio {
  readonly nodes = new Map<NodeId, Raft>();
  /** Nodes whose messages, both ways, are dropped and which do not tick. */
  readonly cut = new Set<NodeId>();

  /** `configFor(id, self)` gives node `id`'s config; `self()` is the node once made (for a `random` that reads its term). */
  constructor(configFor: (id: NodeId, self: () => Raft | undefined) => RaftConfig) {
    for (const id of [1, 2, 3]) {
      const storage = new MemoryStorage(undefined, { voters: [1, 2, 3], learners: [] });
      let node: Raft | undefined;
      node = new Raft(configFor(id, () => node), storage, emptyHardState);
      this.nodes.set(id, node);
    }
  }

  node(id: NodeId): Raft {
    const n = this.nodes.get(id);
    assert.ok(n, `no node ${id}`);
    return n;
  }

  /** Deliver messages until none are left; a cut node's are dropped. */
  deliver(): void {
    for (let round = 0; round < DELIVERY_ROUNDS_MAX; round++) {
      const batch: Message[] = [];
      for (const n of this.nodes.values()) {
        batch.push(...n.msgs);
        n.msgs = [];
      }
      if (batch.length === 0) return;
      for (const m of batch) {
        if (this.cut.has(m.from) || this.cut.has(m.to)) continue;
        this.node(m.to).step(m);
      }
    }
    assert.fail(`messages still flowing after ${DELIVERY_ROUNDS_MAX} rounds`);
  }

  /** One tick on every node not cut, at the same instant, then delivery; `times` over. */
  tick(times = 1): void {
    for (let i = 0; i < times; i++) {
      for (const [id, n] of this.nodes) if (!this.cut.has(id)) n.tick();
      this.deliver();
    }
  }
}
