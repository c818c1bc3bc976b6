/**
 * Container probes: the result tracking (pure, Kubernetes' prober worker
 * rules: thresholds, initial delay, startup gating liveness and readiness)
 * and the `Prober` interface the kubelet calls. Sim pods are probed by
 * `SimProber` from annotations, in virtual time; process and worker pods by
 * the real network prober (net-prober.ts, threaded only).
 *
 * Sim annotations (pod-wide `sim.kubethreads.io/<key>`, or one container's
 * `sim.kubethreads.io/<key>.<container>`), all durations measured from the
 * container's start:
 *   ready-after              readiness fails until the container has run this long
 *   readiness-fail: "true"   readiness always fails
 *   startup-after            the startup probe fails until then
 *   liveness-fail-after      liveness fails from then on (the kubelet restarts the container)
 *   liveness-fail-attempts   ... only for attempts 0..N-1 (a liveness loop that heals)
 *   prestop-ms               the preStop hook takes this long
 */
import type { Container, IntOrString, Pod, Probe } from '../../api/types/index.js';
import { parseDurationMs } from '../runtime/core/duration.js';
import { SIM_ANNOTATION_PREFIX } from '../runtime/sim/script.js';

export type ProbeKind = 'liveness' | 'readiness' | 'startup';

export interface ProbeOutcome {
  ok: boolean;
  message?: string;
}

/** Kubernetes' probe defaults. */
export const PROBE_DEFAULTS = Object.freeze({ initialDelaySeconds: 0, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 });
/** A probe period below a second is refused by Kubernetes' validation; we clamp rather than spin. */
export const PROBE_PERIOD_MS_MIN = 1_000;

export interface ProbeTarget {
  pod: Pod;
  container: Container;
  containerId: string;
  podIP: string;
  startedAtMs: number;
  attempt: number;
  nowMs: number;
}

/** Runs one probe (or hook) against one container. Never throws: a failure is an outcome. */
export interface Prober {
  probe(kind: ProbeKind, probe: Probe, target: ProbeTarget): Promise<ProbeOutcome> | ProbeOutcome;
  /** Run a preStop hook; resolves when it is done (the caller bounds it by the grace period). */
  preStop(handler: LifecycleHandler, target: ProbeTarget): Promise<ProbeOutcome> | ProbeOutcome;
}

export interface LifecycleHandler {
  exec?: { command?: string[] };
  httpGet?: { path?: string; port: IntOrString; host?: string };
  sleep?: { seconds: number };
}

export function probeTiming(probe: Probe): { initialDelayMs: number; periodMs: number; timeoutMs: number; successThreshold: number; failureThreshold: number } {
  return {
    initialDelayMs: Math.max(0, probe.initialDelaySeconds ?? PROBE_DEFAULTS.initialDelaySeconds) * 1000,
    periodMs: Math.max(PROBE_PERIOD_MS_MIN, (probe.periodSeconds ?? PROBE_DEFAULTS.periodSeconds) * 1000),
    timeoutMs: Math.max(1, probe.timeoutSeconds ?? PROBE_DEFAULTS.timeoutSeconds) * 1000,
    successThreshold: Math.max(1, probe.successThreshold ?? PROBE_DEFAULTS.successThreshold),
    failureThreshold: Math.max(1, probe.failureThreshold ?? PROBE_DEFAULTS.failureThreshold),
  };
}

/**
 * One probe of one container instance. The result flips only after
 * `successThreshold` successes or `failureThreshold` failures in a row.
 * Before any result: readiness is false, liveness true, startup not yet passed.
 */
export class ProbeTracker {
  result: boolean;
  private successes = 0;
  private failures = 0;
  lastMessage = '';

  constructor(readonly kind: ProbeKind, readonly probe: Probe, readonly containerId: string) {
    this.result = kind === 'liveness';
  }

