/**
 * A small operator written only against the public Kubernetes API with
 * `@kubernetes/client-node`, in the sample-controller shape: two informers
 * (Echoes, and the Deployments the operator labels as its own) feed a queue
 * of Echo keys; one worker reconciles a key at a time, level-triggered:
 * it reads the Echo and its Deployment from the informers' caches, makes
 * the Deployment match the Echo, and writes what it sees to the Echo's
 * status through the /status subresource.
 *
 * This is a client program like kubectl, not an actor: it uses real timers
 * for its retry backoff.
 */
import {
  AppsV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, makeInformer, setHeaderOptions,
  type Informer, type KubernetesListObject, type ObjectCache, type V1Deployment,
} from '@kubernetes/client-node';
import { GROUP, KIND, PLURAL, VERSION, type Echo, type EchoStatus } from './crd.js';

/** The label that marks a Deployment as an Echo's, with the Echo's name as its value. */
export const ECHO_LABEL = 'demo.kubethreads.io/echo';
/** A failed reconcile is retried after this long, doubled per failure up to RETRY_MAX_MS. */
const RETRY_BASE_MS = 100;
const RETRY_MAX_MS = 5_000;

export interface EchoOperatorOptions {
  kubeconfig: KubeConfig;
  namespace: string;
  /** Told about every reconcile error (the operator retries them). */
  onError?(key: string, error: unknown): void;
}

/** The Deployment that runs an Echo: its name, labels, replicas and owner. */
export function desiredDeployment(echo: Echo): V1Deployment {
  const name = `echo-${echo.metadata.name}`;
  const labels = { app: name, [ECHO_LABEL]: echo.metadata.name! };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name, namespace: echo.metadata.namespace, labels,
      ownerReferences: [{ apiVersion: `${GROUP}/${VERSION}`, kind: KIND, name: echo.metadata.name!, uid: echo.metadata.uid!, controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      replicas: echo.spec.replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'echo', image: 'busybox:1.36', args: ['sh', '-c', `while true; do echo ${JSON.stringify(echo.spec.message)}; sleep 5; done`] }] },
      },
    },
  };
}

export class EchoOperator {
  private readonly options: EchoOperatorOptions;
  private readonly custom: CustomObjectsApi;
  private readonly apps: AppsV1Api;
  private readonly echoes: Informer<Echo> & ObjectCache<Echo>;
  private readonly deployments: Informer<V1Deployment> & ObjectCache<V1Deployment>;
  private readonly queue = new Set<string>();
  private readonly failures = new Map<string, number>();
  private wake: (() => void) | undefined;
  private running = false;
  private worker: Promise<void> | undefined;
  /** Reconciles done, for tests and logs. */
  reconciles = 0;

  constructor(options: EchoOperatorOptions) {
    this.options = options;
    const { kubeconfig, namespace } = options;
    this.custom = kubeconfig.makeApiClient(CustomObjectsApi);
    this.apps = kubeconfig.makeApiClient(AppsV1Api);
    this.echoes = makeInformer<Echo>(kubeconfig, `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${PLURAL}`,
      () => this.custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL }) as Promise<KubernetesListObject<Echo>>);
    this.deployments = makeInformer<V1Deployment>(kubeconfig, `/apis/apps/v1/namespaces/${namespace}/deployments`,
      () => this.apps.listNamespacedDeployment({ namespace, labelSelector: ECHO_LABEL }), ECHO_LABEL);
    for (const verb of ['add', 'update', 'delete'] as const) {
      this.echoes.on(verb, (echo) => this.enqueue(echo.metadata?.name));
      // A Deployment's change concerns the Echo it belongs to.
      this.deployments.on(verb, (deployment) => this.enqueue(deployment.metadata?.labels?.[ECHO_LABEL]));
    }
    // An informer whose watch failed restarts itself after a pause (client-node leaves that to the caller).
    const restartOnError = (informer: { on(verb: 'error', cb: () => void): void; start(): Promise<void> }) => informer.on('error', () => {
      if (this.running) setTimeout(() => void informer.start().catch(() => undefined), RETRY_MAX_MS);
    });
    restartOnError(this.echoes);
    restartOnError(this.deployments);
  }

  async start(): Promise<void> {
    this.running = true;
    await Promise.all([this.echoes.start(), this.deployments.start()]);
    this.worker = this.work();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await Promise.all([this.echoes.stop(), this.deployments.stop()]);
    await this.worker;
  }

  private enqueue(name: string | undefined): void {
    if (name === undefined || name === '') return;
    this.queue.add(name);
    this.wake?.();
  }

  /** One worker: a key is never reconciled twice at once, and a burst of events for it costs one reconcile. */
  private async work(): Promise<void> {
    while (this.running) {
      const next = this.queue.values().next();
      if (next.done) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      const name = next.value;
      this.queue.delete(name);
      try {
        await this.reconcile(name);
        this.failures.delete(name);
      } catch (error) {
        this.options.onError?.(name, error);
        const failures = (this.failures.get(name) ?? 0) + 1;
        this.failures.set(name, failures);
        setTimeout(() => this.enqueue(name), Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (failures - 1)));
      }
      this.reconciles++;
    }
  }

  /** One step toward the Echo's desired state, from the caches' view of it. */
  private async reconcile(name: string): Promise<void> {
    const namespace = this.options.namespace;
    const echo = this.echoes.get(name, namespace);
    const deploymentName = `echo-${name}`;
    const deployment = this.deployments.get(deploymentName, namespace);
    if (echo === undefined) {
      // The cluster's garbage collector follows owners of built-in kinds only: the operator removes what it made.
      if (deployment !== undefined) await this.apps.deleteNamespacedDeployment({ name: deploymentName, namespace }).catch(ignoreNotFound);
      return;
    }
    if (echo.metadata.deletionTimestamp !== undefined) return;
    const desired = desiredDeployment(echo);
    let current = deployment;
    if (current === undefined) {
      current = await this.apps.createNamespacedDeployment({ namespace, body: desired });
    } else if (current.spec?.replicas !== desired.spec!.replicas || JSON.stringify(current.spec?.template?.spec?.containers?.[0]?.args) !== JSON.stringify(desired.spec!.template.spec!.containers[0]!.args)) {
      current = await this.apps.patchNamespacedDeployment(
        { name: deploymentName, namespace, body: { spec: { replicas: desired.spec!.replicas, template: desired.spec!.template } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    }
    const status: EchoStatus = {
      deployment: deploymentName,
      replicas: current.status?.replicas ?? 0,
      readyReplicas: current.status?.readyReplicas ?? 0,
      observedGeneration: echo.metadata.generation,
    };
    const seen = echo.status ?? {};
    if ((Object.keys(status) as (keyof EchoStatus)[]).every((k) => status[k] === seen[k])) return;
    await this.custom.patchNamespacedCustomObjectStatus(
      { group: GROUP, version: VERSION, namespace, plural: PLURAL, name, body: { status } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }
}

function ignoreNotFound(error: unknown): void {
  if ((error as { code?: number }).code !== 404) throw error;
}
