/**
 * The Kubernetes API: object types, the registry over the store, the watch
 * cache, authn/authz/admission, the transport-independent handlers, the
 * actor protocol, and (in ./http) the HTTPS face for kubectl.
 */
export * from './types/index.js';
export { ApiError, apiErrors, isApiError } from './errors.js';
export { RESOURCES, findResource, findByKind, resourceByName, storageKey, storagePrefix, apiVersionOf, type ResourceInfo } from './resources.js';
export { Registry, formatTime, scaleOf, type PatchType, type RegistryOptions, type WriteOptions } from './registry.js';
export { WatchCache, WATCH_CACHE_EVENTS_MAX, type WatchRequest, type WatchSink, type CacheWatch } from './watch-cache.js';
export { ApiHandlers, SYSTEM_NAMESPACES, type ApiRequest, type ApiResult, type ApiQuery, type Verb, type ApiHandlersOptions } from './handlers.js';
export { TokenAuthenticator, parseTokenFile, formatTokenFile, ANONYMOUS, type UserInfo, type TokenEntry } from './auth.js';
export { RbacAuthorizer, bootstrapPolicy, ruleAllows, staticRbacSource, SYSTEM_MASTERS, type RbacSource, type RequestAttributes, type Decision } from './rbac.js';
export { parseLabelSelector, parseFieldSelector, selectorFromObject, matchesLabels, matchesFilter, formatSelector, parseFilter, type Selector, type ObjectFilter } from './selectors.js';
export { mergePatch, strategicMergePatch, jsonPatch } from './patch.js';
export { APISERVER_NAME, type ApiServerMsg, type ApiReply, type ApiWatchMsg, type ApiServerInfo, type ApiTarget } from './protocol.js';
