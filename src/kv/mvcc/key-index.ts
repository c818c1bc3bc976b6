/**
 * The sorted set of keys that have history, for range scans. A sorted array
 * with binary search: O(log n) lookups, O(n) inserts and removals (a memmove).
 * Fine for the tens of thousands of keys a test cluster holds; at scale this
 * becomes a B-tree (etcd uses google/btree) or a skip list so inserts are
 * O(log n) too.
 */
export class KeyIndex {
  private readonly keys: string[] = [];

  get size(): number {
    return this.keys.length;
  }

  /** Index of the first key >= `key`. */
  lowerBound(key: string): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.keys[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  insert(key: string): void {
    const at = this.lowerBound(key);
    if (this.keys[at] !== key) this.keys.splice(at, 0, key);
  }

  remove(key: string): void {
    const at = this.lowerBound(key);
    if (this.keys[at] === key) this.keys.splice(at, 1);
  }

  /** Keys in the etcd range (see protocol.ts), ascending. */
  *range(key: string, rangeEnd: string | undefined): Generator<string> {
    if (rangeEnd === undefined || rangeEnd === '') {
      const at = this.lowerBound(key);
      if (this.keys[at] === key) yield key;
      return;
    }
    const toEnd = rangeEnd === '\0';
    for (let i = this.lowerBound(key); i < this.keys.length; i++) {
      const candidate = this.keys[i]!;
      if (!toEnd && candidate >= rangeEnd) return;
      yield candidate;
    }
  }

  all(): readonly string[] {
    return this.keys;
  }
}
