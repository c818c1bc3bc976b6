/**
 * The admission interface, in the shape of k8s.io/apiserver's
 * `admission.Interface`: a plugin says which operations it handles and
 * implements a mutating phase (`admit`), a validating phase (`validate`), or
 * both. The chain (chain.ts) runs every `admit`, then every `validate`.
 */
import type { UserInfo } from '../auth.js';
import type { ResourceInfo } from '../resources.js';
import type { KubeObject } from '../types/index.js';

/** Kubernetes' admission.Operation: a PATCH is an UPDATE, a deletecollection a DELETE per object. */
export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

/** An object as decoded from a request body (mutating plugins may change it in place). */
export type AdmissionObject = Record<string, unknown>;

/** What admission knows of a request: Kubernetes' admission.Attributes. */
export interface AdmissionAttributes {
  operation: Operation;
  /** The served resource (group, version, plural, kind, scope). */
  resource: ResourceInfo;
  subresource?: string;
  namespace?: string;
  /** Empty on a create whose name the server generates. */
  name: string;
  /**
   * The object being written: on CREATE and UPDATE the request's object
   * (a PATCH's object once the patch was applied, when the chain asked for
   * it: `wantsObject`); absent on DELETE and on a patch admitted without it.
   */
  object?: AdmissionObject;
  /** The stored object an UPDATE or DELETE replaces, when the handler read it. */
  oldObject?: KubeObject;
  userInfo: UserInfo;
  dryRun: boolean;
  /** The create/update/patch options' field manager, for webhooks' `options`. */
  fieldManager?: string;
  /** For the client, as `Warning` headers: what webhooks that allowed the request warned of. */
  warnings?: string[];
}

/** One admission plugin: Kubernetes' admission.Interface plus MutationInterface / ValidationInterface. */
export interface AdmissionPlugin {
  /** Kubernetes' plugin name (NamespaceLifecycle, ServiceAccount, Priority, ...). */
  readonly name: string;
  /** Whether the plugin looks at requests of this operation at all. */
  handles(operation: Operation): boolean;
  /** Mutating phase: may change `attributes.object`; throws an ApiError to refuse. */
  admit?(attributes: AdmissionAttributes): Promise<void> | void;
  /** Validating phase: may not change anything; throws an ApiError to refuse. */
  validate?(attributes: AdmissionAttributes): Promise<void> | void;
  /**
   * A PATCH is admitted with its patched object only when some plugin needs
   * it (the handler then computes the patch as a dry run first, and writes
   * the admitted object pinned to the revision it was computed from).
   */
  wantsObject?(attributes: AdmissionAttributes): boolean;
  /**
   * Called once the write admission allowed has been made (`written`, the
   * stored object) or has failed (undefined): for plugins that reserve
   * something in `validate` (the quota charge) and must learn the outcome.
   */
  finished?(attributes: AdmissionAttributes, written: KubeObject | undefined): void;
}
