/**
 * The registry strategies of batch/v1 Job and CronJob and policy/v1
 * PodDisruptionBudget, as Kubernetes' pkg/registry/batch/{job,cronjob} and
 * pkg/registry/policy/poddisruptionbudget: defaults, validation with field
 * paths, what an update may change, and the Job's generated selector.
 * strategy.ts calls in here by resource. Pure.
 */
import { checkTimeZone, CronParseError, parseCron } from './cron.js';
import { isObject, type JsonObject } from './patch.js';
import type { KubeObject, StatusCause } from './types/index.js';
import { defaultPodSpec, immutable, invalid, notSupported, required, validatePodSpec } from './strategy.js';

type Obj = KubeObject & Record<string, unknown>;
type Causes = StatusCause[];

/** Labels a Job puts on its pods (and selects them by, unless spec.manualSelector). */
export const JOB_CONTROLLER_UID_LABEL = 'batch.kubernetes.io/controller-uid';
export const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';
/** The pre-1.27 spellings, still set for old selectors and tools. */
export const LEGACY_CONTROLLER_UID_LABEL = 'controller-uid';
export const LEGACY_JOB_NAME_LABEL = 'job-name';
export const JOB_COMPLETION_INDEX = 'batch.kubernetes.io/job-completion-index';

/** Kubernetes' defaults: backoffLimit 6; history limits 3 successful, 1 failed. */
export const JOB_BACKOFF_LIMIT_DEFAULT = 6;
export const CRONJOB_SUCCESSFUL_HISTORY_DEFAULT = 3;
export const CRONJOB_FAILED_HISTORY_DEFAULT = 1;
/** A CronJob's name plus `-<11 digits>` must still be a valid Job name and label (63). */
const CRONJOB_NAME_LENGTH_MAX = 52;

const JOB_RESTART_POLICIES = ['OnFailure', 'Never'];

// ---------- defaults ----------

/** Defaults of a JobSpec (also a CronJob's job template). */
export function defaultJobSpec(spec: unknown): void {
  if (!isObject(spec)) return;
  if (spec.completions === undefined && spec.parallelism === undefined) {
    spec.completions = 1;
    spec.parallelism = 1;
  }
  spec.parallelism ??= 1;
  spec.backoffLimit ??= JOB_BACKOFF_LIMIT_DEFAULT;
  spec.completionMode ??= 'NonIndexed';
  spec.suspend ??= false;
  // With a podFailurePolicy, Kubernetes replaces a pod only once it has failed.
  spec.podReplacementPolicy ??= isObject(spec.podFailurePolicy) ? 'Failed' : 'TerminatingOrFailed';
  const template = spec.template;
  if (isObject(template)) {
    if (!isObject(template.metadata)) template.metadata = {};
    defaultPodSpec(template.spec);
  }
}

export function defaultCronJob(obj: Obj): void {
  const spec = obj.spec;
  if (!isObject(spec)) return;
  spec.concurrencyPolicy ??= 'Allow';
  spec.suspend ??= false;
  spec.successfulJobsHistoryLimit ??= CRONJOB_SUCCESSFUL_HISTORY_DEFAULT;
  spec.failedJobsHistoryLimit ??= CRONJOB_FAILED_HISTORY_DEFAULT;
  const template = spec.jobTemplate;
  if (isObject(template)) {
    if (!isObject(template.spec)) template.spec = {};
    defaultJobSpec(template.spec);
  }
}

/**
 * On create, unless spec.manualSelector: the selector is the Job's uid and
 * the template carries the uid and name labels (Kubernetes' generateSelector).
 */
export function prepareJobForCreate(obj: Obj): void {
  obj.status = {};
  const spec = obj.spec;
  if (!isObject(spec) || spec.manualSelector === true) return;
  const uid = obj.metadata.uid ?? '';
  const name = obj.metadata.name ?? '';
  if (!isObject(spec.template)) return;
  const template = spec.template;
  if (!isObject(template.metadata)) template.metadata = {};
  const meta = template.metadata as JsonObject;
  const labels = isObject(meta.labels) ? meta.labels : {};
  meta.labels = { ...labels, [JOB_CONTROLLER_UID_LABEL]: uid, [JOB_NAME_LABEL]: name, [LEGACY_CONTROLLER_UID_LABEL]: uid, [LEGACY_JOB_NAME_LABEL]: name };
  spec.selector = { matchLabels: { [JOB_CONTROLLER_UID_LABEL]: uid } };
}

/** A PodDisruptionBudget starts with an all-zero status (its fields are not optional in Kubernetes' JSON). */
export function preparePdbForCreate(obj: Obj): void {
  obj.status = { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 };
}

// ---------- validation ----------

function nonNegativeInt(value: unknown, field: string, causes: Causes): void {
  if (value === undefined || value === null) return;
  if (typeof value !== 'number' || !Number.isInteger(value)) causes.push(invalid(field, value, 'must be an integer'));
  else if (value < 0) causes.push(invalid(field, value, 'must be greater than or equal to 0'));
}

function positiveInt(value: unknown, field: string, causes: Causes): void {
  if (value === undefined || value === null) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) causes.push(invalid(field, value, 'must be greater than 0'));
}

