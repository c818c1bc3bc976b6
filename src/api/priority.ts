/**
 * PriorityClass rules and the Priority admission plugin, as Kubernetes'
 * `pkg/apis/scheduling` and `plugin/pkg/admission/priority`: the two
 * built-in system classes, validation of a class, the one-global-default
 * rule, and the pod admission that resolves `spec.priorityClassName` (or
 * the global default) into `spec.priority` and `spec.preemptionPolicy`.
 * Pure: the caller looks classes up and turns a refusal into a 403.
 */
import { isObject } from './patch.js';
import type { PriorityClass, StatusCause } from './types/index.js';

/** An object as decoded from JSON, not yet checked. */
type JsonObject = Record<string, unknown>;

/** Kubernetes' HighestUserDefinablePriority: user classes may not go above it. */
export const HIGHEST_USER_DEFINABLE_PRIORITY = 1_000_000_000;
/** Kubernetes' SystemCriticalPriority (system-cluster-critical); system-node-critical is 1000 above. */
export const SYSTEM_CRITICAL_PRIORITY = 2_000_000_000;
export const SYSTEM_PRIORITY_CLASS_PREFIX = 'system-';
/** A pod gets this without a class and without a global default (Kubernetes' DefaultPriorityWhenNoDefaultClassExists). */
export const DEFAULT_PRIORITY_WHEN_NO_DEFAULT_CLASS = 0;
export const PREEMPTION_POLICIES = ['Never', 'PreemptLowerPriority'] as const;

/** The classes every cluster has, created at start-up as Kubernetes' scheduling storage does. */
export const SYSTEM_PRIORITY_CLASSES: readonly PriorityClass[] = Object.freeze([
  {
    apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'system-node-critical' },
    value: SYSTEM_CRITICAL_PRIORITY + 1000, globalDefault: false, preemptionPolicy: 'PreemptLowerPriority',
    description: 'Used for system critical pods that must not be moved from their current node.',
  },
  {
    apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'system-cluster-critical' },
    value: SYSTEM_CRITICAL_PRIORITY, globalDefault: false, preemptionPolicy: 'PreemptLowerPriority',
    description: 'Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.',
  },
]);

/** Kubernetes' IsKnownSystemPriorityClass: the error says what is wrong with a `system-` class. */
function knownSystemClassError(name: string, value: unknown, globalDefault: unknown): string | undefined {
  const known = SYSTEM_PRIORITY_CLASSES.find((c) => c.metadata.name === name);
  if (known === undefined) return `${name} is not a known system priority class`;
  if (value !== known.value) return `value of ${name} PriorityClass must be ${known.value}`;
  if ((globalDefault ?? false) !== known.globalDefault) return `globalDefault of ${name} PriorityClass must be ${String(known.globalDefault)}`;
  return undefined;
}

/** `value` is a plain int32 in v1 (absent means 0, as Go decodes it); the policy defaults to PreemptLowerPriority. */
export function defaultPriorityClass(obj: JsonObject): void {
  obj.value ??= 0;
  obj.preemptionPolicy ??= 'PreemptLowerPriority';
}

/** Kubernetes' ValidatePriorityClass (after metadata, which the caller checks). */
export function validatePriorityClass(obj: JsonObject, causes: StatusCause[]): void {
  const name = isObject(obj.metadata) && typeof obj.metadata.name === 'string' ? obj.metadata.name : '';
  const value = obj.value;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < -(2 ** 31) || value >= 2 ** 31) {
    causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(value)}: must be a 32-bit integer`, field: 'value' });
  }
  if (obj.globalDefault !== undefined && typeof obj.globalDefault !== 'boolean') {
    causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(obj.globalDefault)}: must be a boolean`, field: 'globalDefault' });
  }
  if (name.startsWith(SYSTEM_PRIORITY_CLASS_PREFIX)) {
    const why = knownSystemClassError(name, value, obj.globalDefault);
    if (why !== undefined) {
      causes.push({ reason: 'FieldValueForbidden', field: 'metadata.name', message: `Forbidden: priority class names with '${SYSTEM_PRIORITY_CLASS_PREFIX}' prefix are reserved for system use only. error: ${why}` });
    }
  } else if (typeof value === 'number' && value > HIGHEST_USER_DEFINABLE_PRIORITY) {
    causes.push({ reason: 'FieldValueForbidden', field: 'value', message: `Forbidden: maximum allowed value of a user defined priority is ${HIGHEST_USER_DEFINABLE_PRIORITY}` });
  }
  if (obj.preemptionPolicy !== undefined && !(PREEMPTION_POLICIES as readonly unknown[]).includes(obj.preemptionPolicy)) {
    causes.push({ reason: 'FieldValueNotSupported', field: 'preemptionPolicy', message: `Unsupported value: ${JSON.stringify(obj.preemptionPolicy)}: supported values: "Never", "PreemptLowerPriority"` });
  }
}

