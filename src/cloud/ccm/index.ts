/** The cloud-controller-manager: its controllers, the manager that runs them under a Lease, and its actor. */
export * from './desired.js';
export { KeyedController, NotLeaderError, RETRY_BACKOFF_DEFAULT, type RetryBackoff, type ControllerStats } from './controller.js';
export { findInstance, type ControllerContext, type KubeWriter } from './context.js';
export { CloudNodeController, CloudNodeLifecycleController, LIFECYCLE_CONCURRENCY_MAX } from './node-controller.js';
export { ServiceController, type ServiceControllerOptions } from './service-controller.js';
export { RouteController, ROUTE_CONCURRENCY_MAX } from './route-controller.js';
export { CloudControllerManager, CCM_DEFAULTS, CCM_CONTROLLERS_ALL, type CcmOptions, type CcmStatus, type CcmControllerName } from './manager.js';
export { CCM_NAME, type CcmMsg } from './protocol.js';
export { cloudControllerManager, type CcmArgs } from './behaviour.js';