const SELECTOR_OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

/** A metav1.LabelSelector: matchLabels a string map, matchExpressions with known operators and the values each needs. */
export function validateLabelSelector(selector: unknown, field: string, causes: Causes): void {
  if (selector === undefined || selector === null) return;
  if (!isObject(selector)) {
    causes.push(invalid(field, selector, 'must be a label selector'));
    return;
  }
  if (selector.matchLabels !== undefined && selector.matchLabels !== null) {
    if (!isObject(selector.matchLabels)) causes.push(invalid(`${field}.matchLabels`, selector.matchLabels, 'must be a map of strings'));
    else for (const [k, v] of Object.entries(selector.matchLabels)) if (typeof v !== 'string') causes.push(invalid(`${field}.matchLabels[${k}]`, v, 'must be a string'));
  }
  const expressions = selector.matchExpressions;
  if (expressions === undefined || expressions === null) return;
  if (!Array.isArray(expressions)) {
    causes.push(invalid(`${field}.matchExpressions`, expressions, 'must be a list'));
    return;
  }
  expressions.forEach((e, i) => {
    const at = `${field}.matchExpressions[${i}]`;
    if (!isObject(e)) return void causes.push(invalid(at, e, 'must be an object'));
    if (typeof e.key !== 'string' || e.key === '') causes.push(required(`${at}.key`));
    if (!SELECTOR_OPERATORS.includes(e.operator as string)) return void causes.push(invalid(`${at}.operator`, e.operator, 'not a valid selector operator'));
    const values = e.values;
    if (values !== undefined && values !== null && (!Array.isArray(values) || values.some((v) => typeof v !== 'string'))) return void causes.push(invalid(`${at}.values`, values, 'must be a list of strings'));
    const count = Array.isArray(values) ? values.length : 0;
    if ((e.operator === 'In' || e.operator === 'NotIn') && count === 0) causes.push(required(`${at}.values`));
    if ((e.operator === 'Exists' || e.operator === 'DoesNotExist') && count > 0) causes.push({ reason: 'FieldValueForbidden', message: 'Forbidden: may not be specified when `operator` is \'Exists\' or \'DoesNotExist\'', field: `${at}.values` });
  });
}

/** Kubernetes' limit on completions and parallelism of Indexed Jobs: the controller walks every index. */
export const INDEXED_JOB_COMPLETIONS_MAX = 100_000;

/** A JobSpec at `field` (`spec`, or `spec.jobTemplate.spec` of a CronJob, where the selector is not generated). */
export function validateJobSpec(spec: unknown, field: string, causes: Causes, selectorRequired: boolean): void {
  if (!isObject(spec)) {
    causes.push(required(field));
    return;
  }
  nonNegativeInt(spec.parallelism, `${field}.parallelism`, causes);
  nonNegativeInt(spec.completions, `${field}.completions`, causes);
  nonNegativeInt(spec.backoffLimit, `${field}.backoffLimit`, causes);
  positiveInt(spec.activeDeadlineSeconds, `${field}.activeDeadlineSeconds`, causes);
  nonNegativeInt(spec.ttlSecondsAfterFinished, `${field}.ttlSecondsAfterFinished`, causes);
  if (spec.completionMode !== undefined && !['NonIndexed', 'Indexed'].includes(spec.completionMode as string)) {
    causes.push(notSupported(`${field}.completionMode`, spec.completionMode, ['NonIndexed', 'Indexed']));
  }
  if (spec.completionMode === 'Indexed' && (spec.completions === undefined || spec.completions === null)) {
    causes.push({ reason: 'FieldValueRequired', message: 'Required value: when completion mode is Indexed', field: `${field}.completions` });
  }
  if (spec.completionMode === 'Indexed') {
    for (const name of ['completions', 'parallelism']) {
      const value = spec[name];
      if (typeof value === 'number' && value > INDEXED_JOB_COMPLETIONS_MAX) causes.push(invalid(`${field}.${name}`, value, `must be less than or equal to ${INDEXED_JOB_COMPLETIONS_MAX} when completion mode is Indexed`));
    }
  }
  validateLabelSelector(spec.selector, `${field}.selector`, causes);
  const template = spec.template;
  if (!isObject(template)) {
    causes.push(required(`${field}.template`));
    return;
  }
  validatePodSpec(template.spec, `${field}.template.spec`, causes);
  const restartPolicy = isObject(template.spec) ? template.spec.restartPolicy : undefined;
  if (restartPolicy !== undefined && !JOB_RESTART_POLICIES.includes(restartPolicy as string)) {
    causes.push(notSupported(`${field}.template.spec.restartPolicy`, restartPolicy, JOB_RESTART_POLICIES));
  }
  const selector = spec.selector;
  if (selector === undefined || selector === null) {
    if (selectorRequired) causes.push(required(`${field}.selector`));
    return;
  }
  const matchLabels = isObject(selector) && isObject(selector.matchLabels) ? selector.matchLabels : {};
  const labels = isObject(template.metadata) && isObject(template.metadata.labels) ? template.metadata.labels : {};
  for (const [k, v] of Object.entries(matchLabels)) {
    if (labels[k] !== v) {
      causes.push(invalid(`${field}.template.metadata.labels`, labels, '`selector` does not match template `labels`'));
      break;
    }
  }
}

