/**
 * ResourceQuota for pods, cpu and memory, as Kubernetes' quota admission
 * and quota controller compute it: what a pod charges (`pods`, `count/pods`,
 * `requests.cpu` = `cpu`, `requests.memory` = `memory`, `limits.cpu`,
 * `limits.memory`), whether a charge fits under a quota's hard limits, and
 * a namespace's usage recounted from its pods. Pure; the handlers do the
 * compare-and-swap on the quota's status.used.
 */
import { formatMilli, parseMilli } from './quantity.js';
import type { Container, Pod, ResourceQuota } from './types/index.js';

/** The resource names this server enforces, each mapped to what it counts. */
const TRACKED: Record<string, 'pods' | 'requests.cpu' | 'requests.memory' | 'limits.cpu' | 'limits.memory'> = {
  pods: 'pods', 'count/pods': 'pods',
  cpu: 'requests.cpu', 'requests.cpu': 'requests.cpu',
  memory: 'requests.memory', 'requests.memory': 'requests.memory',
  'limits.cpu': 'limits.cpu', 'limits.memory': 'limits.memory',
};

export type Usage = Record<string, bigint>;

/** True when a quota enforces something a pod charges. */
export function tracksPods(quota: ResourceQuota): boolean {
  return Object.keys(quota.spec?.hard ?? {}).some((k) => k in TRACKED);
}

function milliOf(list: Record<string, string> | undefined, name: string): bigint | undefined {
  const text = list?.[name];
  return text === undefined ? undefined : parseMilli(String(text));
}

/** Per container kind: the sum over app containers, or the largest init container if that is more (Kubernetes' effective request). */
function effective(pod: Pod, pick: (c: Container) => bigint): bigint {
  const sum = (pod.spec?.containers ?? []).reduce((s, c) => s + pick(c), 0n);
  const init = (pod.spec?.initContainers ?? []).reduce((m, c) => (pick(c) > m ? pick(c) : m), 0n);
  return sum > init ? sum : init;
}

/** What one pod charges, in milli-units per counted resource. */
export function podCharge(pod: Pod): Usage {
  const of = (kind: 'requests' | 'limits', name: string) => (c: Container) => milliOf(c.resources?.[kind], name) ?? (kind === 'requests' ? milliOf(c.resources?.limits, name) ?? 0n : 0n);
  return {
    pods: 1000n,
    'requests.cpu': effective(pod, of('requests', 'cpu')),
    'requests.memory': effective(pod, of('requests', 'memory')),
    'limits.cpu': effective(pod, of('limits', 'cpu')),
    'limits.memory': effective(pod, of('limits', 'memory')),
  };
}

/** Does a pod count against quota? Not once it finished, nor once its grace period is over (Kubernetes' QuotaV1Pod). */
export function podCounts(pod: Pod, nowMs: number): boolean {
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return false;
  const deletion = pod.metadata.deletionTimestamp;
  return deletion === undefined || Date.parse(deletion) > nowMs;
}

/**
 * Containers missing a request or limit the quota constrains: Kubernetes
 * rejects such a pod (`must specify limits.cpu for: app`), since it could not be charged.
 */
function missingSpecs(quota: ResourceQuota, pod: Pod): string[] {
  const out: string[] = [];
  for (const key of Object.keys(quota.spec?.hard ?? {}).sort()) {
    const counted = TRACKED[key];
    if (counted === undefined || counted === 'pods') continue;
    const [kind, name] = counted.split('.') as ['requests' | 'limits', string];
    const lacking = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]
      .filter((c) => milliOf(c.resources?.[kind], name) === undefined && (kind === 'limits' || milliOf(c.resources?.limits, name) === undefined))
      .map((c) => c.name);
    if (lacking.length > 0) out.push(`must specify ${counted} for: ${lacking.join(',')}`);
  }
  return out;
}

const binary = (key: string) => key.endsWith('memory');

export type ChargeResult =
  | { ok: true; used: Record<string, string> }
  | { ok: false; reason: 'exceeded' | 'unknown' | 'unspecified'; message: string };

/**
 * The quota's status.used after charging `pod`, or why the pod does not fit.
 * A tracked resource with no used value yet (the quota was just changed) is
 * "status unknown": Kubernetes refuses rather than guess.
 */
export function chargeQuota(quota: ResourceQuota, pod: Pod): ChargeResult {
  const name = quota.metadata.name ?? '';
  const unspecified = missingSpecs(quota, pod);
  if (unspecified.length > 0) return { ok: false, reason: 'unspecified', message: `failed quota: ${name}: ${unspecified.join('; ')}` };
  const charge = podCharge(pod);
  const hard = quota.spec?.hard ?? {};
  const usedNow = quota.status?.used ?? {};
  const used: Record<string, string> = { ...usedNow };
  const unknown: string[] = [];
  const exceeded: { key: string; requested: bigint; used: bigint; hard: bigint }[] = [];
  for (const key of Object.keys(hard).sort()) {
    const counted = TRACKED[key];
    if (counted === undefined) continue;
    const current = usedNow[key] === undefined ? undefined : parseMilli(String(usedNow[key]));
    if (current === undefined) {
      unknown.push(key);
      continue;
    }
    const limit = parseMilli(String(hard[key])) ?? 0n;
    const requested = charge[counted]!;
    if (current + requested > limit) exceeded.push({ key, requested, used: current, hard: limit });
    used[key] = formatMilli(current + requested, binary(key));
  }
  if (unknown.length > 0) return { ok: false, reason: 'unknown', message: `status unknown for quota: ${name}, resources: ${unknown.join(',')}` };
  if (exceeded.length > 0) {
    const list = (f: (e: (typeof exceeded)[number]) => bigint) => exceeded.map((e) => `${e.key}=${formatMilli(f(e), binary(e.key))}`).join(',');
    return { ok: false, reason: 'exceeded', message: `exceeded quota: ${name}, requested: ${list((e) => e.requested)}, used: ${list((e) => e.used)}, limited: ${list((e) => e.hard)}` };
  }
  return { ok: true, used };
}

/** status.used of a quota recounted from the namespace's pods (what Kubernetes' quota controller writes). */
export function recount(quota: ResourceQuota, pods: Pod[], nowMs: number): Record<string, string> {
  const totals: Usage = { pods: 0n, 'requests.cpu': 0n, 'requests.memory': 0n, 'limits.cpu': 0n, 'limits.memory': 0n };
  for (const pod of pods) {
    if (!podCounts(pod, nowMs)) continue;
    const charge = podCharge(pod);
    for (const k of Object.keys(totals)) totals[k] = totals[k]! + charge[k]!;
  }
  const used: Record<string, string> = {};
  for (const key of Object.keys(quota.spec?.hard ?? {}).sort()) {
    const counted = TRACKED[key];
    if (counted !== undefined) used[key] = formatMilli(totals[counted]!, binary(key));
  }
  return used;
}
