/**
 * The simulated cloud provider: one actor holding instances, load balancers
 * and routes behind an API with configurable latency, error rate and faults
 * (src/cloud/provider). Spawn it with
 * `system.spawn(cloudProvider, { name: 'cloud', args: { config: {...}, dataPlane: 'tcp' | 'none' } })`.
 */
export { cloudProvider, type CloudArgs } from '../src/cloud/provider/behaviour.js';
export { CLOUD_NAME, type CloudMsg, type DataPlaneStatus } from '../src/cloud/provider/protocol.js';
export type { CloudFault, CloudHeal, CloudSnapshot, FaultOutcome } from '../src/cloud/provider/types.js';
