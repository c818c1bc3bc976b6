/**
 * The Echo operator against a started cluster (what `kubethreads up` runs:
 * the replicated store, the API server, schedulers, controller managers and
 * a node with the simulated runtime), spoken to only through
 * `@kubernetes/client-node` and the admin kubeconfig: it installs its CRD,
 * turns an Echo into a Deployment whose pods become ready, reports them in
 * the Echo's status through /status, follows a scale of the Echo, and
 * removes the Deployment when the Echo goes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { AppsV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { startCluster, type Cluster } from '../../src/cluster/start.js';
import { resolveClusterSpec } from '../../src/cluster/spec.js';
import { GROUP, PLURAL, VERSION, type Echo } from './crd.js';
import { installCrd } from './main.js';
import { ECHO_LABEL, EchoOperator } from './operator.js';

/** Polls until `check` holds; `timeoutMs` bounds a hang, it is not a timing assertion. */
async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last === undefined ? '' : `: ${String(last)}`}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('the Echo operator on a started cluster', { skip: !isMainThread ? 'worker thread' : false }, () => {
  const namespace = 'default';
  let dir: string;
  let cluster: Cluster;
  let kc: KubeConfig;
  let operator: EchoOperator;
  const errors: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kubethreads-echo-operator-'));
    cluster = await startCluster(resolveClusterSpec({ port: 0, nodes: 1, profile: 'fast', kubeconfigPath: join(dir, 'kubeconfig') }), { logLevel: 'fatal' });
    kc = new KubeConfig();
    kc.loadFromString(cluster.api.kubeconfig!);
    await installCrd(kc);
    operator = new EchoOperator({ kubeconfig: kc, namespace, onError: (key, error) => errors.push(`${key}: ${String(error)}`) });
    await operator.start();
  });

  after(async () => {
    await operator?.stop();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('an Echo becomes a Deployment it owns, and its status reports the ready pods', async () => {
    const custom = kc.makeApiClient(CustomObjectsApi);
    const apps = kc.makeApiClient(AppsV1Api);
    const created = await custom.createNamespacedCustomObject({
      group: GROUP, version: VERSION, namespace, plural: PLURAL,
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'Echo', metadata: { name: 'hello' }, spec: { message: 'hello', replicas: 2 } },
    }) as Echo;
    const deployment = await eventually('the Deployment', async () => (await apps.listNamespacedDeployment({ namespace, labelSelector: `${ECHO_LABEL}=hello` })).items[0]);
    assert.equal(deployment.metadata?.name, 'echo-hello');
    assert.equal(deployment.spec?.replicas, 2);
    assert.deepEqual(deployment.metadata?.ownerReferences?.map((o) => `${o.kind}/${o.name}/${o.uid}`), [`Echo/hello/${created.metadata.uid}`]);

    const ready = await eventually('the Echo status with 2 ready pods', async () => {
      const echo = await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name: 'hello' }) as Echo;
      return echo.status?.readyReplicas === 2 ? echo : undefined;
    });
    assert.deepEqual(ready.status, { deployment: 'echo-hello', replicas: 2, readyReplicas: 2, observedGeneration: 1 });
  });

  test('scaling the Echo through its scale subresource scales the Deployment and the status follows', async () => {
    const custom = kc.makeApiClient(CustomObjectsApi);
    const apps = kc.makeApiClient(AppsV1Api);
    await custom.patchNamespacedCustomObjectScale(
      { group: GROUP, version: VERSION, namespace, plural: PLURAL, name: 'hello', body: { spec: { replicas: 3 } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await eventually('the Deployment at 3 replicas', async () => ((await apps.readNamespacedDeployment({ namespace, name: 'echo-hello' })).spec?.replicas === 3 ? true : undefined));
    const echo = await eventually('the Echo status with 3 ready pods', async () => {
      const e = await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name: 'hello' }) as Echo;
      return e.status?.readyReplicas === 3 ? e : undefined;
    });
    assert.equal(echo.status?.observedGeneration, 2, 'the scale changed the spec: a new generation');
  });

  test('deleting the Echo removes its Deployment', async () => {
    const custom = kc.makeApiClient(CustomObjectsApi);
    const apps = kc.makeApiClient(AppsV1Api);
    await custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name: 'hello' });
    await eventually('the Deployment gone', async () => ((await apps.listNamespacedDeployment({ namespace, labelSelector: `${ECHO_LABEL}=hello` })).items.length === 0 ? true : undefined));
    assert.ok(operator.reconciles > 0);
    // Write races (409) are an operator's daily bread; so is a store that briefly has no leader (the API server's 500
    // "outcome unknown", which the informer-driven requeue retries): on a loaded machine a leader can lose its quorum.
    const transient = /409|Conflict|outcome unknown/;
    assert.deepEqual(errors.filter((e) => !transient.test(e)), [], 'no reconcile failed but for write races and a store between leaders');
  });
});
