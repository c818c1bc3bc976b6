/**
 * Controller expectations, as Kubernetes' ControllerExpectations and
 * UIDTrackingControllerExpectations: after a ReplicaSet creates or deletes
 * pods it expects to see those changes in its informer before it trusts the
 * cache again, so a cache that lags its own writes never makes it create or
 * delete twice. Expectations expire after a TTL so a lost watch event cannot
 * wedge a controller forever.
 */

/** Kubernetes' ExpectationsTimeout: 5 minutes. */
export const EXPECTATIONS_TTL_MS = 5 * 60_000;

interface Expectation {
  adds: number;
  /** Keys of pods we asked to delete and have not yet seen go (or start terminating). */
  deletes: Set<string>;
  setAtMs: number;
}

export class Expectations {
  private readonly byController = new Map<string, Expectation>();

  constructor(private readonly now: () => number, private readonly ttlMs = EXPECTATIONS_TTL_MS) {}

  /** True when the controller may trust its cache: nothing pending, or the expectation expired. */
  satisfied(controllerKey: string): boolean {
    const e = this.byController.get(controllerKey);
    if (e === undefined) return true;
    if (e.adds <= 0 && e.deletes.size === 0) return true;
    return this.now() - e.setAtMs > this.ttlMs;
  }

  expectCreations(controllerKey: string, count: number): void {
    if (!(Number.isInteger(count) && count >= 0)) throw new Error(`expectCreations: count must be a non-negative integer, got ${count}`);
    this.byController.set(controllerKey, { adds: count, deletes: new Set(), setAtMs: this.now() });
  }

  expectDeletions(controllerKey: string, podKeys: string[]): void {
    this.byController.set(controllerKey, { adds: 0, deletes: new Set(podKeys), setAtMs: this.now() });
  }

  /** Both at once: a DaemonSet sync may create pods for some nodes and delete others. */
  expect(controllerKey: string, adds: number, podKeys: string[]): void {
    if (!(Number.isInteger(adds) && adds >= 0)) throw new Error(`expect: adds must be a non-negative integer, got ${adds}`);
    this.byController.set(controllerKey, { adds, deletes: new Set(podKeys), setAtMs: this.now() });
  }

  /** A pod of this controller appeared (or a creation failed, so it never will). */
  creationObserved(controllerKey: string): void {
    const e = this.byController.get(controllerKey);
    if (e !== undefined && e.adds > 0) e.adds--;
  }

  /** A pod went (or began terminating); only pods we asked to delete count. */
  deletionObserved(controllerKey: string, podKey: string): void {
    this.byController.get(controllerKey)?.deletes.delete(podKey);
  }

  forget(controllerKey: string): void {
    this.byController.delete(controllerKey);
  }

  pending(controllerKey: string): { adds: number; deletes: number } {
    const e = this.byController.get(controllerKey);
    return { adds: e?.adds ?? 0, deletes: e?.deletes.size ?? 0 };
  }
}