/** Kubernetes' ValidatePriorityClassUpdate: value and preemptionPolicy are fixed once written. */
export function validatePriorityClassUpdate(next: JsonObject, prev: JsonObject, causes: StatusCause[]): void {
  if (next.value !== prev.value) causes.push({ reason: 'FieldValueForbidden', field: 'value', message: 'Forbidden: may not be changed in an update.' });
  if ((next.preemptionPolicy ?? 'PreemptLowerPriority') !== (prev.preemptionPolicy ?? 'PreemptLowerPriority')) {
    causes.push({ reason: 'FieldValueInvalid', field: 'preemptionPolicy', message: `Invalid value: ${JSON.stringify(next.preemptionPolicy)}: field is immutable` });
  }
}

/**
 * The global default a pod without a class gets: of several (possible after
 * races), the lowest value, as Kubernetes' getDefaultPriorityClass.
 */
export function globalDefaultClass(classes: Iterable<PriorityClass>): PriorityClass | undefined {
  let found: PriorityClass | undefined;
  for (const c of classes) {
    if (c.globalDefault === true && (found === undefined || c.value < found.value)) found = c;
  }
  return found;
}

/**
 * The admission of a PriorityClass write: a second global default is
 * refused (an update of the default itself is fine). Returns the refusal, if any.
 */
export function admitPriorityClass(pc: JsonObject, classes: Iterable<PriorityClass>, creating: boolean): string | undefined {
  if (pc.globalDefault !== true) return undefined;
  const name = isObject(pc.metadata) ? pc.metadata.name : undefined;
  for (const existing of classes) {
    if (existing.globalDefault !== true) continue;
    if (creating || existing.metadata.name !== name) return `PriorityClass ${existing.metadata.name ?? ''} is already marked as default. Only one default can exist`;
  }
  return undefined;
}

export type PodPriorityAdmission = { ok: true } | { ok: false; message: string };

/**
 * Kubernetes' Priority admission on pod create: mutates `spec` in place
 * (priorityClassName of the global default, priority, preemptionPolicy),
 * or refuses with Kubernetes' words. `lookup` finds a class by name.
 */
export function admitPodPriority(spec: JsonObject, lookup: (name: string) => PriorityClass | undefined, globalDefault: PriorityClass | undefined): PodPriorityAdmission {
  const className = typeof spec.priorityClassName === 'string' ? spec.priorityClassName : '';
  let priority: number;
  let policy: string | undefined;
  if (className === '') {
    priority = globalDefault?.value ?? DEFAULT_PRIORITY_WHEN_NO_DEFAULT_CLASS;
    policy = globalDefault?.preemptionPolicy ?? 'PreemptLowerPriority';
    if (globalDefault?.metadata.name !== undefined) spec.priorityClassName = globalDefault.metadata.name;
  } else {
    const pc = lookup(className);
    if (pc === undefined) return { ok: false, message: `no PriorityClass with name ${className} was found` };
    priority = pc.value;
    policy = pc.preemptionPolicy ?? 'PreemptLowerPriority';
  }
  if (spec.priority !== undefined && spec.priority !== null && spec.priority !== priority) {
    return { ok: false, message: `the integer value of priority (${String(spec.priority)}) must not be provided in pod spec; priority admission controller computed ${priority} from the given PriorityClass name` };
  }
  spec.priority = priority;
  if (spec.preemptionPolicy !== undefined && spec.preemptionPolicy !== null && spec.preemptionPolicy !== policy) {
    return { ok: false, message: `the string value of PreemptionPolicy (${String(spec.preemptionPolicy)}) must not be provided in pod spec; priority admission controller computed ${policy} from the given PriorityClass name` };
  }
  spec.preemptionPolicy = policy;
  return { ok: true };
}