export function validateJob(obj: Obj, causes: Causes): void {
  validateJobSpec(obj.spec, 'spec', causes, true);
}

export function validateCronJob(obj: Obj, causes: Causes): void {
  const name = obj.metadata.name;
  if (typeof name === 'string' && name.length > CRONJOB_NAME_LENGTH_MAX) causes.push(invalid('metadata.name', name, `must be no more than ${CRONJOB_NAME_LENGTH_MAX} characters`));
  const spec = obj.spec;
  if (!isObject(spec)) {
    causes.push(required('spec'));
    return;
  }
  if (typeof spec.schedule !== 'string' || spec.schedule === '') causes.push(required('spec.schedule'));
  else {
    try {
      parseCron(spec.schedule);
    } catch (error) {
      causes.push(invalid('spec.schedule', spec.schedule, error instanceof CronParseError ? error.message : String(error)));
    }
  }
  if (spec.timeZone !== undefined && spec.timeZone !== null) {
    try {
      if (typeof spec.timeZone !== 'string') throw new CronParseError('must be a string');
      checkTimeZone(spec.timeZone);
    } catch (error) {
      causes.push(invalid('spec.timeZone', spec.timeZone, error instanceof Error ? error.message : String(error)));
    }
  }
  if (spec.concurrencyPolicy !== undefined && !['Allow', 'Forbid', 'Replace'].includes(spec.concurrencyPolicy as string)) {
    causes.push(notSupported('spec.concurrencyPolicy', spec.concurrencyPolicy, ['Allow', 'Forbid', 'Replace']));
  }
  nonNegativeInt(spec.startingDeadlineSeconds, 'spec.startingDeadlineSeconds', causes);
  nonNegativeInt(spec.successfulJobsHistoryLimit, 'spec.successfulJobsHistoryLimit', causes);
  nonNegativeInt(spec.failedJobsHistoryLimit, 'spec.failedJobsHistoryLimit', causes);
  const template = spec.jobTemplate;
  if (!isObject(template)) causes.push(required('spec.jobTemplate'));
  else validateJobSpec(template.spec, 'spec.jobTemplate.spec', causes, false);
}

/** An int or a percent string (`"50%"`), not negative; a percent not above 100. */
function validateIntOrPercent(value: unknown, field: string, causes: Causes): void {
  if (value === undefined || value === null) return;
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0) causes.push(invalid(field, value, 'must be greater than or equal to 0'));
    return;
  }
  const match = typeof value === 'string' ? /^(\d+)%$/.exec(value) : null;
  if (match === null) causes.push(invalid(field, value, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"));
  else if (Number(match[1]) > 100) causes.push(invalid(field, value, 'must not be greater than 100%'));
}

export function validatePdb(obj: Obj, causes: Causes): void {
  const spec = obj.spec;
  if (!isObject(spec)) {
    causes.push(required('spec'));
    return;
  }
  if (spec.minAvailable !== undefined && spec.minAvailable !== null && spec.maxUnavailable !== undefined && spec.maxUnavailable !== null) {
    causes.push(invalid('spec', spec, 'minAvailable and maxUnavailable cannot be both set'));
  }
  validateIntOrPercent(spec.minAvailable, 'spec.minAvailable', causes);
  validateIntOrPercent(spec.maxUnavailable, 'spec.maxUnavailable', causes);
  validateLabelSelector(spec.selector, 'spec.selector', causes);
  const policy = spec.unhealthyPodEvictionPolicy;
  if (policy !== undefined && policy !== null && !['IfHealthyBudget', 'AlwaysAllow'].includes(policy as string)) {
    causes.push(notSupported('spec.unhealthyPodEvictionPolicy', policy, ['IfHealthyBudget', 'AlwaysAllow']));
  }
}

/** What a Job update may not change: the selector, completion mode, and the template (unless suspended). */
export function validateJobUpdate(next: Obj, prev: Obj, causes: Causes): void {
  const spec = (o: Obj): JsonObject => (isObject(o.spec) ? o.spec : {});
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  if (!same(spec(next).selector, spec(prev).selector)) causes.push(immutable('spec.selector'));
  if (!same(spec(next).completionMode, spec(prev).completionMode)) causes.push(immutable('spec.completionMode'));
  // Kubernetes lets a suspended Job that never started change its template's scheduling directives; here only a suspended Job may change it.
  if (!same(spec(next).template, spec(prev).template) && spec(prev).suspend !== true) causes.push(immutable('spec.template'));
  const prevCompletions = spec(prev).completions;
  const nextCompletions = spec(next).completions;
  // Kubernetes allows scaling completions with parallelism for Indexed jobs (elastic indexed jobs); other changes are refused.
  if (!same(prevCompletions, nextCompletions) && !(spec(prev).completionMode === 'Indexed' && nextCompletions === spec(next).parallelism)) causes.push(immutable('spec.completions'));
}
