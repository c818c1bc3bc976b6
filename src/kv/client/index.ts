/** The store client (see types.ts): one interface, a local and a replicated implementation. */
export * from './types.js';
export { LocalKvClient, type LocalKvClientOptions } from './local-client.js';
export {
  ReplicatedKvClient,
  KvRequestError,
  actorKvClientHost,
  type KvClientHost,
  type ReplicatedKvClientOptions,
  KV_REQUEST_TIMEOUT_MS_DEFAULT,
  KV_ATTEMPT_TIMEOUT_MS_DEFAULT,
} from './replicated-client.js';
