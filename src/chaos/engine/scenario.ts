/**
 * Scenarios: the JSON Schema built from the registry (so a plugin's
 * parameters are documented and validated the moment it registers), parsing
 * with errors that name the line and the field, and defaults.
 */
import type { MetricSeriesSpec, MetricsSampling } from './metric-series.js';
import { STUDY_FIGURES, type StudyFigure } from './figures.js';
import { commonFaultProperties } from './nemeses.js';
import type { PluginRegistry } from './registry.js';
import { parseYamlWithSchema } from './schema.js';
import type { CheckSpec, ClusterSpec, JsonSchema, NemesisEntry, Scenario } from './types.js';

export const CLUSTER_DEFAULTS: ClusterSpec = {
  replicas: 3,
  tickMs: 100,
  heartbeatTicks: 1,
  electionTicks: 10,
  preVote: true,
  checkQuorum: true,
  network: { latencyMinMs: 0.05, latencyMaxMs: 0.5 },
  // etcd's hardware guide asks a loaded cluster's disk for 500 sequential fdatasyncs a second (2 ms each; 50 a second at
  // least); this VM's own fdatasync of a 4 KiB append measured 0.5 ms median, 2-3.5 ms p90 when quiet, 2.3 ms median under load.
  disk: { fsyncLatencyMs: 2 },
};
export const SAMPLE_MS_DEFAULT = 100;
/** A scrape walks every actor's registry: a few a second show a fault's effect without slowing a large simulated run. */
export const METRICS_EVERY_MS_DEFAULT = 500;
/** A scenario's longest run. Why: histories and samples live in memory; an hour of virtual time is already a study, not a test. */
export const SCENARIO_DURATION_MS_MAX = 3_600_000;

function faultBranches(registry: PluginRegistry, withTime: boolean): JsonSchema[] {
  return [...registry.nemeses.values()].map((n) => {
    const own = (n.schema.properties ?? {}) as Record<string, JsonSchema>;
    const required = ['fault', ...((n.schema.required ?? []) as string[]), ...(withTime ? ['atMs'] : []), ...(n.needsDuration ? ['durationMs'] : [])];
    const properties: Record<string, JsonSchema> = { fault: { const: n.name, description: n.description }, ...commonFaultProperties, ...own };
    if (!withTime) delete properties.atMs;
    return { type: 'object', additionalProperties: false, properties, required };
  });
}

function checkBranches(registry: PluginRegistry): JsonSchema[] {
  const names = [...registry.checks.keys()];
  return [
    { type: 'string', enum: names, description: 'a check without parameters' },
    ...[...registry.checks.values()].map((c) => ({
      type: 'object',
      additionalProperties: false,
      properties: { check: { const: c.name, description: c.description }, ...((c.schema.properties ?? {}) as Record<string, JsonSchema>) },
      required: ['check', ...((c.schema.required ?? []) as string[])],
    })),
  ];
}

