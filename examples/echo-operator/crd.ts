/**
 * The Echo kind: a message and a replica count. The operator runs each Echo
 * as a Deployment of that many pods and reports what the Deployment has
 * ready in the Echo's status.
 */
import type { V1CustomResourceDefinition, V1ObjectMeta } from '@kubernetes/client-node';

export const GROUP = 'demo.kubethreads.io';
export const VERSION = 'v1';
export const PLURAL = 'echoes';
export const KIND = 'Echo';

export interface Echo {
  apiVersion: string;
  kind: string;
  metadata: V1ObjectMeta;
  spec: { message: string; replicas: number };
  status?: EchoStatus;
}

export interface EchoStatus {
  /** The Deployment that runs this Echo. */
  deployment?: string;
  replicas?: number;
  readyReplicas?: number;
  /** The Echo generation the status describes (as Kubernetes' own controllers report it). */
  observedGeneration?: number;
}

export const ECHO_CRD: V1CustomResourceDefinition = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `${PLURAL}.${GROUP}` },
  spec: {
    group: GROUP,
    scope: 'Namespaced',
    names: { plural: PLURAL, singular: 'echo', kind: KIND, shortNames: ['ec'] },
    versions: [{
      name: VERSION,
      served: true,
      storage: true,
      schema: {
        openAPIV3Schema: {
          type: 'object',
          properties: {
            spec: {
              type: 'object',
              required: ['message'],
              properties: {
                message: { type: 'string', minLength: 1, maxLength: 200 },
                replicas: { type: 'integer', minimum: 0, maximum: 10, _default: 1 },
              },
            },
            status: {
              type: 'object',
              properties: {
                deployment: { type: 'string' },
                replicas: { type: 'integer' },
                readyReplicas: { type: 'integer' },
                observedGeneration: { type: 'integer' },
              },
            },
          },
        },
      },
      subresources: { status: {}, scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.readyReplicas' } },
      additionalPrinterColumns: [
        { name: 'Message', type: 'string', jsonPath: '.spec.message' },
        { name: 'Desired', type: 'integer', jsonPath: '.spec.replicas' },
        { name: 'Ready', type: 'integer', jsonPath: '.status.readyReplicas' },
        { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
      ],
    }],
  },
};
