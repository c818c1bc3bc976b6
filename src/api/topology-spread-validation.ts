/**
 * Validation of a pod's `spec.topologySpreadConstraints`, as Kubernetes'
 * validateTopologySpreadConstraints: the scheduler can then trust the
 * shape (a positive maxSkew, a known whenUnsatisfiable...).
 */
import { isObject } from './patch.js';
import type { StatusCause } from './types/index.js';

const WHEN_UNSATISFIABLE = ['DoNotSchedule', 'ScheduleAnyway'];
const POLICIES = ['Honor', 'Ignore'];

function positiveInteger(value: unknown): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value > 0;
}

export function validateTopologySpreadConstraints(list: unknown, field: string, causes: StatusCause[]): void {
  if (list === undefined || list === null) return;
  if (!Array.isArray(list)) {
    causes.push({ reason: 'FieldValueInvalid', field, message: `Invalid value: ${JSON.stringify(list)}: must be a list` });
    return;
  }
  const seen = new Set<string>();
  list.forEach((c: unknown, i) => {
    const at = `${field}[${i}]`;
    if (!isObject(c)) {
      causes.push({ reason: 'FieldValueInvalid', field: at, message: 'Invalid value: must be an object' });
      return;
    }
    if (!positiveInteger(c.maxSkew)) causes.push({ reason: 'FieldValueInvalid', field: `${at}.maxSkew`, message: `Invalid value: ${JSON.stringify(c.maxSkew ?? 0)}: must be greater than zero` });
    if (typeof c.topologyKey !== 'string' || c.topologyKey === '') causes.push({ reason: 'FieldValueRequired', field: `${at}.topologyKey`, message: 'Required value: can not be empty' });
    if (!WHEN_UNSATISFIABLE.includes(c.whenUnsatisfiable as string)) {
      causes.push({ reason: 'FieldValueNotSupported', field: `${at}.whenUnsatisfiable`, message: `Unsupported value: ${JSON.stringify(c.whenUnsatisfiable ?? '')}: supported values: "DoNotSchedule", "ScheduleAnyway"` });
    }
    if (c.minDomains !== undefined && c.minDomains !== null) {
      if (!positiveInteger(c.minDomains)) causes.push({ reason: 'FieldValueInvalid', field: `${at}.minDomains`, message: `Invalid value: ${JSON.stringify(c.minDomains)}: must be greater than zero` });
      else if (c.whenUnsatisfiable !== 'DoNotSchedule') {
        causes.push({ reason: 'FieldValueInvalid', field: `${at}.minDomains`, message: `Invalid value: ${JSON.stringify(c.minDomains)}: can only use minDomains if whenUnsatisfiable=DoNotSchedule, not ${String(c.whenUnsatisfiable)}` });
      }
    }
    for (const policy of ['nodeAffinityPolicy', 'nodeTaintsPolicy']) {
      const value = c[policy];
      if (value !== undefined && value !== null && !POLICIES.includes(value as string)) {
        causes.push({ reason: 'FieldValueNotSupported', field: `${at}.${policy}`, message: `Unsupported value: ${JSON.stringify(value)}: supported values: "Honor", "Ignore"` });
      }
    }
    if (c.labelSelector !== undefined && c.labelSelector !== null && !isObject(c.labelSelector)) {
      causes.push({ reason: 'FieldValueInvalid', field: `${at}.labelSelector`, message: `Invalid value: ${JSON.stringify(c.labelSelector)}: must be a label selector` });
    }
    const pair = `${String(c.topologyKey)}\u0000${String(c.whenUnsatisfiable)}`;
    if (seen.has(pair)) causes.push({ reason: 'FieldValueDuplicate', field: at, message: `Duplicate value: "{${String(c.topologyKey)}, ${String(c.whenUnsatisfiable)}}"` });
    seen.add(pair);
  });
}
