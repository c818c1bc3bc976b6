/**
 * Pods nominated to a node by preemption and not yet bound, as
 * kube-scheduler's nominator: they hold the room they freed against pods of
 * lower or equal priority. Fed by this scheduler's own decisions (at once,
 * before the status write lands) and by pods' `status.nominatedNodeName`
 * (what another scheduler replica decided).
 */
import type { Pod } from '../api/types/index.js';
import { podKey } from './types.js';

const NONE: readonly Pod[] = Object.freeze([]);

export class Nominator {
  private readonly byNode = new Map<string, Map<string, Pod>>();
  private readonly nodeOfPod = new Map<string, string>();

  /** Records the pod on the node, moving it from any other. */
  set(pod: Pod, nodeName: string): void {
    const key = podKey(pod);
    this.delete(key);
    let pods = this.byNode.get(nodeName);
    if (pods === undefined) this.byNode.set(nodeName, (pods = new Map()));
    pods.set(key, pod);
    this.nodeOfPod.set(key, nodeName);
  }

  /** Keeps the pod's record current (a newer object, same nomination). */
  refresh(pod: Pod): void {
    const nodeName = this.nodeOfPod.get(podKey(pod));
    if (nodeName !== undefined) this.byNode.get(nodeName)!.set(podKey(pod), pod);
  }

  delete(key: string): void {
    const nodeName = this.nodeOfPod.get(key);
    if (nodeName === undefined) return;
    this.nodeOfPod.delete(key);
    const pods = this.byNode.get(nodeName)!;
    pods.delete(key);
    if (pods.size === 0) this.byNode.delete(nodeName);
  }

  nodeOf(key: string): string | undefined {
    return this.nodeOfPod.get(key);
  }

  podsOn(nodeName: string): readonly Pod[] {
    const pods = this.byNode.get(nodeName);
    return pods === undefined ? NONE : [...pods.values()];
  }

  get size(): number {
    return this.nodeOfPod.size;
  }
}