/** The scenario schema for the plugins in `registry` (scenarios/scenario.schema.json is this, written out). */
export function scenarioSchema(registry: PluginRegistry): JsonSchema {
  const workloads: Record<string, JsonSchema> = {};
  for (const w of registry.workloads.values()) workloads[w.name] = w.schema;
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://kubethreads.dev/scenario.schema.json',
    title: 'kubethreads chaos scenario',
    description: 'What `kubethreads chaos run` runs: a cluster, a workload, a schedule of faults, a duration, and the checks that decide the verdict. Times are milliseconds of the run (virtual ones with --sim).',
    type: 'object',
    additionalProperties: false,
    required: ['name', 'durationMs'],
    properties: {
      name: { type: 'string', minLength: 1, description: 'short name, used in reports' },
      description: { type: 'string', description: 'what the scenario shows, for people' },
      cluster: {
        type: 'object',
        additionalProperties: false,
        description: 'the store: replicas and Raft timing',
        properties: {
          store: {
            type: 'string', enum: ['raft', 'etcd'],
            description: 'raft: kubethreads\' own replicas (default); etcd: real etcd member processes started from the installed binary, heartbeat tickMs × heartbeatTicks, election timeout tickMs × electionTicks (threaded runtime only; the nemeses kill -9, SIGSTOP/SIGCONT and restart them)',
          },
          replicas: { type: 'integer', enum: [1, 3, 5, 7], description: `replicas of the store (default ${CLUSTER_DEFAULTS.replicas})` },
          tickMs: { type: 'number', exclusiveMinimum: 0, description: `one Raft tick in ms (default ${CLUSTER_DEFAULTS.tickMs}; 1 for ms-resolution studies)` },
          heartbeatTicks: { type: 'integer', minimum: 1, description: `leader heartbeat every N ticks (default ${CLUSTER_DEFAULTS.heartbeatTicks})` },
          electionTicks: { type: 'integer', minimum: 2, description: `election timeout lower bound in ticks (default ${CLUSTER_DEFAULTS.electionTicks})` },
          electionJitterTicks: { type: 'integer', minimum: 0, description: 'the timeout is drawn from [electionTicks, electionTicks + jitter) ticks (default electionTicks)' },
          preVote: { type: 'boolean', description: 'Raft pre-vote (default true)' },
          checkQuorum: { type: 'boolean', description: 'Raft check-quorum (default true)' },
          network: {
            type: 'object',
            additionalProperties: false,
            description: 'simulated runtime only: one-way message latency between any two actors',
            properties: { latencyMinMs: { type: 'number', minimum: 0 }, latencyMaxMs: { type: 'number', minimum: 0 } },
          },
          disk: {
            type: 'object',
            additionalProperties: false,
            description: 'simulated runtime only: the in-memory disks (the threaded runtime\'s take what this machine\'s fsync takes)',
            properties: {
              fsyncLatencyMs: {
                type: 'number', minimum: 0,
                description: `what every fsync takes, in virtual ms (default ${CLUSTER_DEFAULTS.disk.fsyncLatencyMs}: etcd's recommended 500 sequential fsyncs a second); the actor is busy meanwhile, what arrives waits and shares its next fsync, and a disk fault's fsyncDelayMs adds to it`,
              },
            },
          },
        },
      },
      workload: { type: 'object', additionalProperties: false, description: 'workloads by name, each with its own settings', properties: workloads },
      nemesis: {
        type: 'array',
        description: 'the fault schedule: faults at fixed times, or random ones drawn from the seed',
        items: {
          oneOf: [
            ...faultBranches(registry, true),
            {
              type: 'object',
              additionalProperties: false,
              required: ['random'],
              properties: {
                random: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['perMinute', 'faults'],
                  description: 'a Poisson process of faults, drawn from the seed',
                  properties: {
                    perMinute: { type: 'number', exclusiveMinimum: 0, description: 'mean faults per minute' },
                    fromMs: { type: 'number', minimum: 0, description: 'first possible fault time (default 0)' },
                    untilMs: { type: 'number', minimum: 0, description: 'no fault starts after this (default: the duration minus 20%)' },
                    faults: { type: 'array', minItems: 1, description: 'each arrival picks one of these uniformly', items: { oneOf: faultBranches(registry, false) } },
                  },
                },
              },
            },
          ],
        },
      },
      durationMs: { type: 'number', exclusiveMinimum: 0, maximum: SCENARIO_DURATION_MS_MAX, description: 'how long the workload runs; faults still active at the end are healed' },
      checks: { type: 'array', description: 'what decides the verdict', items: { oneOf: checkBranches(registry) } },
      sampleMs: { type: 'number', exclusiveMinimum: 0, description: `how often each replica's role, term and leader are sampled (default ${SAMPLE_MS_DEFAULT})` },
      metrics: {
        type: 'object',
        additionalProperties: false,
        required: ['series'],
        description: 'series sampled from every component\'s metrics on the run\'s timeline; result.json holds them and report.html plots them beside the faults',
        properties: {
          everyMs: { type: 'number', exclusiveMinimum: 0, description: `how often the metrics are scraped (default ${METRICS_EVERY_MS_DEFAULT})` },
          series: {
            type: 'array',
            minItems: 1,
            description: 'a metric name (summed over every component), or a metric with labels, or a histogram quantile',
            items: {
              oneOf: [
                { type: 'string', minLength: 1, description: 'a counter or gauge, summed over its samples' },
                {
                  type: 'object', additionalProperties: false, required: ['metric'],
                  properties: { metric: { type: 'string', minLength: 1 }, labels: { type: 'object', additionalProperties: { type: 'string' }, description: 'only samples with these label values (e.g. component: etcd-0)' }, title: { type: 'string' } },
                },
                {
                  type: 'object', additionalProperties: false, required: ['histogram', 'quantile'],
                  properties: {
                    histogram: { type: 'string', minLength: 1, description: 'a histogram family (without _bucket)' },
                    quantile: { type: 'number', minimum: 0, maximum: 1, description: 'e.g. 0.99: of the observations since the previous scrape' },
                    labels: { type: 'object', additionalProperties: { type: 'string' }, description: 'only samples with these label values (e.g. component: etcd-0)' }, title: { type: 'string' },
                  },
                },
              ],
            },
          },
        },
      },
      study: {
        type: 'object',
        additionalProperties: false,
        description: 'defaults for `kubethreads chaos study` on this file',
        properties: {
          vary: { type: 'string', description: 'KEY=V1,V2,... (KEY a dotted path in the scenario, e.g. cluster.electionJitterTicks)' },
          labels: { type: 'array', items: { type: 'string' }, description: 'a label per value, for the plot' },
          seeds: { type: 'integer', minimum: 1 },
          figure: { type: 'string', enum: [...STUDY_FIGURES], description: 'the figure whose distribution is plotted' },
          fault: { type: 'integer', minimum: 0, description: 'which fault\'s figure (default 0, the first)' },
        },
      },
    },
  };
}

