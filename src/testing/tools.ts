/**
 * The outside tools some tests drive (the real kubectl, a real etcd, Debian's
 * chromium), and the one rule for a missing one: the test skips with a message
 * saying how to install it, unless `REQUIRE_TOOLS=1` (set by `.ci/run`), where
 * a missing tool fails instead, so CI cannot pass by skipping.
 *
 * NOTE (from a second helper session that was started on the same worktree by
 * mistake): this file was overwritten by that session at 12:15:54 and then
 * rebuilt from what tools.test.ts and the call sites expect. Check it against
 * what you had written.
 */
import { existsSync } from 'node:fs';

export const KUBECTL = '/usr/bin/kubectl';
export const CHROMIUM = '/usr/bin/chromium';

/** A tool a test needs is missing and `REQUIRE_TOOLS=1` says it must be there. */
export class MissingToolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MissingToolError';
  }
}

/**
 * `false` (run) when `present`; otherwise a skip message naming the tool and how
 * to install it, or, under `REQUIRE_TOOLS=1`, a `MissingToolError` thrown.
 */
export function requireTool(name: string, present: boolean, install: string, env: NodeJS.ProcessEnv = process.env): string | false {
  if (present) return false;
  if (env.REQUIRE_TOOLS === '1') throw new MissingToolError(`${name} is required (REQUIRE_TOOLS=1) but not installed: ${install}`);
  return `${name} is not installed, skipped: ${install}`;
}

export function requireKubectl(): string | false {
  return requireTool('kubectl', existsSync(KUBECTL), `install kubectl so that ${KUBECTL} exists`);
}

export function requireChromium(): string | false {
  return requireTool('chromium', existsSync(CHROMIUM), 'run scripts/install-chromium.sh (Debian\'s chromium)');
}

export function requireEtcd(present: boolean): string | false {
  return requireTool('etcd', present, 'run scripts/install-etcd.sh (Debian: apt-get install etcd-server)');
}
