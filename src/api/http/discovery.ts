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

export function apiGroupList() {
  const groups = groupVersions().filter((gv) => gv.group !== '').map((gv) => ({
    name: gv.group,
    versions: [{ groupVersion: `${gv.group}/${gv.version}`, version: gv.version }],
    preferredVersion: { groupVersion: `${gv.group}/${gv.version}`, version: gv.version },
  }));
  return { kind: 'APIGroupList', apiVersion: 'v1', groups };
}

export function apiGroup(group: string) {
  const gv = groupVersions().find((g) => g.group === group);
  if (gv === undefined) return undefined;
  const version = { groupVersion: `${gv.group}/${gv.version}`, version: gv.version };
  return { kind: 'APIGroup', apiVersion: 'v1', name: group, versions: [version], preferredVersion: version };
}

export function apiResourceList(group: string, version: string) {
  const infos = RESOURCES.filter((i) => i.group === group && i.version === version);
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
export function aggregatedDiscovery(legacy: boolean) {
  const items = groupVersions().filter((gv) => (gv.group === '') === legacy).map((gv) => ({
    metadata: { name: gv.group, creationTimestamp: null },
    versions: [{
      version: gv.version,
      freshness: 'Current',
      resources: RESOURCES.filter((i) => i.group === gv.group && i.version === gv.version).map((info) => ({
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
    }],
  }));
  return { kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2', metadata: {}, items };
}
