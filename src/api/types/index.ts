/**
 * Kubernetes object types as TypeScript interfaces, structurally the
 * Kubernetes JSON (what `kubectl get -o json` prints parses into these).
 * Shared by the API server, the client, the scheduler, controllers and kubelets.
 */
export * from './meta.js';
export * from './core.js';
export * from './apps.js';
export * from './coordination.js';
export * from './rbac.js';
export * from './scheduling.js';
export * from './batch.js';
export * from './policy.js';
export * from './authentication.js';
export * from './admissionregistration.js';
