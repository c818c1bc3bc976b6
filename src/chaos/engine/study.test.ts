import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defaultRegistry, storeRegistry } from './registry.js';
import { parseScenario } from './scenario.js';
import { runStudy, runStudyWith, StudyRunError, type StudyOptions } from './study.js';
import type { StudyRunner } from './study-pool.js';
import type { StudyRunFigure, StudyRunTask } from './study-run.js';

const TINY = parseScenario(
  `name: tiny
description: one leader kill, one client
workload: { register: { clients: 1, thinkMs: 50 } }
nemesis:
  - { atMs: 1000, fault: kill, target: leader }
durationMs: 3000
checks: [linearizable]
`,
  'tiny.yaml',
  defaultRegistry,
).scenario;

const TWO_BY_THREE: StudyOptions = { key: 'cluster.electionTicks', values: [10, 12], seeds: 3, figure: 'newLeaderMs', fault: 0 };

/** A runner that never runs a cluster: the figure is a function of the task, and runs finish in the order `finishOrder` says. */
function scriptedRunner(concurrency: number, figure: (task: StudyRunTask) => number | null, failOn?: (task: StudyRunTask) => boolean): StudyRunner & { started: StudyRunTask[] } {
  const started: StudyRunTask[] = [];
  let inFlight = 0;
  return {
    concurrency,
    started,
    async run(task): Promise<StudyRunFigure> {
      started.push(task);
      inFlight++;
      assert.ok(inFlight <= concurrency, `${inFlight} runs in flight on a runner of ${concurrency}`);
      // Later seeds finish first: the reverse of the order they were handed out.
      for (let i = 0; i < 20 - task.seed; i++) await Promise.resolve();
      inFlight--;
      if (failOn?.(task) === true) throw new Error(`boom at seed ${task.seed}`);
      return { valueMs: figure(task), wallMs: 1, traceHash: undefined };
    },
    destroy: () => Promise.resolve(),
  };
}

const byTask = (task: StudyRunTask): number | null => (task.seed === 2 ? null : task.scenario.cluster.electionTicks * 100 + task.seed);

describe('chaos study', () => {
  test('the result is collected by value and seed, whatever order the runs finish in', async () => {
    const completions: number[] = [];
    const serial = await runStudyWith(TINY, TWO_BY_THREE, scriptedRunner(1, byTask));
    const parallel = await runStudyWith(TINY, { ...TWO_BY_THREE, onRun: (_d, _t, _l, seed) => completions.push(seed) }, scriptedRunner(6, byTask));
    assert.deepEqual(completions, [3, 3, 2, 2, 1, 1], 'the scripted runner finishes the later seeds first');
    assert.equal(JSON.stringify(parallel), JSON.stringify(serial));
    assert.deepEqual(serial.settings.map((s) => [s.label, s.valuesMs, s.censored]), [
      ['cluster.electionTicks=10', [1001, 1003], 1],
      ['cluster.electionTicks=12', [1201, 1203], 1],
    ]);
  });

  test('a run that throws stops the study and is reported with its setting and seed; no run starts after it', async () => {
    const runner = scriptedRunner(1, byTask, (t) => t.scenario.cluster.electionTicks === 12 && t.seed === 2);
    await assert.rejects(runStudyWith(TINY, TWO_BY_THREE, runner), (error: unknown) => {
      assert.ok(error instanceof StudyRunError);
      assert.equal(error.label, 'cluster.electionTicks=12');
      assert.equal(error.value, 12);
      assert.equal(error.seed, 2);
      assert.match(error.message, /the run of cluster\.electionTicks=12 with seed 2 failed: boom at seed 2/);
      return true;
    });
    assert.equal(runner.started.length, 5);
  });

  test('with two worker threads the JSON is byte-identical to one run after another in this thread', async () => {
    const serial = await runStudy(TINY, { ...TWO_BY_THREE, workers: 1 });
    const pooled = await runStudy(TINY, { ...TWO_BY_THREE, workers: 2 });
    assert.equal(JSON.stringify(pooled, null, 2), JSON.stringify(serial, null, 2));
    assert.ok(serial.settings.every((s) => s.valuesMs.length > 0), 'the figure happened in some runs of each setting');
  });

  test('a run that throws in a worker thread is reported with its setting and seed, and the pool is let go', async () => {
    // An etcd group of 0 replicas passes the study (it only sets a path) and throws when the run starts it.
    await assert.rejects(runStudy(TINY, { ...TWO_BY_THREE, key: 'cluster.replicas', values: [0], seeds: 2, workers: 2 }), (error: unknown) => {
      assert.ok(error instanceof StudyRunError);
      assert.equal(error.label, 'cluster.replicas=0');
      assert.equal(error.seed, 1);
      assert.match(error.message, /odd number of replicas/);
      return true;
    });
  });

  test('a study with its own plugin registry refuses worker threads (plugins cannot cross threads)', async () => {
    await assert.rejects(runStudy(TINY, { ...TWO_BY_THREE, registry: storeRegistry(), workers: 2 }), /workers: 1/);
    await assert.rejects(runStudy(TINY, { ...TWO_BY_THREE, workers: 0 }), /at least one worker/);
  });
});
