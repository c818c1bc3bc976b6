/**
 * ControllerRevisions, as Kubernetes' pkg/controller/history and the
 * StatefulSet and DaemonSet controllers keep them: each distinct pod
 * template of a set is snapshotted once, as the strategic merge patch that
 * restores it (`{"spec":{"template":{...,"$patch":"replace"}}}` — what
 * `kubectl rollout undo` sends back), numbered by `revision`. Going back to
 * an earlier template renumbers its snapshot instead of making a new one.
 * The decisions are pure; `RevisionHistory` does the few API calls.
 */
import type { ControllerRevision, KubeObject, PodTemplateSpec } from '../api/types/index.js';
import { CONTROLLERREVISIONS, isConflict, isNotFound } from '../client/index.js';
import { canonicalJson, controllerRefOf, fnv32a, ownerRefTo, safeEncode, type ControllerApi } from './common.js';

/** The label on pods (and DaemonSet revisions) naming the revision they were made from. */
export const CONTROLLER_REVISION_HASH_LABEL = 'controller-revision-hash';
/** kubectl's `kubernetes.io/change-cause`, copied from the set to its revisions as Kubernetes does, so `rollout history` shows it. */
export const CHANGE_CAUSE_ANNOTATION = 'kubernetes.io/change-cause';

/** What a revision stores: the template, as a patch that replaces the set's whole template. */
export function revisionData(template: PodTemplateSpec | undefined): ControllerRevision['data'] {
  return { spec: { template: { ...(structuredClone(template ?? { spec: { containers: [] } }) as unknown as Record<string, unknown>), $patch: 'replace' } } };
}

/** The template a revision restores. */
export function templateOfRevision(revision: ControllerRevision): PodTemplateSpec | undefined {
  const template = revision.data?.spec?.template;
  if (template === undefined) return undefined;
  const { $patch: _directive, ...rest } = template;
  return structuredClone(rest) as unknown as PodTemplateSpec;
}

/** Kubernetes' HashControllerRevision: a hash of the data and the collision count, in the vowel-free alphabet. */
export function hashRevisionData(data: ControllerRevision['data'], collisionCount: number | undefined): string {
  const probe = collisionCount === undefined || collisionCount === 0 ? '' : String(collisionCount);
  return safeEncode(String(fnv32a(canonicalJson(data) + probe)));
}

export function equalRevisions(a: ControllerRevision, b: ControllerRevision): boolean {
  return canonicalJson(a.data) === canonicalJson(b.data);
}

/** One past the highest revision number, 1 when there is none. */
export function nextRevisionNumber(revisions: readonly ControllerRevision[]): number {
  return revisions.reduce((max, r) => Math.max(max, r.revision ?? 0), 0) + 1;
}

export function sortByRevision(revisions: readonly ControllerRevision[]): ControllerRevision[] {
  // A revision written by hand may lack its number: it sorts as 0, as Kubernetes' zero value.
  return [...revisions].sort((a, b) => ((a.revision ?? 0) - (b.revision ?? 0)) || ((a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1));
}

export interface RevisionOwner {
  object: KubeObject;
  apiVersion: string;
  kind: string;
  /** Labels of the revision: the set's template labels (so the set's selector finds it, as kubectl looks them up). */
  labels: Record<string, string>;
  template: PodTemplateSpec | undefined;
  collisionCount: number | undefined;
}

/** A new (not yet stored) revision of `owner`'s current template, named `<owner>-<hash>`. */
export function buildRevision(owner: RevisionOwner, revision: number, hashLabel: boolean): ControllerRevision {
  const data = revisionData(owner.template);
  const hash = hashRevisionData(data, owner.collisionCount);
  const annotations = owner.object.metadata.annotations;
  return {
    apiVersion: 'apps/v1', kind: 'ControllerRevision',
    metadata: {
      name: `${owner.object.metadata.name}-${hash}`,
      namespace: owner.object.metadata.namespace,
      labels: { ...owner.labels, ...(hashLabel ? { [CONTROLLER_REVISION_HASH_LABEL]: hash } : {}) },
      ...(annotations !== undefined && Object.keys(annotations).length > 0 ? { annotations: { ...annotations } } : {}),
      ownerReferences: [ownerRefTo(owner.object, owner.apiVersion, owner.kind)],
    },
    data,
    revision,
  };
}

/**
 * Revisions that may go: the oldest ones beyond `limit`, never one still
 * live (the current or update revision, or one a pod was made from).
 */
export function revisionsToPrune(revisions: readonly ControllerRevision[], live: ReadonlySet<string>, limit: number): ControllerRevision[] {
  const history = sortByRevision(revisions).filter((r) => !live.has(r.metadata.name ?? ''));
  const excess = history.length - Math.max(0, limit);
  return excess > 0 ? history.slice(0, excess) : [];
}

/** Names and hashes the revision of `owner` should be: the existing equal one (renumbered if it is not the latest), or a new one. */
export type RevisionDecision =
  | { kind: 'reuse'; revision: ControllerRevision }
  | { kind: 'renumber'; revision: ControllerRevision; to: number }
  | { kind: 'create'; revision: ControllerRevision };

export function decideUpdateRevision(owner: RevisionOwner, revisions: readonly ControllerRevision[], hashLabel: boolean): RevisionDecision {
  const sorted = sortByRevision(revisions);
  const next = nextRevisionNumber(sorted);
  const wanted = buildRevision(owner, next, hashLabel);
  const equal = sorted.filter((r) => equalRevisions(r, wanted));
  const latest = sorted[sorted.length - 1];
  if (equal.length > 0) {
    const last = equal[equal.length - 1]!;
    if (latest !== undefined && last.metadata.name === latest.metadata.name) return { kind: 'reuse', revision: last };
    return { kind: 'renumber', revision: last, to: next };
  }
  return { kind: 'create', revision: wanted };
}

/** A name taken by a revision with other data: the owner's collision count must go up and the sync retry. */
export class RevisionCollisionError extends Error {
  override readonly name = 'RevisionCollisionError';
}

/** The API side of revisions: make the update revision exist, and prune history. */
export class RevisionHistory {
  constructor(private readonly api: ControllerApi) {}

  /** The stored update revision. Throws RevisionCollisionError when its name is taken by different data. */
  async ensure(owner: RevisionOwner, revisions: readonly ControllerRevision[], hashLabel: boolean): Promise<ControllerRevision> {
    const decision = decideUpdateRevision(owner, revisions, hashLabel);
    switch (decision.kind) {
      case 'reuse':
        return decision.revision;
      case 'renumber':
        return this.api.update(CONTROLLERREVISIONS, { ...decision.revision, revision: decision.to });
      case 'create':
        try {
          return await this.api.create(CONTROLLERREVISIONS, decision.revision);
        } catch (error) {
          if (!isConflict(error)) throw error;
          const existing = await this.api.tryGet(CONTROLLERREVISIONS, owner.object.metadata.namespace, decision.revision.metadata.name!);
          if (existing !== null && equalRevisions(existing, decision.revision) && controllerRefOf(existing)?.uid === owner.object.metadata.uid) return existing;
          throw new RevisionCollisionError(`controllerrevision ${decision.revision.metadata.name} exists with other data`);
        }
    }
  }

  async prune(revisions: readonly ControllerRevision[], live: ReadonlySet<string>, limit: number): Promise<void> {
    for (const r of revisionsToPrune(revisions, live, limit)) {
      try {
        await this.api.delete(CONTROLLERREVISIONS, r.metadata.namespace, r.metadata.name!);
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
  }
}
