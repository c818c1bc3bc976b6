/**
 * Checks of the StatefulSet, DaemonSet and Job workloads, as pure judges of
 * their final observation (tests feed them broken records):
 *
 * - statefulset-members: every StatefulSet's members name-0..name-(N-1)
 *   Running and Ready under their own names, and nothing else;
 * - daemonset-coverage: every DaemonSet with exactly one Ready pod on each
 *   live node;
 * - jobs-complete: every Job Complete, none Failed.
 */
import type { CheckResult } from '../../engine/types.js';
import type { DaemonSetObservation, JobObservation, StatefulSetObservation } from './sink.js';

/** pass when the final observation, `final.atMs`, came within maxMs of the last fault. */
function inTime(name: string, atMs: number, lastFaultMs: number, maxMs: number, what: string, details: unknown): CheckResult {
  const afterMs = Math.max(0, atMs - lastFaultMs);
  const ok = afterMs <= maxMs;
  return { name, verdict: ok ? 'pass' : 'fail', summary: `${what} ${Math.round(afterMs)} ms after the last fault${ok ? '' : `, more than ${maxMs} ms`}`, details };
}

/** Pure: every StatefulSet's final members, each ordinal Running and Ready under its own name, nothing more. */
export function judgeStatefulSetMembers(final: StatefulSetObservation | undefined, lastFaultMs: number, maxMs: number): CheckResult {
  const name = 'statefulset-members';
  if (final === undefined) return { name, verdict: 'unknown', summary: 'no StatefulSet was observed: add `workload: { statefulsets: {} }` after deployments' };
  const off = Object.entries(final.sets).filter(([, s]) => s.readyOrdinals.length !== s.replicas || s.others.length > 0);
  if (off.length > 0) {
    return {
      name, verdict: 'fail',
      summary: `not every member back at ${Math.round(final.atMs)} ms: ${off.map(([n, s]) => `${n} ready ordinals [${s.readyOrdinals.join(', ')}] of ${s.replicas}${s.others.length > 0 ? `, others ${s.others.join(', ')}` : ''}`).join('; ')}`,
      details: final,
    };
  }
  return inTime(name, final.atMs, lastFaultMs, maxMs, `${Object.keys(final.sets).length} StatefulSets with every member Ready under its own name`, final);
}

/** Pure: every DaemonSet with exactly one Ready pod on each live node at the final observation. */
export function judgeDaemonSetCoverage(final: DaemonSetObservation | undefined, lastFaultMs: number, maxMs: number): CheckResult {
  const name = 'daemonset-coverage';
  if (final === undefined) return { name, verdict: 'unknown', summary: 'no DaemonSet was observed: add `workload: { daemonsets: {} }` after deployments' };
  const off = Object.entries(final.sets).filter(([, s]) => s.missing.length > 0 || s.extra.length > 0);
  if (off.length > 0) {
    return {
      name, verdict: 'fail',
      summary: `not every live node covered at ${Math.round(final.atMs)} ms: ${off.map(([n, s]) => `${n}${s.missing.length > 0 ? ` missing on ${s.missing.join(', ')}` : ''}${s.extra.length > 0 ? ` several on ${s.extra.join(', ')}` : ''}`).join('; ')}`,
      details: final,
    };
  }
  const nodes = Object.values(final.sets)[0]?.nodes ?? 0;
  return inTime(name, final.atMs, lastFaultMs, maxMs, `${Object.keys(final.sets).length} DaemonSets with one Ready pod on each of ${nodes} live nodes`, final);
}

/** Pure: every Job Complete (its completions succeeded), none Failed, at the final observation. */
export function judgeJobsComplete(final: JobObservation | undefined, lastFaultMs: number, maxMs: number): CheckResult {
  const name = 'jobs-complete';
  if (final === undefined) return { name, verdict: 'unknown', summary: 'no Job was observed: add `workload: { jobs: {} }` after deployments' };
  const off = Object.entries(final.jobs).filter(([, j]) => !j.complete || j.failedCondition);
  if (off.length > 0) {
    return {
      name, verdict: 'fail',
      summary: `not every Job complete at ${Math.round(final.atMs)} ms: ${off.map(([n, j]) => `${n} ${j.failedCondition ? 'Failed' : 'unfinished'}, ${j.succeeded}/${j.completions} succeeded, ${j.failed} failed pods`).join('; ')}`,
      details: final,
    };
  }
  const failed = Object.values(final.jobs).reduce((n, j) => n + j.failed, 0);
  return inTime(name, final.atMs, lastFaultMs, maxMs, `${Object.keys(final.jobs).length} Jobs complete (${failed} failed pods on the way)`, final);
}