export interface StudyDefaults {
  vary?: string;
  labels?: string[];
  seeds?: number;
  figure?: StudyFigure;
  fault?: number;
}

/** A validated scenario with every default filled in. */
export function resolveScenario(raw: Record<string, unknown>): Scenario {
  const cluster = { ...CLUSTER_DEFAULTS, ...((raw.cluster ?? {}) as Partial<ClusterSpec>) };
  cluster.network = { ...CLUSTER_DEFAULTS.network, ...((raw.cluster as { network?: object } | undefined)?.network ?? {}) };
  cluster.disk = { ...CLUSTER_DEFAULTS.disk, ...((raw.cluster as { disk?: object } | undefined)?.disk ?? {}) };
  if (cluster.heartbeatTicks >= cluster.electionTicks) throw new Error(`cluster: heartbeatTicks (${cluster.heartbeatTicks}) must be below electionTicks (${cluster.electionTicks})`);
  if (cluster.network.latencyMaxMs < cluster.network.latencyMinMs) throw new Error('cluster.network: latencyMaxMs must be >= latencyMinMs');
  if (cluster.store === 'raft') delete cluster.store;
  const checks: CheckSpec[] = ((raw.checks ?? []) as Array<string | CheckSpec>).map((c) => (typeof c === 'string' ? { check: c } : c));
  return {
    name: String(raw.name),
    description: typeof raw.description === 'string' ? raw.description : '',
    cluster,
    workload: (raw.workload ?? {}) as Record<string, Record<string, unknown>>,
    nemesis: (raw.nemesis ?? []) as NemesisEntry[],
    durationMs: Number(raw.durationMs),
    checks,
    sampleMs: typeof raw.sampleMs === 'number' ? raw.sampleMs : SAMPLE_MS_DEFAULT,
    ...(raw.metrics !== undefined ? { metrics: resolveMetricsSampling(raw.metrics as { everyMs?: number; series: (string | MetricSeriesSpec)[] }) } : {}),
  };
}

function resolveMetricsSampling(raw: { everyMs?: number; series: (string | MetricSeriesSpec)[] }): MetricsSampling {
  return { everyMs: raw.everyMs ?? METRICS_EVERY_MS_DEFAULT, series: raw.series.map((s) => (typeof s === 'string' ? { metric: s } : s)) };
}

/** Parses and validates scenario YAML; throws `ScenarioError` (line and field per error) or an Error for cross-field problems. */
export function parseScenario(text: string, file: string, registry: PluginRegistry): { scenario: Scenario; study: StudyDefaults } {
  const raw = parseYamlWithSchema(text, file, scenarioSchema(registry)) as Record<string, unknown>;
  return { scenario: resolveScenario(raw), study: (raw.study ?? {}) as StudyDefaults };
}

/** Sets a dotted path (`cluster.electionJitterTicks`, `nemesis.0.durationMs`) in a copy of `value`. */
export function setPath<T>(value: T, path: string, newValue: unknown): T {
  const copy = structuredClone(value) as Record<string, unknown>;
  const parts = path.split('.');
  let at: Record<string, unknown> = copy;
  for (const part of parts.slice(0, -1)) {
    if (typeof at[part] !== 'object' || at[part] === null) at[part] = {};
    at = at[part] as Record<string, unknown>;
  }
  at[parts[parts.length - 1]!] = newValue;
  return copy as T;
}
