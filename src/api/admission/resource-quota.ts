/**
 * ResourceQuota (plugin/pkg/admission/resourcequota): a new pod is charged
 * to every quota of its namespace by a compare-and-swap on the quota's
 * status.used (its resourceVersion) before it is written. Two concurrent
 * creates read the same usage, but only one CAS wins; the other re-reads
 * and is judged on the new usage, so both cannot slip under the limit. A
 * create that fails after its charge leaves usage high until the recount.
 */
import { ApiError, apiErrors } from '../errors.js';
import { chargeQuota, tracksPods } from '../quota.js';
import type { ResourceInfo } from '../resources.js';
import type { KubeObject, Pod, ResourceQuota } from '../types/index.js';
import { EVERYTHING, type AdmissionContext } from './context.js';
import type { AdmissionAttributes, AdmissionPlugin, Operation } from './types.js';

/** Compare-and-swap rounds on a quota's status before a pod create gives up (a namespace under a create storm). */
const QUOTA_CAS_RETRIES_MAX = 32;

export class ResourceQuotaAdmission implements AdmissionPlugin {
  readonly name = 'ResourceQuota';
  /** Pod creates between their quota charge and their write, per namespace: the recount waits for them. */
  private readonly inFlight = new Map<string, number>();
  /** The revision of the last pod created after a quota charge, per namespace: the recount waits until the pod cache has it. */
  private readonly chargedRevision = new Map<string, number>();
  /** Requests charged and not yet finished. */
  private readonly charged = new WeakSet<AdmissionAttributes>();

  constructor(private readonly context: AdmissionContext) {}

  handles(operation: Operation): boolean {
    return operation === 'CREATE';
  }

  /**
   * Whether the quota controller's recount may rewrite this namespace's
   * usage: not while a charged create is in flight, nor before the pod
   * cache (at `podCacheRevision`) shows the last charged pod, so a recount
   * never erases a charge whose pod is not visible yet.
   */
  mayRecount(namespace: string, podCacheRevision: number): boolean {
    return !this.inFlight.has(namespace) && podCacheRevision >= (this.chargedRevision.get(namespace) ?? 0);
  }

  // Not async: a write no quota tracks passes without a promise (see the chain).
  validate(a: AdmissionAttributes): Promise<void> | undefined {
    if (a.resource.group !== '' || a.resource.resource !== 'pods' || a.subresource !== undefined || a.namespace === undefined) return undefined;
    const quotas = this.quotasOf(a.namespace);
    return quotas.length === 0 ? undefined : this.charge(a, a.namespace, quotas);
  }

  private async charge(a: AdmissionAttributes, namespace: string, quotas: ResourceQuota[]): Promise<void> {
    const pods = a.resource;
    // Defaulting first, so the charge sees the pod as it will be stored.
    const preview = await this.context.registry.create(pods, namespace, a.object, { dryRun: true });
    const pod = preview as unknown as Pod;
    const podName = preview.metadata.name || preview.metadata.generateName || '';
    const refuse = (message: string) => apiErrors.forbiddenAdmission(`pods "${podName}" is forbidden: ${message}`, 'pods', '', podName);
    if (a.dryRun) {
      // A dry run charges nothing.
      for (const quota of quotas) {
        const result = chargeQuota(quota, pod);
        if (!result.ok) throw refuse(result.message);
      }
      return;
    }
    this.inFlight.set(namespace, (this.inFlight.get(namespace) ?? 0) + 1);
    this.charged.add(a);
    const quotaInfo = this.context.info('', 'v1', 'resourcequotas');
    try {
      for (let attempt = 0; ; attempt++) {
        const charges: { quota: ResourceQuota; used: Record<string, string> }[] = [];
        for (const quota of quotas) {
          const result = chargeQuota(quota, pod);
          if (!result.ok) throw refuse(result.message);
          charges.push({ quota, used: result.used });
        }
        const conflicted = await this.writeCharges(quotaInfo, namespace, charges);
        if (conflicted === undefined) return;
        if (attempt >= QUOTA_CAS_RETRIES_MAX) {
          throw apiErrors.conflict('resourcequotas', '', conflicted, `the quota's usage kept changing; ${QUOTA_CAS_RETRIES_MAX} attempts to charge pod ${podName} lost the race`);
        }
        // Someone charged first: judge again on what the store holds now.
        const fresh = await Promise.all(quotas.map((quota) => this.context.registry.read(quotaInfo, namespace, quota.metadata.name ?? '')));
        quotas = fresh.filter((f) => f !== undefined).map((f) => f.object as unknown as ResourceQuota).filter(tracksPods);
      }
    } catch (error) {
      this.finished(a, undefined);
      throw error;
    }
  }

  finished(a: AdmissionAttributes, written: KubeObject | undefined): void {
    if (!this.charged.has(a)) return;
    this.charged.delete(a);
    const namespace = a.namespace!;
    if (written !== undefined) {
      const revision = Number(written.metadata.resourceVersion);
      this.chargedRevision.set(namespace, Math.max(this.chargedRevision.get(namespace) ?? 0, revision));
    }
    const left = (this.inFlight.get(namespace) ?? 1) - 1;
    if (left === 0) this.inFlight.delete(namespace);
    else this.inFlight.set(namespace, left);
  }

  private quotasOf(namespace: string): ResourceQuota[] {
    const items = this.context.cache(this.context.info('', 'v1', 'resourcequotas')).list(namespace, EVERYTHING).items as ResourceQuota[];
    return items.filter(tracksPods);
  }

  /** Writes each quota's new usage pinned to the resourceVersion it was computed from; the name of the first that moved meanwhile, if any. */
  private async writeCharges(quotaInfo: ResourceInfo, namespace: string, charges: { quota: ResourceQuota; used: Record<string, string> }[]): Promise<string | undefined> {
    for (const { quota, used } of charges) {
      const next = { ...quota, status: { ...quota.status, hard: quota.spec?.hard ?? {}, used } };
      try {
        await this.context.registry.update(quotaInfo, namespace, quota.metadata.name ?? '', next, { subresource: 'status' });
      } catch (error) {
        if (error instanceof ApiError && error.reason === 'Conflict') return quota.metadata.name ?? '';
        throw error;
      }
    }
    return undefined;
  }
}
