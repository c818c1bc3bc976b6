/**
 * The outside tools some tests drive (the real kubectl, a real etcd, Debian's
 * chromium and promtool, the official Python client), and the one rule for a missing one:
 * the test skips with a message saying how to install it, unless
 * `REQUIRE_TOOLS=1` (set by `.ci/run`), where a missing tool fails instead, so
 * CI cannot pass by skipping the end-to-end tests it exists to run.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const KUBECTL = '/usr/bin/kubectl';
/** Debian's chromium, launched through playwright-core (which downloads no browser). */
export const CHROMIUM = '/usr/bin/chromium';
/** Debian's promtool (package prometheus): lints the text /metrics serves. */
export const PROMTOOL = '/usr/bin/promtool';
/** Debian's python, where `python3-kubernetes` installs; a pyenv or venv `python3` on the PATH lacks it. */
export const PYTHON = '/usr/bin/python3';

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
  return `${name} is not installed, skipped: ${install} (REQUIRE_TOOLS=1 makes this a failure)`;
}

export function requireKubectl(): string | false {
  return requireTool('kubectl', existsSync(KUBECTL), `install kubectl so that ${KUBECTL} exists (the upstream release binary; Debian 12's kubernetes-client is 1.20)`);
}

export function requirePromtool(): string | false {
  return requireTool('promtool', existsSync(PROMTOOL), 'run scripts/install-prometheus.sh (Debian\'s prometheus package)');
}

export function requireChromium(): string | false {
  return requireTool('chromium', existsSync(CHROMIUM), 'run scripts/install-chromium.sh (Debian\'s chromium)');
}

/** `present` is the caller's probe (bench kv asks the etcd binary for its version). */
export function requireEtcd(present: boolean): string | false {
  return requireTool('etcd', present, 'run scripts/install-etcd.sh (Debian: apt-get install etcd-server)');
}

/** Whether Debian's python can import the official client. */
export function pythonClientPresent(): boolean {
  try {
    execFileSync(PYTHON, ['-c', 'import kubernetes'], { stdio: 'ignore', timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

export function requirePythonClient(): string | false {
  return requireTool(`the Python client (${PYTHON} with python3-kubernetes)`, pythonClientPresent(), 'run scripts/install-python-client.sh (Debian\'s python3-kubernetes)');
}
