/**
 * Which requests a webhook is called for, as Kubernetes'
 * `webhook/predicates`: its rules (operations, API groups and versions,
 * resources with subresources and wildcards, scope), then its
 * namespaceSelector and objectSelector. Pure: the namespace's labels come
 * from the caller.
 */
import { matchesLabels, selectorFromObject } from '../../selectors.js';
import type { LabelSelector, RuleWithOperations, ValidatingWebhook } from '../../types/index.js';
import type { AdmissionAttributes } from '../types.js';

const has = (list: readonly string[] | undefined, value: string) => list !== undefined && (list.includes('*') || list.includes(value));

/** Kubernetes' rules.Matcher: every part of the rule must match. */
export function ruleMatches(rule: RuleWithOperations, a: Pick<AdmissionAttributes, 'operation' | 'resource' | 'subresource' | 'namespace'>): boolean {
  if (!has(rule.operations, a.operation)) return false;
  if (!has(rule.apiGroups, a.resource.group) || !has(rule.apiVersions, a.resource.version)) return false;
  if (!resourceMatches(rule.resources ?? [], a.resource.resource, a.subresource ?? '')) return false;
  return scopeMatches(rule.scope ?? '*', a);
}

/** `*` is every resource without a subresource; `*\/*` every resource and subresource; `pods/*`, `*\/status` as written. */
function resourceMatches(resources: readonly string[], resource: string, subresource: string): boolean {
  return resources.some((entry) => {
    const slash = entry.indexOf('/');
    const res = slash < 0 ? entry : entry.slice(0, slash);
    const sub = slash < 0 ? '' : entry.slice(slash + 1);
    return (res === '*' || res === resource) && (sub === '*' || sub === subresource);
  });
}

/** Cluster: cluster-scoped objects (a Namespace too); Namespaced: objects in a namespace. */
function scopeMatches(scope: string, a: Pick<AdmissionAttributes, 'resource' | 'namespace'>): boolean {
  if (scope === '*') return true;
  const namespaced = a.resource.namespaced && a.namespace !== undefined && a.namespace !== '';
  return scope === 'Namespaced' ? namespaced : !namespaced;
}

function selectorMatches(selector: LabelSelector | undefined, labels: Record<string, string> | undefined): boolean {
  // An empty or missing selector matches everything (Kubernetes' defaulting makes it {}).
  if (selector === undefined || (selector.matchLabels === undefined && selector.matchExpressions === undefined)) return true;
  return matchesLabels(selectorFromObject(selector), labels ?? {});
}

function labelsOf(object: unknown): Record<string, string> | undefined {
  if (typeof object !== 'object' || object === null) return undefined;
  const metadata = (object as { metadata?: { labels?: Record<string, string> } }).metadata;
  return metadata?.labels;
}

/**
 * Whether `webhook` is called for the request: one of its rules matches,
 * and so do its selectors. `namespaceLabels` are the labels of the
 * request's namespace (undefined for cluster-scoped requests); a Namespace
 * object is matched on its own labels, as Kubernetes does.
 */
export function webhookMatches(webhook: ValidatingWebhook, a: AdmissionAttributes, namespaceLabels: Record<string, string> | undefined): boolean {
  if (!(webhook.rules ?? []).some((rule) => ruleMatches(rule, a))) return false;
  const isNamespace = a.resource.group === '' && a.resource.resource === 'namespaces';
  if (isNamespace) {
    if (!selectorMatches(webhook.namespaceSelector, labelsOf(a.object) ?? labelsOf(a.oldObject))) return false;
  } else if (a.resource.namespaced && a.namespace !== undefined) {
    if (!selectorMatches(webhook.namespaceSelector, namespaceLabels)) return false;
  }
  // The object selector matches on the new object or the old one (a DELETE has only the old).
  const objectSelector = webhook.objectSelector;
  return selectorMatches(objectSelector, labelsOf(a.object)) || (a.oldObject !== undefined && selectorMatches(objectSelector, labelsOf(a.oldObject)));
}
