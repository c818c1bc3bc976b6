/**
 * Authentication: bearer tokens from Kubernetes' static token file format.
 * Authorization is RBAC over the stored Role/ClusterRole/bindings (rbac.ts).
 */
import type { UserInfo } from './rbac.js';

export type { UserInfo } from './rbac.js';

export const ANONYMOUS: UserInfo = Object.freeze({ name: 'system:anonymous', groups: ['system:unauthenticated'] });

/**
 * The only paths where a request without credentials is let in as
 * system:anonymous (Kubernetes 1.32's anonymous authenticator limited to
 * these paths); RBAC then decides (system:public-info-viewer allows them).
 * Anywhere else a request without a token is 401.
 */
export const PUBLIC_PATHS = new Set(['/healthz', '/readyz', '/livez', '/version']);

export interface TokenEntry {
  token: string;
  user: string;
  groups: string[];
}

/** Parses Kubernetes' static token file format: `token,user,uid,"group1,group2"` per line. */
export function parseTokenFile(text: string): TokenEntry[] {
  const out: TokenEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([^,]+),([^,]+),([^,]*)(?:,"?([^"]*)"?)?$/.exec(line);
    if (!m) throw new Error(`token file: cannot parse line ${JSON.stringify(line.slice(0, 20))}...`);
    out.push({ token: m[1]!, user: m[2]!, groups: m[4] ? m[4].split(',').filter((g) => g !== '') : [] });
  }
  return out;
}

export function formatTokenFile(entries: TokenEntry[]): string {
  return entries.map((e) => `${e.token},${e.user},${e.user},"${e.groups.join(',')}"`).join('\n') + '\n';
}

/**
 * Turns a request's Authorization header into a user: undefined when there
 * are no credentials, null when they are wrong (401).
 */
export interface Authenticator {
  authenticate(authorization: string | undefined): UserInfo | undefined | null | Promise<UserInfo | undefined | null>;
}

/**
 * Kubernetes' union authenticator: the first that knows the credentials
 * wins; credentials none of them knows are wrong (null).
 */
export function unionAuthenticator(authenticators: readonly Authenticator[]): Authenticator {
  return {
    async authenticate(authorization) {
      if (authorization === undefined || authorization === '') return undefined;
      for (const a of authenticators) {
        const user = await a.authenticate(authorization);
        if (user !== null && user !== undefined) return user;
      }
      return null;
    },
  };
}

export class TokenAuthenticator implements Authenticator {
  private readonly byToken = new Map<string, UserInfo>();

  constructor(entries: TokenEntry[]) {
    for (const e of entries) this.byToken.set(e.token, { name: e.user, groups: [...e.groups, 'system:authenticated'] });
  }

  /** undefined: no credentials; null: wrong credentials (401). */
  authenticate(authorization: string | undefined): UserInfo | undefined | null {
    if (authorization === undefined || authorization === '') return undefined;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!m) return null;
    return this.byToken.get(m[1]!) ?? null;
  }
}
