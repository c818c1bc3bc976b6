/** Helpers for the engine's tests: where the repository's scenarios are, and loading them. */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { defaultRegistry, type PluginRegistry } from './registry.js';
import { parseScenario } from './scenario.js';
import type { Scenario } from './types.js';

/** The repository's scenarios/ directory (tests run from dist/src/chaos/engine). */
export const SCENARIOS_DIR = fileURLToPath(new URL('../../../../scenarios/', import.meta.url));

export function scenarioFiles(dir = SCENARIOS_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => join(dir, f));
}

export function loadScenario(file: string, registry: PluginRegistry = defaultRegistry): Scenario {
  return parseScenario(readFileSync(file, 'utf8'), file, registry).scenario;
}
