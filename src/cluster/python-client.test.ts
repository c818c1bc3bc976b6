/**
 * The client matrix's third client: the official Python client (Debian's
 * python3-kubernetes, run with /usr/bin/python3) drives a threaded cluster
 * through its kubeconfig. The checks themselves are in
 * python-client-matrix.py; each prints `ok <name>: ...`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PYTHON, requirePythonClient } from '../testing/tools.js';
import { startCluster } from './start.js';
import { resolveClusterSpec } from './spec.js';

/** The script stays in src/ (tsc compiles only TypeScript); this file runs from dist/src/cluster. */
const SCRIPT = fileURLToPath(new URL('../../../src/cluster/python-client-matrix.py', import.meta.url));
const CHECKS = ['pagination', 'conflict', 'watch', 'deployment', 'logs', 'foreground-deletion'];

describe('the official Python client against a threaded cluster', { skip: requirePythonClient() }, () => {
  test('pagination, a 409 on a stale resourceVersion, watch from a resourceVersion, a Deployment scaled and rolled, pod logs, foreground deletion', { timeout: 240_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubethreads-python-'));
    try {
      const spec = resolveClusterSpec({ port: 0, nodes: 2, profile: 'fast', kubeconfigPath: join(dir, 'kubeconfig') });
      const cluster = await startCluster(spec, { logLevel: 'fatal' });
      try {
        const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
          execFile(PYTHON, [SCRIPT, spec.kubeconfigPath], { timeout: 200_000, env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } }, (error, stdout, stderr) => {
            resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr });
          });
        });
        assert.equal(code, 0, `python exited ${code}\n${stdout}\n${stderr}`);
        const passed = [...stdout.matchAll(/^ok ([\w-]+):/gm)].map((m) => m[1]);
        assert.deepEqual(passed, CHECKS, stdout);
      } finally {
        await cluster.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
