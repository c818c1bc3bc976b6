/** Linearizability checking of register histories (see docs/linearizability.md). */
export { checkHistory, checkHistorySync, partitionByKey, type HistoryCheckOptions, type HistoryCheckResult } from './check.js';
export { checkKey, essentialWindowOpsMax, scanWindowOps, type KeyCheckOptions, type KeyCheckResult, type KeyFailure, type Verdict } from './check-key.js';
export { formatCheckResult, formatKeyResult, formatOperations, describeOperation } from './report.js';
export { searchLinearization, searchStepsMaxDefault, cacheBytesMaxDefault, stateRejected, type SearchProblem, type SearchResult, type SearchLimits, type SearchBudget } from './search.js';
export { runCheckCli, parallelOperationsMin } from './check-cli.js';
export { generateRegisterHistory, createPrng, type RandomHistoryOptions, type Prng } from './random-history.js';
