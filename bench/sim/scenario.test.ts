import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fullRegistry, parseScenario } from '../../src/chaos/engine/index.js';
import { simBenchScenario } from './scenario.js';

test('the 20-seed study file is the 20-node bench scenario written out (the issue\'s study runs what bench sim runs)', () => {
  const file = new URL('../../../scenarios/studies/bench-sim-20.yaml', import.meta.url);
  const study = parseScenario(readFileSync(file, 'utf8'), 'bench-sim-20.yaml', fullRegistry());
  const bench = parseScenario(simBenchScenario({ nodes: 20, durationMs: 8000 }), 'bench-sim-20.yaml', fullRegistry());
  assert.deepEqual(study.scenario, bench.scenario);
  assert.equal(study.study.seeds, 20);
});
