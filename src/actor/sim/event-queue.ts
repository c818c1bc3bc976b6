/**
 * A binary min-heap of events ordered by (time, sequence). The sequence
 * number breaks ties in insertion order, so equal times replay identically:
 * the order events come out in depends only on their keys, never on the
 * heap's shape, which is why `retain` may rebuild it.
 *
 * The keys are kept beside the items, in two arrays of numbers, and the
 * sifts compare those: an item's `atMs` is read once, when it is pushed. The
 * simulated runtime's events come in several shapes (a call, a delivery,
 * a delivery after an fsync, a delivery held back), so a load of `atMs` from
 * the items is megamorphic, and a megamorphic load of a fractional number
 * boxes it in a fresh HeapNumber: about 25 of them per pop (two per level
 * of the sift), 7 % of all the bytes a 20-node run allocated.
 */
export interface Scheduled {
  atMs: number;
  seq: number;
}

export class EventQueue<T extends Scheduled> {
  private items: T[] = [];
  /** `items[i].atMs` and `items[i].seq`, kept apart (plain double arrays: no boxing on reads). */
  private at: number[] = [];
  private seqs: number[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  /** The first item's time (Infinity when empty), read from the keys rather than the item. */
  peekAtMs(): number {
    return this.items.length === 0 ? Infinity : this.at[0]!;
  }

  push(item: T): void {
    const items = this.items;
    const at = this.at;
    const seqs = this.seqs;
    const itemAt = item.atMs;
    const itemSeq = item.seq;
    // Sift up with a hole: parents move down until the item's place is found.
    let i = items.length;
    items.push(item);
    at.push(itemAt);
    seqs.push(itemSeq);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pAt = at[parent]!;
      if (!(itemAt < pAt || (itemAt === pAt && itemSeq < seqs[parent]!))) break;
      items[i] = items[parent]!;
      at[i] = pAt;
      seqs[i] = seqs[parent]!;
      i = parent;
    }
    items[i] = item;
    at[i] = itemAt;
    seqs[i] = itemSeq;
  }

  pop(): T | undefined {
    const items = this.items;
    if (items.length === 0) return undefined;
    const top = items[0]!;
    const last = items.pop()!;
    const lastAt = this.at.pop()!;
    const lastSeq = this.seqs.pop()!;
    if (items.length > 0) this.siftDown(0, last, lastAt, lastSeq);
    return top;
  }

  /** Keep only the items `keep` accepts (dropping cancelled timers in bulk), rebuilding the heap. */
  retain(keep: (item: T) => boolean): void {
    const items: T[] = [];
    const at: number[] = [];
    const seqs: number[] = [];
    for (let i = 0; i < this.items.length; i++) {
      const item = this.items[i]!;
      if (!keep(item)) continue;
      items.push(item);
      at.push(this.at[i]!);
      seqs.push(this.seqs[i]!);
    }
    this.items = items;
    this.at = at;
    this.seqs = seqs;
    for (let i = (items.length >> 1) - 1; i >= 0; i--) this.siftDown(i, items[i]!, at[i]!, seqs[i]!);
  }

  private siftDown(start: number, item: T, itemAt: number, itemSeq: number): void {
    const items = this.items;
    const at = this.at;
    const seqs = this.seqs;
    const n = items.length;
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      let childAt = at[left]!;
      if (right < n) {
        const rightAt = at[right]!;
        if (rightAt < childAt || (rightAt === childAt && seqs[right]! < seqs[left]!)) {
          child = right;
          childAt = rightAt;
        }
      }
      if (!(childAt < itemAt || (childAt === itemAt && seqs[child]! < itemSeq))) break;
      items[i] = items[child]!;
      at[i] = childAt;
      seqs[i] = seqs[child]!;
      i = child;
    }
    items[i] = item;
    at[i] = itemAt;
    seqs[i] = itemSeq;
  }
}