  /** Record an outcome; returns true when the result changed. */
  record(outcome: ProbeOutcome): boolean {
    const t = probeTiming(this.probe);
    this.lastMessage = outcome.message ?? '';
    if (outcome.ok) {
      this.failures = 0;
      this.successes++;
      if (!this.result && this.successes >= t.successThreshold) {
        this.result = true;
        return true;
      }
    } else {
      this.successes = 0;
      this.failures++;
      if (this.result && this.failures >= t.failureThreshold) {
        this.result = false;
        return true;
      }
      if (this.kind === 'liveness' && this.failures >= t.failureThreshold) return true;
    }
    return false;
  }

  /** Liveness and startup: failed for good (the container must be restarted). */
  get failedForGood(): boolean {
    const t = probeTiming(this.probe);
    return (this.kind === 'liveness' || this.kind === 'startup') && this.failures >= t.failureThreshold;
  }
}

function simValue(pod: Pod, container: string, key: string): string | undefined {
  const a = pod.metadata.annotations;
  return a?.[`${SIM_ANNOTATION_PREFIX}${key}.${container}`] ?? a?.[`${SIM_ANNOTATION_PREFIX}${key}`];
}

function simDurationMs(pod: Pod, container: string, key: string): number | undefined {
  const v = simValue(pod, container, key);
  if (v === undefined) return undefined;
  const ms = parseDurationMs(v);
  if (ms === undefined || ms < 0) throw new Error(`annotation ${SIM_ANNOTATION_PREFIX}${key}: ${JSON.stringify(v)} is not a duration like 500ms or 5s`);
  return ms;
}

/** Probe outcomes of sim containers, from their pod's annotations: deterministic in virtual time. */
export class SimProber implements Prober {
  constructor(private readonly sleep: (ms: number) => Promise<void>) {}

  probe(kind: ProbeKind, _probe: Probe, target: ProbeTarget): ProbeOutcome {
    const { pod, container } = target;
    const ranMs = target.nowMs - target.startedAtMs;
    try {
      switch (kind) {
        case 'readiness': {
          if (simValue(pod, container.name, 'readiness-fail') === 'true') return { ok: false, message: 'sim: readiness-fail' };
          const afterMs = simDurationMs(pod, container.name, 'ready-after') ?? 0;
          return ranMs >= afterMs ? { ok: true } : { ok: false, message: `sim: not ready until ${afterMs} ms after start` };
        }
        case 'startup': {
          const afterMs = simDurationMs(pod, container.name, 'startup-after') ?? 0;
          return ranMs >= afterMs ? { ok: true } : { ok: false, message: `sim: not started until ${afterMs} ms after start` };
        }
        case 'liveness': {
          const failAfterMs = simDurationMs(pod, container.name, 'liveness-fail-after');
          const attempts = simValue(pod, container.name, 'liveness-fail-attempts');
          if (failAfterMs === undefined || (attempts !== undefined && target.attempt >= Number(attempts))) return { ok: true };
          return ranMs >= failAfterMs ? { ok: false, message: `sim: liveness fails ${failAfterMs} ms after start` } : { ok: true };
        }
      }
    } catch (error) {
      return { ok: false, message: (error as Error).message };
    }
  }

  /** The hook takes `prestop-ms` (or a `sleep` handler's seconds) of virtual time. */
  async preStop(handler: LifecycleHandler, target: ProbeTarget): Promise<ProbeOutcome> {
    let ms: number;
    try {
      ms = simDurationMs(target.pod, target.container.name, 'prestop-ms') ?? (handler.sleep?.seconds ?? 0) * 1000;
    } catch (error) {
      return { ok: false, message: (error as Error).message };
    }
    await this.sleep(ms);
    return { ok: true };
  }
}

/** A probe's port: a number, or the name of one of the container's ports. */
export function resolvePort(port: IntOrString, container: Container): number | undefined {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  return container.ports?.find((p) => p.name === port)?.containerPort;
}
