/**
 * Pure Deployment arithmetic, as Kubernetes' deploymentutil: the pod
 * template hash, revisions, maxSurge / maxUnavailable resolution, how far a
 * rolling update may scale the new ReplicaSet up and the old ones down, and
 * the status and conditions written back. No I/O: the controller feeds it
 * what its caches hold.
 */
import type { Deployment, DeploymentCondition, DeploymentStatus, IntOrString, PodTemplateSpec, ReplicaSet } from '../api/types/index.js';
import { canonicalJson, fnv32a, formatTime, parseTime, safeEncode } from './common.js';

export const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';
export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
export const REVISION_HISTORY_ANNOTATION = 'deployment.kubernetes.io/revision-history';
export const DESIRED_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/desired-replicas';
export const MAX_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/max-replicas';
export const CHANGE_CAUSE_ANNOTATION = 'kubernetes.io/change-cause';
/** Annotations of the Deployment that are not copied to its ReplicaSets (Kubernetes' annotationsToSkip). */
const ANNOTATIONS_NOT_COPIED = new Set(['kubectl.kubernetes.io/last-applied-configuration', REVISION_ANNOTATION, REVISION_HISTORY_ANNOTATION, DESIRED_REPLICAS_ANNOTATION, MAX_REPLICAS_ANNOTATION]);

/** The template without the hash label, so the same template always hashes the same (and an undone template finds its old ReplicaSet). */
export function templateWithoutHash(template: PodTemplateSpec): PodTemplateSpec {
  const copy = structuredClone(template);
  if (copy.metadata?.labels !== undefined) {
    delete copy.metadata.labels[POD_TEMPLATE_HASH_LABEL];
  }
  return copy;
}

/** Kubernetes' ComputeHash: fnv32a of the template (plus collisionCount), safe-encoded. */
export function podTemplateHash(template: PodTemplateSpec, collisionCount = 0): string {
  const base = canonicalJson(normalizeTemplate(templateWithoutHash(template)));
  const hash = fnv32a(collisionCount > 0 ? `${base}#${collisionCount}` : base);
  return safeEncode(hash.toString());
}

/**
 * Null fields and empty maps are the same as absent ones: the API may drop
 * them, and kubectl's typed objects add them (`creationTimestamp: null`,
 * `resources: {}`) when it writes a template back on `rollout undo`.
 */
function normalizeTemplate(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalizeTemplate);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const n = normalizeTemplate(v);
    if (n === undefined || n === null) continue;
    if (typeof n === 'object' && n !== null && !Array.isArray(n) && Object.keys(n).length === 0) continue;
    out[k] = n;
  }
  return out;
}

export function equalIgnoreHash(a: PodTemplateSpec | undefined, b: PodTemplateSpec | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return canonicalJson(normalizeTemplate(templateWithoutHash(a))) === canonicalJson(normalizeTemplate(templateWithoutHash(b)));
}

export function revisionOf(object: { metadata: { annotations?: Record<string, string> } }): number {
  const text = object.metadata.annotations?.[REVISION_ANNOTATION];
  const n = text === undefined ? 0 : Number(text);
  return Number.isInteger(n) && n >= 0 ? n : 0;
}

export function maxRevision(replicaSets: ReplicaSet[]): number {
  return replicaSets.reduce((m, rs) => Math.max(m, revisionOf(rs)), 0);
}

