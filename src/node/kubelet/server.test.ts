import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ApiError } from '../../api/errors.js';
import { containerLogsPath, openKubeletLog } from '../../api/http/kubelet-logs.js';
import { generateTls } from '../../api/http/tls.js';
import { kubeletEndpointOf } from '../../api/pod-log.js';
import type { KubeletLogsReply, KubeletLogsRequest } from '../../api/protocol.js';
import type { Node } from '../../api/types/index.js';
import { KubeletServer } from './server.js';

/** A container's log as the kubelet's runtime reads it: by byte offset, long-polling while it runs. */
class FakeContainerLog {
  text = '';
  complete = false;
  readonly requests: KubeletLogsRequest[] = [];
  private waiters: Array<() => void> = [];

  append(line: string, last = false): void {
    this.text += line;
    this.complete = last;
    for (const wake of this.waiters.splice(0)) wake();
  }

  async read(request: KubeletLogsRequest): Promise<KubeletLogsReply> {
    this.requests.push(request);
    if (request.pod !== 'web' || request.container !== 'main') return { ok: false, code: 404, message: `pod ${request.namespace}/${request.pod} is not running on node n1` };
    const offset = request.offsetBytes ?? 0;
    if (this.text.length === offset && !this.complete && (request.waitMs ?? 0) > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, request.waitMs);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    const data = this.text.slice(offset);
    return { ok: true, containerId: 'c-1', data, nextOffsetBytes: offset + data.length, complete: this.complete };
  }
}

describe('the kubelet endpoint and the API server reading it', () => {
  const log = new FakeContainerLog();
  let server: KubeletServer;
  let port: number;
  before(async () => {
    const tls = generateTls();
    server = new KubeletServer({ host: '127.0.0.1', port: 0, certPem: tls.certPem, keyPem: tls.keyPem, nodeName: 'n1', readLog: (r) => log.read(r) });
    port = (await server.start()).port;
  });
  after(() => server.close());

  test('a Node names its endpoint by InternalIP and a non-zero kubelet port; port 0 (in-process kubelets) names none', () => {
    const node = (Port: number): Node => ({ metadata: { name: 'n1' }, status: { addresses: [{ type: 'Hostname', address: 'n1' }, { type: 'InternalIP', address: '127.1.4.1' }], daemonEndpoints: { kubeletEndpoint: { Port } } } });
    assert.deepEqual(kubeletEndpointOf(node(10250)), { host: '127.1.4.1', port: 10250 });
    assert.equal(kubeletEndpointOf(node(0)), undefined);
    assert.equal(kubeletEndpointOf({ metadata: { name: 'n2' } }), undefined);
  });

  test('the path and query are the real kubelet\'s /containerLogs', () => {
    assert.equal(containerLogsPath({ namespace: 'default', pod: 'web', container: 'main' }, { follow: true, tailLines: 5, previous: false }), '/containerLogs/default/web/main?follow=true&tailLines=5');
  });

  test('without follow the log is read whole, and the query reaches the kubelet\'s read', async () => {
    log.append('line 1\nline 2\n');
    const source = await openKubeletLog({ host: '127.0.0.1', port }, { namespace: 'default', pod: 'web', container: 'main' }, { tailLines: 2 });
    assert.equal(await source.readAll(), 'line 1\nline 2\n');
    assert.equal(log.requests.at(-1)?.namespace, 'default');
    assert.equal(log.requests.some((r) => r.tailLines === 2), true);
  });

  test('following streams new lines as the container writes them, and ends when it exits', async () => {
    const source = await openKubeletLog({ host: '127.0.0.1', port }, { namespace: 'default', pod: 'web', container: 'main' }, { follow: true });
    let seen = '';
    let chunk = await source.next(0);
    seen += chunk.data;
    log.append('line 3\n');
    while (!seen.includes('line 3')) seen += (await source.next(5_000)).data;
    log.append('bye\n', true);
    do {
      chunk = await source.next(5_000);
      seen += chunk.data;
    } while (!chunk.complete);
    assert.equal(seen, 'line 1\nline 2\nline 3\nbye\n');
  });

  test('a pod the kubelet does not run is the API server\'s NotFound; a bad query is a BadRequest', async () => {
    await assert.rejects(
      openKubeletLog({ host: '127.0.0.1', port }, { namespace: 'default', pod: 'gone', container: 'main' }, {}),
      (e: unknown) => e instanceof ApiError && e.code === 404 && e.message === 'pods "gone" not found',
    );
    await assert.rejects(
      openKubeletLog({ host: '127.0.0.1', port }, { namespace: 'default', pod: 'web', container: 'main' }, { tailLines: -1 }),
      (e: unknown) => e instanceof ApiError && e.code === 400 && /tailLines must be an integer >= 0/.test(e.message),
    );
  });

  test('a kubelet that is not there is a 503 the API server can return', async () => {
    await assert.rejects(
      openKubeletLog({ host: '127.0.0.1', port: 1 }, { namespace: 'default', pod: 'web', container: 'main' }, {}),
      (e: unknown) => e instanceof ApiError && e.code === 503 && /the kubelet at 127\.0\.0\.1:1 did not answer/.test(e.message),
    );
  });
});
