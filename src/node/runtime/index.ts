/**
 * Container runtimes behind the CRI protocol (src/node/cri): `sim` (no
 * processes, deterministic, for scale), `process` (real child processes,
 * threaded only, needs allowProcesses) and `worker` (JS tasks on a Piscina pool).
 */
export { simRuntime, SimBackend, SIM_LOG_BYTES_MAX, type SimRuntimeArgs } from './sim/sim-runtime.js';
export { parseSimScript, SIM_ANNOTATION_PREFIX, SimScriptError, type SimScript, type SimDefaults } from './sim/script.js';
export { processRuntime, DEFAULT_PROCESS_POD_CIDR, executableOf, type ProcessRuntimeArgs } from './process/process-runtime.js';
export { workerRuntime, type WorkerRuntimeArgs } from './worker/worker-runtime.js';
export type { TaskContext } from './worker/task-runner.js';
export { serveCri, type RuntimeBackend, type RuntimeEvents } from './core/server.js';
export { IpAllocator, parseCidr } from './core/ip-allocator.js';
export { parseDurationMs } from './core/duration.js';
