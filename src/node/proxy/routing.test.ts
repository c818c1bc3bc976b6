import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Prng } from '../../actor/prng.js';
import { RoundRobin, RoutingTableBuilder, backendId, buildRoutingTable, type ServicePortRoute } from './routing.js';
import type { Endpoint, EndpointSlice, Endpoints, Service } from './types.js';

function service(name: string, spec: Service['spec'] & { trafficDistribution?: string }, annotations?: Record<string, string>): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default', ...(annotations ? { annotations } : {}) }, spec };
}

function endpoint(ip: string, nodeName: string, conditions: Endpoint['conditions'] = {}, extra: Partial<Endpoint> = {}): Endpoint {
  return { addresses: [ip], nodeName, conditions, targetRef: { kind: 'Pod', name: `pod-${ip}` }, ...extra };
}

function slice(serviceName: string, name: string, endpoints: Endpoint[], ports = [{ name: 'http', port: 8080 }]): EndpointSlice {
  return { metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': serviceName } }, addressType: 'IPv4', endpoints, ports };
}

const WEB = service('web', { type: 'NodePort', clusterIP: '127.20.0.10', ports: [{ name: 'http', port: 80, targetPort: 8080, nodePort: 30080 }] });

function picks(route: ServicePortRoute, n: number, kind: 'cluster' | 'nodePort' = 'cluster'): string[] {
  const rr = new RoundRobin();
  return Array.from({ length: n }, () => rr.pick(route, kind)?.ip ?? 'none');
}

describe('kube-proxy routing table', () => {
  test('round-robin over ready endpoints of every slice; not-ready ones get nothing', () => {
    const table = buildRoutingTable({
      services: [WEB],
      endpointSlices: [slice('web', 'web-a', [endpoint('127.10.0.1', 'n1'), endpoint('127.10.0.2', 'n2', { ready: false })]), slice('web', 'web-b', [endpoint('127.10.0.3', 'n2')])],
      node: { nodeName: 'n1' },
    });
    const route = table.routes.get('default/web:http')!;
    assert.equal(table.byClusterAddress.get('127.20.0.10:80'), route.key);
    assert.equal(table.byNodePort.get(30080), route.key);
    assert.equal(route.allBackends.length, 3);
    assert.deepEqual(picks(route, 4), ['127.10.0.1', '127.10.0.3', '127.10.0.1', '127.10.0.3']);
    assert.equal(route.clusterBackends[0]!.port, 8080, 'traffic goes to the target port the slice carries');
  });

  test('with no ready endpoint, serving endpoints that are terminating still take traffic', () => {
    const table = buildRoutingTable({
      services: [WEB],
      endpointSlices: [slice('web', 'web-a', [endpoint('127.10.0.1', 'n1', { ready: false, serving: true, terminating: true }), endpoint('127.10.0.2', 'n1', { ready: false, serving: false })])],
      node: { nodeName: 'n1' },
    });
    assert.deepEqual(picks(table.routes.get('default/web:http')!, 2), ['127.10.0.1', '127.10.0.1']);
  });

  test('internalTrafficPolicy Local uses only this node, and drops traffic rather than leave it', () => {
    const local = service('db', { clusterIP: '127.20.0.11', internalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 5432 }] });
    const slices = [slice('db', 'db-a', [endpoint('127.10.0.1', 'n1'), endpoint('127.10.0.2', 'n2')])];
    const onN2 = buildRoutingTable({ services: [local], endpointSlices: slices, node: { nodeName: 'n2' } }).routes.get('default/db:http')!;
    assert.deepEqual(picks(onN2, 3), ['127.10.0.2', '127.10.0.2', '127.10.0.2']);
    assert.equal(onN2.clusterTier, 'local-only');
    const onN3 = buildRoutingTable({ services: [local], endpointSlices: slices, node: { nodeName: 'n3' } }).routes.get('default/db:http')!;
    assert.deepEqual(picks(onN3, 1), ['none']);
    assert.equal(onN3.clusterTier, 'none');
  });

  test('PreferClose picks this node, then this zone by hints, then anywhere', () => {
    const close = service('cache', { clusterIP: '127.20.0.12', ports: [{ name: 'http', port: 6379 }], trafficDistribution: 'PreferClose' });
    const slices = [
      slice('cache', 'cache-a', [
        endpoint('127.10.0.1', 'n1', {}, { zone: 'a', hints: { forZones: [{ name: 'a' }] } }),
        endpoint('127.10.0.2', 'n2', {}, { zone: 'a', hints: { forZones: [{ name: 'a' }] } }),
        endpoint('127.10.0.3', 'n3', {}, { zone: 'b', hints: { forZones: [{ name: 'b' }] } }),
      ]),
    ];
    const route = (nodeName: string, zone?: string) => buildRoutingTable({ services: [close], endpointSlices: slices, node: { nodeName, zone } }).routes.get('default/cache:http')!;
    assert.deepEqual([route('n1', 'a').clusterTier, ...picks(route('n1', 'a'), 2)], ['same-node', '127.10.0.1', '127.10.0.1']);
    assert.deepEqual([route('n4', 'a').clusterTier, ...picks(route('n4', 'a'), 2)], ['same-zone', '127.10.0.1', '127.10.0.2']);
    assert.deepEqual([route('n5', 'c').clusterTier, ...picks(route('n5', 'c'), 3)], ['cluster', '127.10.0.1', '127.10.0.2', '127.10.0.3']);
    const auto = service('cache', { clusterIP: '127.20.0.12', ports: [{ name: 'http', port: 6379 }] }, { 'service.kubernetes.io/topology-mode': 'Auto' });
    assert.equal(buildRoutingTable({ services: [auto], endpointSlices: slices, node: { nodeName: 'n1' } }).routes.get('default/cache:http')!.clusterTier, 'same-node');
    const plain = service('cache', { clusterIP: '127.20.0.12', ports: [{ name: 'http', port: 6379 }] });
    assert.equal(buildRoutingTable({ services: [plain], endpointSlices: slices, node: { nodeName: 'n1' } }).routes.get('default/cache:http')!.clusterTier, 'cluster', 'no preference unless the Service asks');
  });

  test('externalTrafficPolicy Local limits NodePort traffic to this node but not ClusterIP traffic', () => {
    const svc = service('web', { type: 'NodePort', clusterIP: '127.20.0.10', externalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 80, nodePort: 30080 }] });
    const route = buildRoutingTable({ services: [svc], endpointSlices: [slice('web', 'w', [endpoint('127.10.0.1', 'n1'), endpoint('127.10.0.2', 'n2')])], node: { nodeName: 'n2' } }).routes.get('default/web:http')!;
    assert.deepEqual(picks(route, 2, 'nodePort'), ['127.10.0.2', '127.10.0.2']);
    assert.deepEqual(picks(route, 2, 'cluster'), ['127.10.0.1', '127.10.0.2']);
  });

  test('multi-port services match slice ports by name; headless and ExternalName get no route; ClusterIP has no NodePort', () => {
    const multi = service('api', { clusterIP: '127.20.0.13', ports: [{ name: 'http', port: 80, nodePort: 30001 }, { name: 'grpc', port: 9000 }] });
    const headless = service('peers', { clusterIP: 'None', ports: [{ name: 'http', port: 80 }] });
    const external = service('ext', { type: 'ExternalName', externalName: 'example.com' });
    const table = buildRoutingTable({
      services: [multi, headless, external],
      endpointSlices: [slice('api', 'api-a', [endpoint('127.10.0.1', 'n1')], [{ name: 'http', port: 8080 }, { name: 'grpc', port: 9090 }])],
      node: { nodeName: 'n1' },
    });
    assert.equal(table.routes.get('default/api:grpc')!.clusterBackends[0]!.port, 9090);
    assert.equal(table.routes.get('default/api:http')!.clusterBackends[0]!.port, 8080);
    assert.equal(table.byNodePort.size, 0, 'a ClusterIP service opens no NodePort even if one is written');
    assert.equal(table.routes.get('default/peers:http')!.clusterIP, undefined);
    assert.equal(table.routes.has('default/ext:'), false);
  });

  test('v1 Endpoints are read when a Service has no slices; an endpoint listed twice counts once', () => {
    const eps: Endpoints = {
      metadata: { name: 'web', namespace: 'default' },
      subsets: [{ addresses: [{ ip: '127.10.0.5', nodeName: 'n1' }], notReadyAddresses: [{ ip: '127.10.0.6' }], ports: [{ name: 'http', port: 8080 }] }],
    };
    const route = buildRoutingTable({ services: [WEB], endpoints: [eps], node: { nodeName: 'n1' } }).routes.get('default/web:http')!;
    assert.deepEqual(route.allBackends.map((b) => [b.ip, b.ready]), [['127.10.0.5', true], ['127.10.0.6', false]]);
    const dup = buildRoutingTable({
      services: [WEB],
      endpointSlices: [slice('web', 'old', [endpoint('127.10.0.1', 'n1', { ready: false })]), slice('web', 'new', [endpoint('127.10.0.1', 'n1')])],
      node: { nodeName: 'n1' },
    }).routes.get('default/web:http')!;
    assert.deepEqual(dup.allBackends.map((b) => [b.ip, b.ready]), [['127.10.0.1', true]]);
  });

  test('a retry skips endpoints that already failed, and runs out when all did', () => {
    const route = buildRoutingTable({ services: [WEB], endpointSlices: [slice('web', 'w', [endpoint('127.10.0.1', 'n1'), endpoint('127.10.0.2', 'n1')])], node: { nodeName: 'n1' } }).routes.get('default/web:http')!;
    const rr = new RoundRobin();
    const first = rr.pick(route, 'cluster')!;
    const failed = new Set([backendId(first)]);
    const second = rr.pick(route, 'cluster', failed)!;
    assert.notEqual(second.ip, first.ip);
    failed.add(backendId(second));
    assert.equal(rr.pick(route, 'cluster', failed), undefined);
  });

  test('a builder that redoes only changed Services gives exactly the table a fresh build gives, after any sequence of changes', () => {
    const prng = new Prng(5);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(prng.next() * list.length)]!;
    const node = { nodeName: 'n1', zone: 'z1' };
    const names = ['a', 'b', 'c', 'd'];
    const services = new Map<string, Service>();
    const slices = new Map<string, EndpointSlice>();
    const endpoints = new Map<string, Endpoints>();
    const builder = new RoutingTableBuilder(node);
    let nodePort = 30000;
    for (let step = 0; step < 600; step++) {
      const name = pick(names);
      const roll = prng.next();
      if (roll < 0.15) {
        const type = pick(['ClusterIP', 'NodePort', 'ExternalName'] as const);
        services.set(name, service(name, {
          type, clusterIP: pick(['127.20.0.1', 'None', '']),
          internalTrafficPolicy: pick(['Cluster', 'Local'] as const), externalTrafficPolicy: pick(['Cluster', 'Local'] as const),
          trafficDistribution: pick([undefined, 'PreferClose']),
          ports: [{ name: 'http', port: 80, nodePort: nodePort++ }, ...(prng.next() < 0.5 ? [{ name: 'metrics', port: 9090 }] : [])],
        }));
      } else if (roll < 0.2) {
        services.delete(name);
      } else if (roll < 0.8) {
        // A slice replaced by a new object (an informer update), or removed.
        const key = `${name}-${pick(['x', 'y'])}`;
        if (prng.next() < 0.1) slices.delete(key);
        else {
          const eps = Array.from({ length: Math.floor(prng.next() * 4) }, () => endpoint(`127.10.0.${1 + Math.floor(prng.next() * 6)}`, pick(['n1', 'n2']), { ready: prng.next() < 0.7, serving: prng.next() < 0.5, terminating: prng.next() < 0.3 }, { zone: pick(['z1', 'z2']) }));
          slices.set(key, slice(name, key, eps, [{ name: 'http', port: 8080 }, { name: 'metrics', port: 9090 }]));
        }
      } else if (roll < 0.95) {
        endpoints.set(name, { metadata: { name, namespace: 'default' }, subsets: [{ addresses: [{ ip: `127.11.0.${step % 9}`, nodeName: 'n2' }], notReadyAddresses: [], ports: [{ name: 'http', port: 8081 }] }] } as Endpoints);
      } else {
        endpoints.delete(name);
      }
      const input = { services: [...services.values()], endpointSlices: [...slices.values()], endpoints: [...endpoints.values()] };
      // The reference is built from copies: no memo keyed by object identity can answer for it.
      assert.deepEqual(builder.build(input), buildRoutingTable(structuredClone({ ...input, node })), `after step ${step}`);
    }
  });

  test('a builder reuses the routes of a Service whose objects did not change, and redoes one whose slice did', () => {
    const builder = new RoutingTableBuilder({ nodeName: 'n1' });
    const other = service('other', { type: 'ClusterIP', clusterIP: '127.20.0.11', ports: [{ name: 'http', port: 80 }] });
    const webSlice = slice('web', 'web-a', [endpoint('127.10.0.1', 'n1')]);
    const otherSlice = slice('other', 'other-a', [endpoint('127.10.0.2', 'n1')]);
    const first = builder.build({ services: [WEB, other], endpointSlices: [webSlice, otherSlice] });
    const changed = slice('web', 'web-a', [endpoint('127.10.0.1', 'n1'), endpoint('127.10.0.3', 'n2')]);
    const second = builder.build({ services: [WEB, other], endpointSlices: [changed, otherSlice] });
    assert.equal(second.routes.get('default/other:http'), first.routes.get('default/other:http'), 'unchanged Service: the same route object');
    assert.notEqual(second.routes.get('default/web:http'), first.routes.get('default/web:http'));
    assert.equal(second.routes.get('default/web:http')!.allBackends.length, 2);
  });

  test('proxies on different nodes given the same slice objects share one frozen view of the endpoints', () => {
    const webSlice = slice('web', 'web-a', [endpoint('127.10.0.2', 'n2'), endpoint('127.10.0.1', 'n1')]);
    const one = new RoutingTableBuilder({ nodeName: 'n1' }).build({ services: [WEB], endpointSlices: [webSlice] });
    const two = new RoutingTableBuilder({ nodeName: 'n2' }).build({ services: [WEB], endpointSlices: [webSlice] });
    const a = one.routes.get('default/web:http')!;
    const b = two.routes.get('default/web:http')!;
    assert.equal(a.allBackends, b.allBackends, 'one sorted list for both nodes');
    assert.deepEqual(a.allBackends.map((x) => x.ip), ['127.10.0.1', '127.10.0.2']);
    assert.ok(Object.isFrozen(a.allBackends) && Object.isFrozen(a.allBackends[0]), 'shared, so frozen');
    const copy = new RoutingTableBuilder({ nodeName: 'n1' }).build({ services: [WEB], endpointSlices: [structuredClone(webSlice)] });
    assert.notEqual(copy.routes.get('default/web:http')!.allBackends, a.allBackends, 'an equal but different slice object is not mistaken for the same');
  });
});
