/**
 * `/livez`, `/readyz` and `/healthz` as kube-apiserver answers them
 * (k8s.io/apiserver/pkg/server/healthz): named checks run in order; `ok` when
 * all pass, or with `?verbose` one `[+]<name> ok` line per check and
 * `<endpoint> check passed`; when any fails, always verbose, the failing ones
 * as `[-]<name> failed: reason withheld` (the reason goes to the log, never
 * to an unauthenticated caller), `<endpoint> check failed`, status 500.
 * `?exclude=<name>` (repeatable) skips a check (`[+]<name> excluded: ok`);
 * `/<endpoint>/<name>` runs one check.
 *
 * Pure apart from the checks it is handed: no I/O of its own.
 */

export type HealthEndpoint = 'livez' | 'readyz' | 'healthz';

export interface HealthCheck {
  name: string;
  /** Resolves `undefined` when healthy, else the reason (kept for the log). */
  run(): Promise<string | undefined>;
}

export interface HealthQuery {
  verbose: boolean;
  exclude: readonly string[];
}

export interface HealthAnswer {
  code: number;
  body: string;
  /** Failed checks with their reasons, for the server's log. */
  failures: { name: string; reason: string }[];
}

/** Kubernetes answers a failed health check with 500 (http.StatusInternalServerError), not 503. */
export const HEALTH_FAILED_CODE = 500;

/** What each endpoint checks: liveness never depends on readiness-only checks (a restart would not fix them). */
export const HEALTH_CHECK_NAMES: Record<HealthEndpoint, readonly string[]> = {
  livez: ['ping', 'etcd'],
  readyz: ['ping', 'etcd', 'informer-sync', 'shutdown'],
  healthz: ['ping', 'etcd', 'informer-sync'],
};

async function runCheck(check: HealthCheck): Promise<string | undefined> {
  try {
    return await check.run();
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** The whole endpoint: every check of `checks` but the excluded ones. */
export async function healthReport(endpoint: HealthEndpoint, checks: readonly HealthCheck[], query: HealthQuery): Promise<HealthAnswer> {
  const excluded = new Set(query.exclude);
  let lines = '';
  const failures: { name: string; reason: string }[] = [];
  const results = await Promise.all(checks.map((check) => (excluded.has(check.name) ? Promise.resolve('excluded' as const) : runCheck(check))));
  checks.forEach((check, i) => {
    const result = results[i];
    if (result === 'excluded') {
      excluded.delete(check.name);
      lines += `[+]${check.name} excluded: ok\n`;
    } else if (result === undefined) {
      lines += `[+]${check.name} ok\n`;
    } else {
      lines += `[-]${check.name} failed: reason withheld\n`;
      failures.push({ name: check.name, reason: result });
    }
  });
  if (excluded.size > 0) {
    lines += `warn: some health checks cannot be excluded: no matches for ${[...excluded].sort().map((n) => JSON.stringify(n)).join(',')}\n`;
  }
  if (failures.length > 0) return { code: HEALTH_FAILED_CODE, body: `${lines}${endpoint} check failed\n`, failures };
  if (!query.verbose) return { code: 200, body: 'ok', failures };
  return { code: 200, body: `${lines}${endpoint} check passed\n`, failures };
}

/** `/<endpoint>/<name>`: one check; `ok`, or 500 with `internal server error: <reason>` (this path is for operators). */
export async function singleHealthCheck(checks: readonly HealthCheck[], name: string): Promise<HealthAnswer | undefined> {
  const check = checks.find((c) => c.name === name);
  if (check === undefined) return undefined;
  const reason = await runCheck(check);
  if (reason === undefined) return { code: 200, body: 'ok', failures: [] };
  return { code: HEALTH_FAILED_CODE, body: `internal server error: ${reason}\n`, failures: [{ name, reason }] };
}

/** `verbose` is set by its presence (`?verbose`, `?verbose=true`, `?verbose=1`); `exclude` may repeat. */
export function parseHealthQuery(params: URLSearchParams): HealthQuery {
  return { verbose: params.has('verbose'), exclude: params.getAll('exclude') };
}
