/**
 * A watch cache's keys in the store's order, kept sorted as keys come and
 * go, so a LIST reads a range instead of sorting every key of the resource
 * (the probe's LIST of 20,000 pods sorted them all every second; Kubernetes'
 * watch cache keeps its objects in a B-tree for the same reason). New keys
 * wait in a small unsorted batch and removed ones stay until the next read;
 * a read sorts the batch and merges it in, which costs a pass over the keys
 * instead of a sort of them.
 */
export class SortedKeys {
  private sorted: string[] = [];
  private added: string[] = [];
  private removedSinceRead = 0;

  /** `isLive(key)`: whether the key exists now (the cache's map), the truth the removals are checked against. */
  constructor(private readonly isLive: (key: string) => boolean) {}

  /** Starts over with these keys (a relist). */
  reset(keys: Iterable<string>): void {
    this.sorted = [...keys].sort();
    this.added = [];
    this.removedSinceRead = 0;
  }

  /** A key that did not exist before. */
  add(key: string): void {
    this.added.push(key);
  }

  /** A key that existed and is gone (it may come back: `add` again). */
  remove(): void {
    this.removedSinceRead++;
  }

  /** The live keys starting with `prefix`, sorted. */
  withPrefix(prefix: string): string[] {
    const all = this.all();
    const lo = lowerBound(all, prefix);
    let end = lo;
    while (end < all.length && all[end]!.startsWith(prefix)) end++;
    return all.slice(lo, end);
  }

  private all(): readonly string[] {
    if (this.removedSinceRead > 0) {
      this.sorted = this.sorted.filter(this.isLive);
      this.removedSinceRead = 0;
    }
    if (this.added.length > 0) {
      const added = this.added.filter(this.isLive).sort();
      this.added = [];
      this.sorted = mergeUnique(this.sorted, added);
    }
    return this.sorted;
  }
}

/** The first index of `sorted` whose key is not below `key` (its length when none is). */
export function lowerBound(sorted: readonly string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Two sorted arrays as one, each key once (a key removed and added again between reads is in both). */
function mergeUnique(a: readonly string[], b: readonly string[]): string[] {
  const out: string[] = new Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let n = 0;
  while (i < a.length || j < b.length) {
    const next = j >= b.length || (i < a.length && a[i]! <= b[j]!) ? a[i++]! : b[j++]!;
    if (n === 0 || out[n - 1] !== next) out[n++] = next;
  }
  out.length = n;
  return out;
}
