/** The simulated cloud and the cloud-controller-manager (see docs/cloud.md). */
export * as provider from './provider/index.js';
export * as ccm from './ccm/index.js';
export { registerNodeInstances, spawnCloudComponents, ccmNames, ACTORS_TAG, NODE_TAG, type NodeInstanceSpec, type CloudComponentsOptions } from './setup.js';
export { cloudProvider, type CloudArgs } from './provider/behaviour.js';
export { CLOUD_NAME, type CloudMsg } from './provider/protocol.js';
export { cloudControllerManager, type CcmArgs } from './ccm/behaviour.js';
export { CCM_NAME, type CcmMsg } from './ccm/protocol.js';
