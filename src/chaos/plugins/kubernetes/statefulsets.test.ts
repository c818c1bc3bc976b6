import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defaultRegistry } from '../../engine/registry.js';
import { parseScenario } from '../../engine/scenario.js';

const scenario = (pdb: string): string => `name: s\ndurationMs: 1000\nworkload:\n  deployments: { nodes: 1 }\n  statefulsets: { replicas: 3, pdb: ${pdb} }\n`;

describe('the statefulsets workload\'s spec in a scenario file', () => {
  test('a budget with one of minAvailable or maxUnavailable parses', () => {
    for (const pdb of ['{ minAvailable: 2 }', '{ maxUnavailable: 1 }']) {
      const { scenario: parsed } = parseScenario(scenario(pdb), 's.yaml', defaultRegistry);
      assert.ok((parsed.workload.statefulsets as { pdb?: object }).pdb !== undefined, pdb);
    }
  });

  test('a budget with both, neither, or a negative count is refused with the line and the field', () => {
    for (const [pdb, message] of [
      ['{ minAvailable: 1, maxUnavailable: 1 }', /s\.yaml:5: workload\.statefulsets\.pdb: does not match any allowed form: needs minAvailable; or maxUnavailable/],
      ['{}', /workload\.statefulsets\.pdb: does not match any allowed form/],
      ['{ minAvailable: -1 }', /workload\.statefulsets\.pdb\.minAvailable: must be >= 0, got -1/],
    ] as const) {
      assert.throws(() => parseScenario(scenario(pdb), 's.yaml', defaultRegistry), message, pdb);
    }
  });
});
