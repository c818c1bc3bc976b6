/** The chaos engine: scenarios, the plugin registry, runs, figures, reports, studies (see docs/chaos.md). */
export * from './types.js';
export { PluginRegistry, defaultRegistry, fullRegistry, storeRegistry } from './registry.js';
export { parseScenario, resolveScenario, scenarioSchema, setPath, CLUSTER_DEFAULTS, type StudyDefaults } from './scenario.js';
export { ScenarioError, parseYamlWithSchema, type SchemaError } from './schema.js';
export { runScenario, type ChaosRun, type SetupStep, type RunOptions, type RunOutcome, type Progress, type Runtime, type Verdict } from './run.js';
export { computeFigures, describeFigures, expandSchedule, longestGap, CLUSTER_FIGURES, type FiredFault } from './figures.js';
export { checkWatches, findLostWrites, percentile, latenciesMs } from './checks.js';
export { partitionCuts, pickTarget } from './nemeses.js';
export { renderReport } from './report-html.js';
export { writeRunFiles, toResultFile, replayFromResult, RESULT_FORMAT, versions } from './output.js';
export { runStudy, runStudyWith, studyRuntime, parseVary, renderStudyHtml, formatStudyTable, StudyRunError, STUDY_FIGURES, type StudyResult, type StudyOptions, type StudyFigure } from './study.js';
export { inProcessRunner, poolRunner, defaultStudyWorkers, STUDY_WORKERS_MAX, type StudyRunner } from './study-pool.js';
export { runStudyTask, type StudyRunTask, type StudyRunFigure } from './study-run.js';
