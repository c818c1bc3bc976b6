/**
 * `kubethreads up --store etcd`, as a user runs it: a local 3-member etcd from
 * the installed binary under the API server; the real kubectl drives a
 * session (create, get, list, watch, patch, a Deployment rolling out, delete)
 * and the real etcdctl sees the objects under /registry/ with the
 * resourceVersions kubectl shows. SIGTERM leaves no process behind.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { processGroup } from '../testing/processes.js';
import { etcdVersion } from '../kv/etcd/cluster.js';
import { KUBECTL, requireEtcd, requireKubectl } from '../testing/tools.js';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));
/** Bounds waiting on real processes (start-up, rollout, stop); not a timing assertion. */
const PROCESS_WAIT_MS_MAX = 90_000;

const skip = requireKubectl() || requireEtcd(etcdVersion() !== undefined);


/** etcd processes whose data directory is under `dir`. */
function etcdUnder(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (cmdline[0]?.endsWith('etcd') && cmdline.some((arg) => arg.startsWith(dir))) pids.push(Number(entry));
    } catch {
      // Gone while we looked.
    }
  }
  return pids;
}

async function until(what: () => string, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + PROCESS_WAIT_MS_MAX;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const run = (file: string, args: string[], input?: string) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(file, args, { timeout: 60_000, env: { ...process.env, ETCDCTL_API: '3' } }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
    if (input !== undefined) child.stdin!.end(input);
  });

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: nginx:1.27}
`;

test('kubectl on `up --store etcd`: create, get, list, watch, patch, a Deployment rolling out, delete; etcdctl sees /registry/ with the same revisions', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubethreads-up-etcd-'));
  const data = join(dir, 'data');
  const up = spawn(process.execPath, [MAIN, 'up', '--store', 'etcd', '--nodes', '1', '--profile', 'fast', '--port', '0', '--kubeconfig', join(dir, 'kc'), '--data-dir', data], {
    detached: true, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pgid = up.pid!;
  after(() => {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // Nothing left: as it should be.
    }
    for (const pid of etcdUnder(data)) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  let out = '';
  up.stdout.on('data', (c: Buffer) => (out += c.toString()));
  up.stderr.on('data', (c: Buffer) => (out += c.toString()));
  await until(() => `the ready line (output so far: ${JSON.stringify(out)})`, () => /\nready\n/.test(out));
  const endpoints = /members at (\S+),? data in/.exec(out)?.[1]?.replace(/,$/, '');
  assert.ok(endpoints !== undefined, `the header names the etcd members: ${out}`);
  assert.equal(etcdUnder(data).length, 3, 'three etcd members run on the data directory');

  const kubectl = async (args: string[], input?: string): Promise<string> => {
    const r = await run(KUBECTL, ['--kubeconfig', join(dir, 'kc'), '--cache-dir', join(dir, 'cache'), ...args], input);
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const etcdctl = async (args: string[]): Promise<string> => {
    const r = await run('etcdctl', ['--endpoints', endpoints, ...args]);
    assert.equal(r.code, 0, `etcdctl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  assert.match(await kubectl(['get', 'nodes']), /node-0\s+Ready/);
  assert.match(await kubectl(['create', 'namespace', 'demo']), /namespace\/demo created/);
  // A watch started before the change sees it arrive (kubectl's own watch request, served from the watch cache fed by etcd).
  const watch = spawn(KUBECTL, ['--kubeconfig', join(dir, 'kc'), '--cache-dir', join(dir, 'cache'), 'get', 'configmaps', '-n', 'demo', '--watch-only', '-o', 'name'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let watched = '';
  watch.stdout.on('data', (c: Buffer) => (watched += c.toString()));
  try {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await kubectl(['create', 'configmap', 'settings', '-n', 'demo', '--from-literal=a=1']);
    await until(() => `the watch to show the configmap (seen: ${JSON.stringify(watched)})`, () => watched.includes('configmap/settings'));
  } finally {
    watch.kill();
  }

  assert.match(await kubectl(['create', '-n', 'demo', '-f', '-'], deployment), /deployment.apps\/web created/);
  assert.match(await kubectl(['rollout', 'status', 'deployment/web', '-n', 'demo', '--timeout=60s']), /successfully rolled out/);
  const pods = await kubectl(['get', 'pods', '-n', 'demo', '-l', 'app=web']);
  assert.equal(pods.split('\n').filter((l) => /^web-\S+\s+1\/1\s+Running/.test(l)).length, 2, pods);
  await kubectl(['patch', 'deployment', 'web', '-n', 'demo', '--type=merge', '-p', '{"metadata":{"labels":{"tier":"front"}}}']);
  assert.equal(await kubectl(['get', 'deployment', 'web', '-n', 'demo', '-o', 'jsonpath={.metadata.labels.tier}']), 'front');
  assert.match(await kubectl(['get', 'deployments', '-A']), /demo\s+web\s+2\/2/);

  const keys = (await etcdctl(['get', '/registry/', '--prefix', '--keys-only'])).split('\n').filter((k) => k !== '');
  for (const key of ['/registry/namespaces/demo', '/registry/deployments/demo/web', '/registry/configmaps/demo/settings', '/registry/nodes/node-0']) assert.ok(keys.includes(key), `${key} in etcd (keys: ${keys.length})`);
  assert.equal(keys.filter((k) => k.startsWith('/registry/pods/demo/web-')).length, 2, 'both pods are in etcd');
  const stored = JSON.parse(await etcdctl(['get', '/registry/deployments/demo/web', '-w', 'json'])) as { kvs: Array<{ mod_revision: number; value: string }> };
  const resourceVersion = await kubectl(['get', 'deployment', 'web', '-n', 'demo', '-o', 'jsonpath={.metadata.resourceVersion}']);
  assert.equal(resourceVersion, String(stored.kvs[0]!.mod_revision), "the resourceVersion is etcd's mod revision of the key");
  assert.equal(JSON.parse(Buffer.from(stored.kvs[0]!.value, 'base64').toString('utf8')).metadata.labels.tier, 'front', 'etcd holds the patched object');

  await kubectl(['delete', 'deployment', 'web', '-n', 'demo']);
  assert.equal((await etcdctl(['get', '/registry/deployments/demo/web', '--keys-only'])).trim(), '', 'deleted from etcd');

  const exited = new Promise<void>((resolve) => up.on('exit', () => resolve()));
  process.kill(up.pid!, 'SIGTERM');
  await exited;
  await until(() => `every process to end (group: ${processGroup(pgid).join(' ')}; etcd: ${etcdUnder(data).join(' ')})`, () => processGroup(pgid).length === 0 && etcdUnder(data).length === 0);
  assert.match(out, /kubethreads: stopped/);
});
