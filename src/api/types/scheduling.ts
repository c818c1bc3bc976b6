/** scheduling.k8s.io/v1 PriorityClass: a name for a pod priority, read by the Priority admission plugin. */
import type { KubeObject, List } from './meta.js';

export type PreemptionPolicy = 'PreemptLowerPriority' | 'Never';

export interface PriorityClass extends KubeObject {
  apiVersion?: 'scheduling.k8s.io/v1';
  kind?: 'PriorityClass';
  /** The priority pods of this class get; user classes at most 1,000,000,000. */
  value: number;
  /** Pods without a priorityClassName get this class (at most one class may say so). */
  globalDefault?: boolean;
  description?: string;
  /** Default PreemptLowerPriority. */
  preemptionPolicy?: PreemptionPolicy;
}
export type PriorityClassList = List<PriorityClass>;
