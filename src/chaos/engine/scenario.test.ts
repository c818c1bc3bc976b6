import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { defaultRegistry } from './registry.js';
import { parseScenario, scenarioSchema, setPath } from './scenario.js';
import { ScenarioError } from './schema.js';
import { SCENARIOS_DIR, scenarioFiles } from './testing.js';

function errorsOf(text: string): string[] {
  try {
    parseScenario(text, 'bad.yaml', defaultRegistry);
  } catch (error) {
    assert.ok(error instanceof ScenarioError, `expected a ScenarioError, got ${String(error)}`);
    return error.message.split('\n');
  }
  assert.fail('the scenario was accepted');
}

describe('scenario files', () => {
  test('every scenario in scenarios/ (and the studies) parses against the schema', () => {
    const files = [...scenarioFiles(), ...scenarioFiles(join(SCENARIOS_DIR, 'studies')), ...scenarioFiles(join(SCENARIOS_DIR, 'etcd'))];
    assert.ok(files.length >= 9, `found ${files.length} scenario files`);
    for (const file of files) assert.doesNotThrow(() => parseScenario(readFileSync(file, 'utf8'), file, defaultRegistry), file);
  });

  test('scenarios/scenario.schema.json is the schema of the registered plugins (regenerate: kubethreads chaos schema)', () => {
    const onDisk = JSON.parse(readFileSync(join(SCENARIOS_DIR, 'scenario.schema.json'), 'utf8')) as unknown;
    assert.deepEqual(onDisk, scenarioSchema(defaultRegistry));
  });

  test('defaults fill what a scenario leaves out', () => {
    const { scenario } = parseScenario('name: tiny\ndurationMs: 1000\n', 'tiny.yaml', defaultRegistry);
    assert.equal(scenario.cluster.replicas, 3);
    assert.equal(scenario.cluster.tickMs, 100);
    assert.equal(scenario.sampleMs, 100);
    assert.deepEqual(scenario.nemesis, []);
  });

  test("the simulated disk's fsync takes 2 ms unless the scenario says otherwise; a negative latency is refused on its line", () => {
    const { scenario } = parseScenario('name: tiny\ndurationMs: 1000\n', 'tiny.yaml', defaultRegistry);
    assert.deepEqual(scenario.cluster.disk, { fsyncLatencyMs: 2 });
    const instant = parseScenario('name: tiny\ndurationMs: 1000\ncluster:\n  disk:\n    fsyncLatencyMs: 0\n', 'tiny.yaml', defaultRegistry);
    assert.deepEqual(instant.scenario.cluster.disk, { fsyncLatencyMs: 0 });
    assert.throws(
      () => parseScenario('name: tiny\ndurationMs: 1000\ncluster:\n  disk:\n    fsyncLatencyMs: -1\n', 'bad.yaml', defaultRegistry),
      (e: unknown) => e instanceof ScenarioError && /bad\.yaml:5/.test(e.message) && /fsyncLatencyMs/.test(e.message),
    );
  });
});

describe('a bad scenario gets errors that name the line and the field', () => {
  test('a wrong type, on its line', () => {
    const errors = errorsOf('name: x\ndurationMs: 1000\nworkload:\n  register: { clients: 2, thinkMs: "fast" }\n');
    assert.deepEqual(errors, ['bad.yaml:4: workload.register.thinkMs: must be a number, got "fast"']);
  });

  test('an unknown fault kind lists the known ones', () => {
    const [error] = errorsOf('name: x\ndurationMs: 1000\nnemesis:\n  - { atMs: 1, fault: explode }\n');
    assert.match(error!, /^bad\.yaml:4: nemesis\[0\]\.fault: must be one of "kill", .*"pause".*; got "explode"$/);
  });

  test('a fault that lasts needs its durationMs', () => {
    assert.deepEqual(errorsOf('name: x\ndurationMs: 1000\nnemesis:\n\n  - atMs: 5\n    fault: pause\n'), ['bad.yaml:5: nemesis[0].durationMs: is required (how long it lasts before it is healed)']);
  });

  test('an unknown field, a missing required one, and a value out of range, all at once', () => {
    const errors = errorsOf('name: x\ncluster:\n  replicas: 4\n  tickMs: 0\nchecks: [{ check: latency }]\nbogus: 1\n');
    assert.ok(errors.includes('bad.yaml:3: cluster.replicas: must be one of 1, 3, 5, 7; got 4'), errors.join('\n'));
    assert.ok(errors.includes('bad.yaml:4: cluster.tickMs: must be > 0, got 0'), errors.join('\n'));
    assert.ok(errors.includes('bad.yaml:5: checks[0].maxMs: is required'), errors.join('\n'));
    assert.ok(errors.some((e) => e.startsWith('bad.yaml:6: bogus: unknown field; expected one of name,')), errors.join('\n'));
    assert.ok(errors.some((e) => e.startsWith('bad.yaml:1: durationMs: is required')), errors.join('\n'));
  });

  test('broken YAML is reported with its line', () => {
    const [error] = errorsOf('name: x\ndurationMs: [1000\n');
    assert.match(error!, /^bad\.yaml:\d+: YAML: /);
  });
});

test('setPath changes one dotted path in a copy', () => {
  const base = { cluster: { electionJitterTicks: 1 }, nemesis: [{ atMs: 1 }] };
  const changed = setPath(base, 'cluster.electionJitterTicks', 151);
  assert.equal(changed.cluster.electionJitterTicks, 151);
  assert.equal(base.cluster.electionJitterTicks, 1);
  assert.equal(setPath(base, 'nemesis.0.atMs', 9).nemesis[0]!.atMs, 9);
});
