/** NodeUnschedulable: a cordoned node (`spec.unschedulable`) takes no pods unless they tolerate its taint. */
import type { Pod } from '../../api/types/index.js';
import { unresolvable, type FilterPlugin } from '../framework.js';
import type { NodeInfo } from '../types.js';
import { toleratesTaint } from './taint-toleration.js';

export const NODE_UNSCHEDULABLE = 'NodeUnschedulable';
export const ERR_REASON_UNSCHEDULABLE = 'node(s) were unschedulable';
export const UNSCHEDULABLE_TAINT_KEY = 'node.kubernetes.io/unschedulable';

export const nodeUnschedulable: FilterPlugin = {
  name: NODE_UNSCHEDULABLE,
  filter(_state, pod: Pod, node: NodeInfo) {
    if (node.node.spec?.unschedulable !== true) return null;
    const tolerated = (pod.spec?.tolerations ?? []).some((t) => toleratesTaint(t, { key: UNSCHEDULABLE_TAINT_KEY, effect: 'NoSchedule' }));
    return tolerated ? null : unresolvable(ERR_REASON_UNSCHEDULABLE);
  },
};
