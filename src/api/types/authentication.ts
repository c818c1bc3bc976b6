/** authentication.k8s.io/v1: the TokenRequest a client POSTs to serviceaccounts/<name>/token. */
import type { KubeObject } from './meta.js';

/** The object a token is bound to: it is valid only while that object exists (Kubernetes' BoundObjectReference). */
export interface BoundObjectReference {
  kind?: string;
  apiVersion?: string;
  name?: string;
  uid?: string;
}

export interface TokenRequest extends KubeObject {
  apiVersion?: 'authentication.k8s.io/v1';
  kind?: 'TokenRequest';
  spec: {
    /** Who may accept the token; empty: the API server's own audiences. */
    audiences?: string[];
    /** Requested lifetime; Kubernetes' default is 3600, the minimum 600. */
    expirationSeconds?: number;
    boundObjectRef?: BoundObjectReference;
  };
  status?: {
    token: string;
    /** RFC 3339, seconds precision. */
    expirationTimestamp: string;
  };
}
