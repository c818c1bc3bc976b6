/**
 * The cloud-controller-manager component: node, node lifecycle, service and
 * route controllers against the simulated cloud, leader-elected through the
 * `kube-system/cloud-controller-manager` Lease (src/cloud/ccm). Spawn it with
 * `system.spawn(cloudControllerManager, { name: 'cloud-controller-manager', args: { leaderElection: timings } })`.
 */
export { cloudControllerManager, type CcmArgs } from '../src/cloud/ccm/behaviour.js';
export { CCM_NAME, type CcmMsg } from '../src/cloud/ccm/protocol.js';
export type { CcmStatus } from '../src/cloud/ccm/manager.js';