/** Resolves an int-or-percent against a total; percentages round up (surge) or down (unavailable), as Kubernetes does. */
export function scaledValue(value: IntOrString | undefined, total: number, roundUp: boolean, fallback: IntOrString): number {
  const v = value ?? fallback;
  if (typeof v === 'number') return v;
  const match = /^(\d+)%$/.exec(v);
  if (match === null) {
    const n = Number(v);
    if (Number.isInteger(n)) return n;
    throw new Error(`invalid int-or-percent value ${JSON.stringify(v)}`);
  }
  const exact = (Number(match[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

/** maxSurge and maxUnavailable as numbers; both zero is invalid, so unavailable becomes 1 (Kubernetes' ResolveFenceposts). */
export function resolveFenceposts(d: Deployment): { maxSurge: number; maxUnavailable: number } {
  const replicas = d.spec?.replicas ?? 1;
  const ru = d.spec?.strategy?.rollingUpdate;
  const maxSurge = scaledValue(ru?.maxSurge, replicas, true, '25%');
  let maxUnavailable = scaledValue(ru?.maxUnavailable, replicas, false, '25%');
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable };
}

export function maxUnavailableOf(d: Deployment): number {
  const replicas = d.spec?.replicas ?? 1;
  if (d.spec?.strategy?.type === 'Recreate' || replicas === 0) return 0;
  return Math.min(resolveFenceposts(d).maxUnavailable, replicas);
}

export const specReplicas = (rs: ReplicaSet): number => rs.spec?.replicas ?? 0;
export const sumSpecReplicas = (list: ReplicaSet[]): number => list.reduce((n, rs) => n + specReplicas(rs), 0);
export const sumAvailable = (list: ReplicaSet[]): number => list.reduce((n, rs) => n + (rs.status?.availableReplicas ?? 0), 0);

/** How many replicas the new ReplicaSet may have now (Kubernetes' NewRSNewReplicas for RollingUpdate). */
export function newReplicaSetReplicas(d: Deployment, all: ReplicaSet[], newRS: ReplicaSet): number {
  const replicas = d.spec?.replicas ?? 1;
  const { maxSurge } = resolveFenceposts(d);
  const current = sumSpecReplicas(all);
  const maxTotal = replicas + maxSurge;
  if (current >= maxTotal) return specReplicas(newRS);
  const scaleUp = Math.min(maxTotal - current, replicas - specReplicas(newRS));
  return specReplicas(newRS) + Math.max(0, scaleUp);
}

/**
 * How many old replicas may go now (Kubernetes' reconcileOldReplicaSets):
 * never below replicas - maxUnavailable available pods, counting the new
 * ReplicaSet's pods that are not yet available as unavailable.
 */
export function oldScaleDownBudget(d: Deployment, all: ReplicaSet[], newRS: ReplicaSet | undefined): number {
  const replicas = d.spec?.replicas ?? 1;
  const minAvailable = replicas - maxUnavailableOf(d);
  const newUnavailable = newRS === undefined ? 0 : Math.max(0, specReplicas(newRS) - (newRS.status?.availableReplicas ?? 0));
  return sumSpecReplicas(all) - minAvailable - newUnavailable;
}

/** The rest of the budget after unhealthy old pods went: only what keeps available pods at or above minAvailable. */
export function availableScaleDownBudget(d: Deployment, all: ReplicaSet[]): number {
  const replicas = d.spec?.replicas ?? 1;
  const minAvailable = replicas - maxUnavailableOf(d);
  return sumAvailable(all) - minAvailable;
}

/** Sorts oldest first (creation, then name): the order old ReplicaSets are scaled down in. */
export function byCreation(a: ReplicaSet, b: ReplicaSet): number {
  const ta = parseTime(a.metadata.creationTimestamp) ?? 0;
  const tb = parseTime(b.metadata.creationTimestamp) ?? 0;
  if (ta !== tb) return ta - tb;
  return (a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1;
}

/** The annotations a ReplicaSet carries for its Deployment (revision, desired and max replicas, the copied user annotations). */
export function replicaSetAnnotations(d: Deployment, rs: ReplicaSet | undefined, revision: number): Record<string, string> {
  const out: Record<string, string> = { ...(rs?.metadata.annotations ?? {}) };
  for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) if (!ANNOTATIONS_NOT_COPIED.has(k)) out[k] = v;
  const old = rs === undefined ? 0 : revisionOf(rs);
  if (old !== 0 && old !== revision) {
    const history = out[REVISION_HISTORY_ANNOTATION];
    out[REVISION_HISTORY_ANNOTATION] = history ? `${history},${old}` : String(old);
  }
  out[REVISION_ANNOTATION] = String(revision);
  const replicas = d.spec?.replicas ?? 1;
  out[DESIRED_REPLICAS_ANNOTATION] = String(replicas);
  const maxSurge = d.spec?.strategy?.type === 'Recreate' ? 0 : resolveFenceposts(d).maxSurge;
  out[MAX_REPLICAS_ANNOTATION] = String(replicas + maxSurge);
  return out;
}

/**
 * Only the desired and max replicas annotations, on top of the ReplicaSet's
 * own (Kubernetes' SetReplicasAnnotations): scaling an old ReplicaSet must not
 * copy the Deployment's current annotations, such as its change-cause, onto
 * an older revision.
 */
export function replicasAnnotations(d: Deployment, rs: ReplicaSet): Record<string, string> {
  const out: Record<string, string> = { ...(rs.metadata.annotations ?? {}) };
  const replicas = d.spec?.replicas ?? 1;
  out[DESIRED_REPLICAS_ANNOTATION] = String(replicas);
  const maxSurge = d.spec?.strategy?.type === 'Recreate' ? 0 : resolveFenceposts(d).maxSurge;
  out[MAX_REPLICAS_ANNOTATION] = String(replicas + maxSurge);
  return out;
}

// ---------- status and conditions ----------

export type ProgressReason =
  | 'NewReplicaSetCreated' | 'FoundNewReplicaSet' | 'ReplicaSetUpdated' | 'NewReplicaSetAvailable' | 'ProgressDeadlineExceeded' | 'DeploymentPaused' | 'DeploymentResumed';

export function condition(d: { status?: DeploymentStatus }, type: string): DeploymentCondition | undefined {
  return (d.status?.conditions ?? []).find((c) => c.type === type);
}

/** Sets a condition; lastTransitionTime moves only when the status changes, lastUpdateTime whenever anything does. */
export function setCondition(conditions: DeploymentCondition[], next: DeploymentCondition, nowMs: number): DeploymentCondition[] {
  const current = conditions.find((c) => c.type === next.type);
  if (current !== undefined && current.status === next.status && current.reason === next.reason && current.message === next.message) return conditions;
  const stamped: DeploymentCondition = {
    ...next,
    lastUpdateTime: formatTime(nowMs),
    lastTransitionTime: current !== undefined && current.status === next.status ? current.lastTransitionTime : formatTime(nowMs),
  };
  return [...conditions.filter((c) => c.type !== next.type), stamped];
}

/** Counts as Kubernetes' calculateStatus: over every ReplicaSet of the Deployment, the new one's for updatedReplicas. */
export function calculateStatus(d: Deployment, all: ReplicaSet[], newRS: ReplicaSet | undefined, nowMs: number): DeploymentStatus {
  const replicas = all.reduce((n, rs) => n + (rs.status?.replicas ?? 0), 0);
  const ready = all.reduce((n, rs) => n + (rs.status?.readyReplicas ?? 0), 0);
  const available = sumAvailable(all);
  const desired = d.spec?.replicas ?? 1;
  let conditions = [...(d.status?.conditions ?? [])];
  const minAvailable = desired - maxUnavailableOf(d);
  conditions = available >= minAvailable
    ? setCondition(conditions, { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' }, nowMs)
    : setCondition(conditions, { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' }, nowMs);
  const status: DeploymentStatus = {
    observedGeneration: d.metadata.generation,
    replicas,
    updatedReplicas: newRS?.status?.replicas ?? 0,
    readyReplicas: ready,
    availableReplicas: available,
    unavailableReplicas: Math.max(0, desired - available),
    conditions,
  };
  if (d.status?.collisionCount !== undefined) status.collisionCount = d.status.collisionCount;
  return status;
}

/** The rollout is complete: every replica updated and available, no old replica left (Kubernetes' DeploymentComplete). */
export function isComplete(d: Deployment, status: DeploymentStatus): boolean {
  const desired = d.spec?.replicas ?? 1;
  return (status.updatedReplicas ?? 0) === desired && (status.replicas ?? 0) === desired && (status.availableReplicas ?? 0) === desired
    && (status.observedGeneration ?? 0) >= (d.metadata.generation ?? 0);
}

/** The rollout moved since the last status (Kubernetes' DeploymentProgressing). */
export function isProgressing(previous: DeploymentStatus | undefined, next: DeploymentStatus): boolean {
  const p = previous ?? {};
  const oldReplicas = (p.replicas ?? 0) - (p.updatedReplicas ?? 0);
  const newOld = (next.replicas ?? 0) - (next.updatedReplicas ?? 0);
  return (next.updatedReplicas ?? 0) > (p.updatedReplicas ?? 0) || newOld < oldReplicas
    || (next.readyReplicas ?? 0) > (p.readyReplicas ?? 0) || (next.availableReplicas ?? 0) > (p.availableReplicas ?? 0);
}

/** Past progressDeadlineSeconds since the Progressing condition last moved. */
export function isTimedOut(d: Deployment, status: DeploymentStatus, nowMs: number): boolean {
  const deadline = d.spec?.progressDeadlineSeconds;
  if (deadline === undefined || deadline === null) return false;
  const progressing = condition({ status }, 'Progressing');
  if (progressing === undefined) return false;
  if (progressing.reason === 'ProgressDeadlineExceeded') return true;
  const since = parseTime(progressing.lastUpdateTime);
  return since !== undefined && since + deadline * 1000 < nowMs;
}
