/**
 * Which pods an owner controls, as Kubernetes' PodControllerRefManager
 * decides it: its own pods that still match its selector; its own pods that
 * stopped matching are released (their controller reference removed); orphans
 * that match (and that the owner may adopt) are adopted by a patch carrying
 * the pod's resourceVersion, so a pod that changed meanwhile is left for the
 * next sync. Candidates come from the controller-uid index: the owner's pods
 * and the namespace's orphans, never every pod of the namespace.
 */
import type { KubeObject, LabelSelector, OwnerReference, Pod } from '../api/types/index.js';
import { INDEX_CONTROLLER_UID, PODS, isConflict, isNotFound, orphansOf, type Informer } from '../client/index.js';
import { controllerRefOf, isDeleting, ownerRefTo, selectorMatches, type ControllerApi } from './common.js';

export interface PodClaim {
  owner: KubeObject & { spec?: { selector?: LabelSelector } };
  /** The owner's apiVersion and kind, for the controller reference an adopted pod gets. */
  apiVersion: string;
  kind: string;
  pods: Informer<Pod>;
  api: ControllerApi;
  /** An orphan this owner may adopt besides matching its selector (a StatefulSet: only a member's name). */
  mayAdopt?: (pod: Pod) => boolean;
}

export async function claimPods(claim: PodClaim): Promise<Pod[]> {
  const { owner, pods, api } = claim;
  const uid = owner.metadata.uid!;
  const namespace = owner.metadata.namespace;
  const owned: Pod[] = [];
  for (const pod of [...pods.store.byIndex(INDEX_CONTROLLER_UID, uid), ...pods.store.byIndex(INDEX_CONTROLLER_UID, orphansOf(namespace))]) {
    if (pod.metadata.namespace !== namespace) continue;
    const matches = selectorMatches(owner.spec?.selector, pod.metadata.labels);
    const ref = controllerRefOf(pod);
    if (ref !== undefined) {
      if (ref.uid !== uid) continue;
      if (matches) owned.push(pod);
      else await patchPodOwners(api, pod, (pod.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid));
      continue;
    }
    if (!matches || isDeleting(pod) || (claim.mayAdopt !== undefined && !claim.mayAdopt(pod))) continue;
    const adopted = await patchPodOwners(api, pod, [...(pod.metadata.ownerReferences ?? []), ownerRefTo(owner, claim.apiVersion, claim.kind)]);
    if (adopted !== undefined) owned.push(adopted);
  }
  return owned;
}

/** Set a pod's owner references, guarded by its resourceVersion; undefined when it is gone or changed meanwhile. */
export async function patchPodOwners(api: ControllerApi, pod: Pod, refs: OwnerReference[]): Promise<Pod | undefined> {
  try {
    return await api.patch(PODS, pod.metadata.namespace, pod.metadata.name!, 'merge', { metadata: { ownerReferences: refs.length > 0 ? refs : null, resourceVersion: pod.metadata.resourceVersion } });
  } catch (error) {
    if (isNotFound(error) || isConflict(error)) return undefined;
    throw error;
  }
}
