/** NodeName: a pod that names its node (`spec.nodeName` set before scheduling) fits only there. */
import { unresolvable, type FilterPlugin } from '../framework.js';

export const NODE_NAME = 'NodeName';
export const ERR_REASON_NODE_NAME = "node(s) didn't match the requested node name";

export const nodeName: FilterPlugin = {
  name: NODE_NAME,
  filter(_state, pod, node) {
    const wanted = pod.spec?.nodeName;
    if (wanted === undefined || wanted === '' || wanted === node.name) return null;
    return unresolvable(ERR_REASON_NODE_NAME);
  },
};
