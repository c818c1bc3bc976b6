/** The store client (see types.ts): one interface, a local and a replicated implementation. */
export * from './types.js';
export { LocalKvClient, type LocalKvClientOptions } from './local-client.js';
