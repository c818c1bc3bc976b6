/**
 * kube-scheduler: the pure cycle (`scheduleOne` over a snapshot), the plugin
 * framework and its default plugins, the scheduling queue, and the run loop
 * over informers, a Binder and an EventRecorder.
 */
export { quantityValue, quantityMilliValue, isValidQuantity } from './quantity.js';
export {
  NodeInfo, buildSnapshot, podRequests, nodeAllocatable, holdsResources, podKey, affinityOf,
  DEFAULT_MILLI_CPU_REQUEST, DEFAULT_MEMORY_REQUEST_BYTES,
  type Snapshot, type Resources, type Allocatable, type Affinity, type NodeAffinity, type PodAffinity, type PodAffinityTerm, type NodeSelectorTerm, type NodeSelectorRequirement,
} from './types.js';
export {
  CycleState, buildFramework, defaultNormalizeScore, unschedulable, unresolvable, isSuccess, MAX_NODE_SCORE, MIN_NODE_SCORE, EXTENSION_POINTS,
  type Framework, type Status, type StatusCode, type Plugin, type AnyPlugin, type PreFilterPlugin, type FilterPlugin, type PostFilterPlugin, type PreScorePlugin, type ScorePlugin, type NodeScore, type PostFilterResult, type ExtensionPoint,
} from './framework.js';
export { buildProfile, PLUGIN_REGISTRY, DEFAULT_PLUGINS, DEFAULT_SCORE_WEIGHTS, DEFAULT_SCHEDULER_NAME, type SchedulerProfileConfig } from './profile.js';
export { scheduleOne, fitErrorMessage, scheduledMessage, numFeasibleNodesToFind, scoreNodes, ERR_NO_NODES_AVAILABLE, type ScheduleResult, type ScheduleOptions } from './schedule-one.js';
export { SchedulingQueue, PLUGIN_EVENTS, POD_INITIAL_BACKOFF_MS, POD_MAX_BACKOFF_MS, POD_MAX_IN_UNSCHEDULABLE_MS, type ClusterEvent, type QueuedPodInfo } from './queue.js';
export { Scheduler, SchedulerCache, CACHE_SYNC_POLL_MS, type Binder, type EventRecorder, type SchedulerOptions, type SchedulerStats } from './scheduler.js';
