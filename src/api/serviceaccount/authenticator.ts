/**
 * The service account token authenticator: a bearer JWT this API server
 * signed, still valid, for one of its audiences, whose account (and bound
 * object, if any) still exists with the uid the token names, authenticates
 * as `system:serviceaccount:NS:NAME` in `system:serviceaccounts`,
 * `system:serviceaccounts:NS` and `system:authenticated`.
 */
import type { Authenticator, UserInfo } from '../auth.js';
import type { KubeObject } from '../types/index.js';
import { serviceAccountGroups, serviceAccountUserName, type ServiceAccountTokens } from './token.js';

export interface ServiceAccountLookup {
  /** The account's uid, or undefined when it does not exist. */
  serviceAccountUid(namespace: string, name: string): Promise<string | undefined>;
  boundObject(kind: 'Pod' | 'Secret' | 'Node', namespace: string, name: string): Promise<KubeObject | undefined>;
  now(): number;
  /** Why a token was refused: for the server's log, never for the client (who gets a bare 401). */
  rejected?(reason: string): void;
}

export class ServiceAccountAuthenticator implements Authenticator {
  /** `tokens` is asked for at each request: the key may be made on first use. */
  constructor(private readonly tokens: () => ServiceAccountTokens, private readonly lookup: ServiceAccountLookup) {}

  async authenticate(authorization: string | undefined): Promise<UserInfo | undefined | null> {
    if (authorization === undefined || authorization === '') return undefined;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!m || m[1]!.split('.').length !== 3) return null;
    const check = this.tokens().verify(m[1]!, this.lookup.now());
    if (!check.ok) return this.reject(check.reason);
    const k = check.claims['kubernetes.io'];
    const uid = await this.lookup.serviceAccountUid(k.namespace, k.serviceaccount.name);
    if (uid === undefined) return this.reject(`service account ${k.namespace}/${k.serviceaccount.name} has been deleted`);
    if (uid !== k.serviceaccount.uid) return this.reject(`service account UID (${uid}) does not match claim (${k.serviceaccount.uid})`);
    for (const [kind, ref] of [['Pod', k.pod], ['Secret', k.secret], ['Node', k.node]] as const) {
      if (ref === undefined) continue;
      const bound = await this.lookup.boundObject(kind, k.namespace, ref.name);
      if (bound === undefined || bound.metadata.deletionTimestamp !== undefined) return this.reject(`${kind.toLowerCase()} ${ref.name} the token is bound to has been deleted`);
      if (bound.metadata.uid !== ref.uid) return this.reject(`${kind.toLowerCase()} UID (${bound.metadata.uid ?? ''}) does not match claim (${ref.uid})`);
    }
    const namespace = k.namespace;
    return { name: serviceAccountUserName(namespace, k.serviceaccount.name), groups: [...serviceAccountGroups(namespace), 'system:authenticated'] };
  }

  private reject(reason: string): null {
    this.lookup.rejected?.(reason);
    return null;
  }
}
