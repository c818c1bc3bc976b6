/**
 * ServiceAccount (plugin/pkg/admission/serviceaccount), its defaulting
 * part: a new pod without `spec.serviceAccountName` runs as its
 * namespace's `default` account. Mirror pods (the kubelet's static pods)
 * are left alone, as Kubernetes does. Kubernetes also refuses a pod whose
 * account does not exist yet when it mounts the account's token; pods here
 * mount no token, so that check is not made (docs/apiserver.md).
 */
import { isObject } from '../patch.js';
import type { AdmissionAttributes, AdmissionPlugin, Operation } from './types.js';

export const DEFAULT_SERVICE_ACCOUNT = 'default';
const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';

export class ServiceAccountAdmission implements AdmissionPlugin {
  readonly name = 'ServiceAccount';

  handles(operation: Operation): boolean {
    return operation === 'CREATE';
  }

  admit(a: AdmissionAttributes): void {
    if (a.resource.group !== '' || a.resource.resource !== 'pods' || a.subresource !== undefined || a.object === undefined) return;
    const pod = a.object;
    const annotations = isObject(pod.metadata) && isObject(pod.metadata.annotations) ? pod.metadata.annotations : {};
    if (annotations[MIRROR_POD_ANNOTATION] !== undefined || !isObject(pod.spec)) return;
    const spec = pod.spec;
    if (typeof spec.serviceAccountName === 'string' && spec.serviceAccountName !== '') return;
    // The deprecated spec.serviceAccount names the account when serviceAccountName does not (Kubernetes' conversion).
    spec.serviceAccountName = typeof spec.serviceAccount === 'string' && spec.serviceAccount !== '' ? spec.serviceAccount : DEFAULT_SERVICE_ACCOUNT;
  }
}
