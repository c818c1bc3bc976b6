/**
 * Priority (plugin/pkg/admission/priority): a new pod's spec.priority and
 * spec.preemptionPolicy come from its PriorityClass or the global default;
 * an update keeps them; one global default class at most; the system
 * classes stay. The rules themselves are pure, in ../priority.ts.
 */
import { apiErrors } from '../errors.js';
import { isObject } from '../patch.js';
import { admitPodPriority, admitPriorityClass, globalDefaultClass, SYSTEM_PRIORITY_CLASSES } from '../priority.js';
import { storageKey } from '../resources.js';
import type { Pod, PriorityClass } from '../types/index.js';
import { EVERYTHING, type AdmissionContext } from './context.js';
import type { AdmissionAttributes, AdmissionPlugin, Operation } from './types.js';

const SCHEDULING_GROUP = 'scheduling.k8s.io';

export class Priority implements AdmissionPlugin {
  readonly name = 'Priority';

  constructor(private readonly context: AdmissionContext) {}

  handles(operation: Operation): boolean {
    return operation !== 'CONNECT';
  }

  // Not async: what is not a pod passes without a promise (see the chain).
  admit(a: AdmissionAttributes): Promise<void> | undefined {
    if (!isPods(a) || a.subresource !== undefined || a.object === undefined) return undefined;
    if (a.operation === 'CREATE') return this.admitPod(a.object);
    if (a.operation === 'UPDATE') return this.keepPodPriority(a);
    return undefined;
  }

  validate(a: AdmissionAttributes): void {
    if (a.resource.group !== SCHEDULING_GROUP || a.resource.resource !== 'priorityclasses' || a.subresource !== undefined) return;
    if (a.operation === 'DELETE') {
      if (SYSTEM_PRIORITY_CLASSES.some((c) => c.metadata.name === a.name)) {
        throw apiErrors.forbiddenAdmission(`priorityclasses.${SCHEDULING_GROUP} "${a.name}" is forbidden: this is a system priority class and cannot be deleted`, 'priorityclasses', SCHEDULING_GROUP, a.name);
      }
      return;
    }
    if (a.object === undefined) return;
    const refusal = admitPriorityClass(a.object, this.classes(), a.operation === 'CREATE');
    if (refusal === undefined) return;
    const name = isObject(a.object.metadata) ? String(a.object.metadata.name ?? '') : '';
    throw apiErrors.forbiddenAdmission(`priorityclasses.${SCHEDULING_GROUP} "${name}" is forbidden: ${refusal}`, 'priorityclasses', SCHEDULING_GROUP, name);
  }

  private classes(): PriorityClass[] {
    return this.context.cache(this.context.info(SCHEDULING_GROUP, 'v1', 'priorityclasses')).list(undefined, EVERYTHING).items as PriorityClass[];
  }

  /** A class the cache does not show yet (created a moment ago) is read from the store. */
  private async admitPod(body: Record<string, unknown>): Promise<void> {
    if (!isObject(body.spec)) return;
    const info = this.context.info(SCHEDULING_GROUP, 'v1', 'priorityclasses');
    const cache = this.context.cache(info);
    const wanted = typeof body.spec.priorityClassName === 'string' ? body.spec.priorityClassName : '';
    let stored: PriorityClass | undefined;
    if (wanted !== '' && cache.get(storageKey(info, undefined, wanted)) === undefined) {
      stored = (await this.context.registry.read(info, undefined, wanted))?.object as PriorityClass | undefined;
    }
    const lookup = (name: string) => (cache.get(storageKey(info, undefined, name)) as PriorityClass | undefined) ?? (stored?.metadata.name === name ? stored : undefined);
    const result = admitPodPriority(body.spec, lookup, globalDefaultClass(this.classes()));
    if (!result.ok) {
      const meta = isObject(body.metadata) ? body.metadata : {};
      const name = String(meta.name ?? meta.generateName ?? '');
      throw apiErrors.forbiddenAdmission(`pods "${name}" is forbidden: ${result.message}`, 'pods', '', name);
    }
  }

  /**
   * A body without spec.priority or spec.preemptionPolicy keeps the stored
   * ones (admission set them at create; the update's validation then
   * refuses any other change to them).
   */
  private async keepPodPriority(a: AdmissionAttributes): Promise<void> {
    const body = a.object!;
    if (!isObject(body.spec)) return;
    if (body.spec.priority !== undefined && body.spec.preemptionPolicy !== undefined) return;
    // The cache may not show a pod created a moment ago: then the store.
    const info = a.resource;
    const stored = (a.oldObject ?? this.context.cache(info).get(storageKey(info, a.namespace, a.name)) ?? (await this.context.registry.read(info, a.namespace, a.name))?.object) as Pod | undefined;
    if (stored?.spec === undefined) return;
    if ((body.spec.priority === undefined || body.spec.priority === null) && stored.spec.priority !== undefined) body.spec.priority = stored.spec.priority;
    if ((body.spec.preemptionPolicy === undefined || body.spec.preemptionPolicy === null) && stored.spec.preemptionPolicy !== undefined) body.spec.preemptionPolicy = stored.spec.preemptionPolicy;
  }
}

function isPods(a: AdmissionAttributes): boolean {
  return a.resource.group === '' && a.resource.resource === 'pods';
}
