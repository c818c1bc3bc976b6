/**
 * Piscina worker: one simulated run of a study per task. Compiled to
 * dist/src/chaos/engine/study-worker.js; the study pool finds it beside
 * itself. Plugins are code and cannot cross threads, so the worker runs with
 * the default registry (study.ts refuses a custom one with more than one worker).
 */
import { runStudyTask, type StudyRunFigure, type StudyRunTask } from './study-run.js';

export default function studyRunTask(task: StudyRunTask): Promise<StudyRunFigure> {
  return runStudyTask(task);
}
