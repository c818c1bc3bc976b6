/**
 * A binary min-heap of events ordered by (time, sequence). The sequence
 * number breaks ties in insertion order, so equal times replay identically:
 * the order events come out in depends only on their keys, never on the
 * heap's shape, which is why `retain` may rebuild it.
 */
export interface Scheduled {
  atMs: number;
  seq: number;
}

export class EventQueue<T extends Scheduled> {
  private heap: T[] = [];

  get size(): number {
    return this.heap.length;
  }

  peek(): T | undefined {
    return this.heap[0];
  }

  push(item: T): void {
    const heap = this.heap;
    // Sift up with a hole: parents move down until the item's place is found.
    let i = heap.length;
    heap.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent]!;
      if (!before(item, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = item;
  }

  pop(): T | undefined {
    const heap = this.heap;
    if (heap.length === 0) return undefined;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) this.siftDown(0, last);
    return top;
  }

  /** Keep only the items `keep` accepts (dropping cancelled timers in bulk), rebuilding the heap. */
  retain(keep: (item: T) => boolean): void {
    this.heap = this.heap.filter(keep);
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.siftDown(i, this.heap[i]!);
  }

  private siftDown(start: number, item: T): void {
    const heap = this.heap;
    const n = heap.length;
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      if (right < n && before(heap[right]!, heap[left]!)) child = right;
      const c = heap[child]!;
      if (!before(c, item)) break;
      heap[i] = c;
      i = child;
    }
    heap[i] = item;
  }
}

function before(a: Scheduled, b: Scheduled): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
}
