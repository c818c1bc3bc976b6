/**
 * Discovery documents: /version, the legacy /api, /apis, /api/v1,
 * /apis/<group>/<version>, and the aggregated form (apidiscovery.k8s.io/v2)
 * that kubectl 1.32 asks for first. All generated from the resource table.
 */
import { RESOURCES, apiVersionOf, groupVersions, type ResourceInfo } from '../resources.js';

export const AGGREGATED_DISCOVERY_CONTENT_TYPE = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

/** kubectl's dispatcher picks the client matching `minor`: we speak 1.32. */
export function versionInfo() {
  return {
    major: '1', minor: '32', gitVersion: 'v1.32.0-kubethreads', gitCommit: '0000000000000000000000000000000000000000', gitTreeState: 'clean',
    buildDate: '2026-01-01T00:00:00Z', goVersion: 'go1.23.0', compiler: 'gc', platform: 'linux/amd64',
  };
}

interface Subresource {
  name: string;
  kind: string;
  group: string;
  version: string;
  verbs: string[];
}

function subresourcesOf(info: ResourceInfo): Subresource[] {
  return info.subresources.map((name) => {
    switch (name) {
      case 'scale': return { name, kind: 'Scale', group: 'autoscaling', version: 'v1', verbs: ['get', 'patch', 'update'] };
      case 'binding': return { name, kind: 'Binding', group: '', version: 'v1', verbs: ['create'] };
      case 'eviction': return { name, kind: 'Eviction', group: 'policy', version: 'v1', verbs: ['create'] };
      case 'token': return { name, kind: 'TokenRequest', group: 'authentication.k8s.io', version: 'v1', verbs: ['create'] };
      case 'log': return { name, kind: info.kind, group: '', version: 'v1', verbs: ['get'] };
      case 'finalize': return { name, kind: info.kind, group: info.group, version: info.version, verbs: ['update'] };
      default: return { name, kind: info.kind, group: info.group, version: info.version, verbs: ['get', 'patch', 'update'] };
    }
  });
}

export function apiVersions(serverAddress: string) {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

/** The served group names in order, each with its versions (a CRD may serve several; the first is preferred). */
function groupsOf(infos: readonly ResourceInfo[]): { group: string; versions: string[] }[] {
  const groups = new Map<string, string[]>();
  for (const gv of groupVersions(infos)) {
    const versions = groups.get(gv.group) ?? [];
    versions.push(gv.version);
    groups.set(gv.group, versions);
  }
  return [...groups].map(([group, versions]) => ({ group, versions: preferredFirst(versions) }));
}

/** Kubernetes' version priority: GA over beta over alpha, higher numbers first (v2 > v1 > v1beta2 > v1beta1 > v1alpha1). */
function preferredFirst(versions: string[]): string[] {
  const rank = (v: string) => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (m === null) return [0, 0, 0];
    return [m[2] === undefined ? 3 : m[2] === 'beta' ? 2 : 1, Number(m[1]), Number(m[3] ?? 0)];
  };
  return [...versions].sort((a, b) => {
    const [ra, rb] = [rank(a), rank(b)];
    for (let i = 0; i < 3; i++) if (ra[i] !== rb[i]) return rb[i]! - ra[i]!;
    return a.localeCompare(b);
  });
}

/** `infos`: every served kind (the built-in table plus what CRDs define). */
export function apiGroupList(infos: readonly ResourceInfo[] = RESOURCES) {
  const groups = groupsOf(infos).filter((g) => g.group !== '').map((g) => ({
    name: g.group,
    versions: g.versions.map((v) => ({ groupVersion: `${g.group}/${v}`, version: v })),
    preferredVersion: { groupVersion: `${g.group}/${g.versions[0]}`, version: g.versions[0] },
  }));
  return { kind: 'APIGroupList', apiVersion: 'v1', groups };
}

export function apiGroup(group: string, infos: readonly ResourceInfo[] = RESOURCES) {
  const g = groupsOf(infos).find((x) => x.group === group);
  if (g === undefined) return undefined;
  const versions = g.versions.map((v) => ({ groupVersion: `${group}/${v}`, version: v }));
  return { kind: 'APIGroup', apiVersion: 'v1', name: group, versions, preferredVersion: versions[0] };
}

export function apiResourceList(group: string, version: string, all: readonly ResourceInfo[] = RESOURCES) {
  const infos = all.filter((i) => i.group === group && i.version === version);
  if (infos.length === 0) return undefined;
  const resources: Record<string, unknown>[] = [];
  for (const info of infos) {
    resources.push({
      name: info.resource, singularName: info.singular, namespaced: info.namespaced, kind: info.kind, verbs: info.verbs,
      ...(info.shortNames.length > 0 ? { shortNames: info.shortNames } : {}),
      ...(info.categories.length > 0 ? { categories: info.categories } : {}),
      storageVersionHash: '',
    });
    for (const sub of subresourcesOf(info)) {
      resources.push({
        name: `${info.resource}/${sub.name}`, singularName: '', namespaced: info.namespaced, kind: sub.kind, verbs: sub.verbs,
        ...(sub.group !== info.group ? { group: sub.group, version: sub.version } : {}),
      });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf({ group, version }), resources };
}

/** The aggregated discovery document for /api (legacy: true) or /apis. */
export function aggregatedDiscovery(legacy: boolean, infos: readonly ResourceInfo[] = RESOURCES) {
  const items = groupsOf(infos).filter((g) => (g.group === '') === legacy).map((g) => ({
    metadata: { name: g.group, creationTimestamp: null },
    versions: g.versions.map((version) => ({
      version,
      freshness: 'Current',
      resources: infos.filter((i) => i.group === g.group && i.version === version).map((info) => ({
        resource: info.resource,
        responseKind: { group: info.group, version: info.version, kind: info.kind },
        scope: info.namespaced ? 'Namespaced' : 'Cluster',
        singularResource: info.singular,
        verbs: info.verbs,
        ...(info.shortNames.length > 0 ? { shortNames: info.shortNames } : {}),
        ...(info.categories.length > 0 ? { categories: info.categories } : {}),
        subresources: subresourcesOf(info).map((sub) => ({
          subresource: sub.name, responseKind: { group: sub.group, version: sub.version, kind: sub.kind }, verbs: sub.verbs,
        })),
      })),
    })),
  }));
  return { kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2', metadata: {}, items };
}
