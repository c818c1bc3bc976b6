/**
 * The kube-apiserver component: one actor serving the Kubernetes API over
 * actor messages (src/api/protocol.ts) and HTTPS for kubectl (src/api/http).
 * Spawn it with `system.spawn(apiServer, { name: 'apiserver', args: { kv: ... } })`.
 */
export { apiServer, type ApiServerArgs, type KvSource, type KvClientFactory } from '../src/api/behaviour.js';
export { APISERVER_NAME, type ApiServerMsg, type ApiReply, type ApiWatchMsg, type ApiServerInfo, type ApiTarget } from '../src/api/protocol.js';
