/**
 * The API objects kube-proxy reads. Service and Endpoints come from the
 * project's API types; EndpointSlice (discovery.k8s.io/v1) is not there yet,
 * so its minimal structural shape lives here, with the Kubernetes JSON field
 * names: when src/api/types grows it, import that instead.
 */
import type { Endpoints, ObjectMeta, Service } from '../../api/types/index.js';

export type { Endpoints, Service };

/** The label that ties an EndpointSlice to its Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export interface EndpointConditions {
  /** Absent (null) means ready, as the API documents. */
  ready?: boolean | null;
  serving?: boolean | null;
  terminating?: boolean | null;
}

export interface Endpoint {
  addresses: string[];
  conditions?: EndpointConditions;
  hostname?: string;
  nodeName?: string;
  zone?: string;
  hints?: { forZones?: { name: string }[]; forNodes?: { name: string }[] };
  targetRef?: { kind?: string; namespace?: string; name?: string; uid?: string };
}

export interface EndpointPort {
  name?: string | null;
  port?: number | null;
  protocol?: 'TCP' | 'UDP' | 'SCTP' | null;
  appProtocol?: string | null;
}

export interface EndpointSlice {
  apiVersion?: 'discovery.k8s.io/v1';
  kind?: 'EndpointSlice';
  metadata: ObjectMeta;
  addressType: 'IPv4' | 'IPv6' | 'FQDN';
  endpoints: Endpoint[] | null;
  ports?: EndpointPort[] | null;
}

/** `spec.trafficDistribution` (Kubernetes 1.31+): PreferClose asks for topologically close endpoints. */
export type ServiceWithTrafficDistribution = Service & { spec?: { trafficDistribution?: 'PreferClose' | string } };
