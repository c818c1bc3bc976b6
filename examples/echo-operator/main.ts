/**
 * Runs the Echo operator against a cluster: `kubethreads up` writes a
 * kubeconfig; point this at it (or at any Kubernetes cluster):
 *
 *   node dist/examples/echo-operator/main.js --kubeconfig ~/.kube/kubethreads [--namespace default]
 *
 * It installs the Echo CRD if missing, waits for it to be Established, and
 * reconciles Echoes until interrupted. Then try:
 *
 *   kubectl apply -f - <<< '{"apiVersion":"demo.kubethreads.io/v1","kind":"Echo","metadata":{"name":"hi"},"spec":{"message":"hello","replicas":2}}'
 *   kubectl get echoes; kubectl scale echo hi --replicas=3
 */
import { ApiextensionsV1Api, KubeConfig } from '@kubernetes/client-node';
import { parseArgs } from 'node:util';
import { ECHO_CRD } from './crd.js';
import { EchoOperator } from './operator.js';

/** How long to wait for the CRD to be Established before giving up. */
const ESTABLISHED_WAIT_MS = 30_000;

/** Creates the CRD if it is missing; resolves once it is Established. */
export async function installCrd(kubeconfig: KubeConfig): Promise<void> {
  const api = kubeconfig.makeApiClient(ApiextensionsV1Api);
  const name = ECHO_CRD.metadata!.name!;
  try {
    await api.createCustomResourceDefinition({ body: ECHO_CRD });
  } catch (error) {
    if ((error as { code?: number }).code !== 409) throw error;
  }
  const deadline = Date.now() + ESTABLISHED_WAIT_MS;
  for (;;) {
    const crd = await api.readCustomResourceDefinition({ name });
    if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) return;
    if (Date.now() > deadline) throw new Error(`the CRD ${name} was not Established within ${ESTABLISHED_WAIT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { kubeconfig: { type: 'string' }, namespace: { type: 'string', default: 'default' } } });
  const kubeconfig = new KubeConfig();
  if (values.kubeconfig !== undefined) kubeconfig.loadFromFile(values.kubeconfig);
  else kubeconfig.loadFromDefault();
  await installCrd(kubeconfig);
  const operator = new EchoOperator({
    kubeconfig, namespace: values.namespace!,
    onError: (key, error) => console.error(`reconcile ${key}: ${error instanceof Error ? error.message : String(error)} (retrying)`),
  });
  await operator.start();
  console.log(`echo operator running in namespace ${values.namespace}; Ctrl-C stops it`);
  process.once('SIGINT', () => void operator.stop().then(() => process.exit(0)));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  });
}
