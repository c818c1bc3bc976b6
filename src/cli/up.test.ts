import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { processGroup } from '../testing/processes.js';
import { ppidFromStat } from './parent.js';

/** The repository's root (dist/src/cli/ → ../../..): where the README says to run `npx kubethreads up`. */
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
/** Bounds waiting on real processes (start-up, stop); not a timing assertion. */
const PROCESS_WAIT_MS_MAX = 60_000;


/** `what` is a function so that the message shows what was seen when giving up, not when starting to wait. */
async function until(what: () => string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + PROCESS_WAIT_MS_MAX;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test('the parent pid is read from /proc/<pid>/stat even when the command name holds spaces and parentheses', () => {
  assert.equal(ppidFromStat('4242 (node) S 17 4242 4242 0 -1'), 17);
  assert.equal(ppidFromStat('4242 (a (weird) name) R 1 4242 4242 0 -1'), 1);
  assert.equal(ppidFromStat('garbage'), undefined);
});

test('npx kubethreads up, as the README starts it, stops with nothing left when SIGTERM reaches npx', { skip: process.platform !== 'linux' && 'reads /proc to find the cluster\'s processes' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubethreads-npx-sig-'));
  // Its own process group, so that whatever is left can be found (and, if the test fails, killed) as a group.
  const npx = spawn('npx', ['kubethreads', 'up', '--port', '0', '--nodes', '0', '--kubeconfig', join(dir, 'kc'), '--data-dir', join(dir, 'data')], {
    cwd: REPO, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pgid = npx.pid!;
  after(() => {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // Nothing left: as it should be.
    }
    rmSync(dir, { recursive: true, force: true });
  });
  let out = '';
  npx.stdout.on('data', (c: Buffer) => (out += c.toString()));
  npx.stderr.on('data', (c: Buffer) => (out += c.toString()));
  await until(() => `the ready line (output so far: ${JSON.stringify(out)})`, () => /\nready\n/.test(out));
  const port = Number(/apiserver at https:\/\/127\.0\.0\.1:(\d+)/.exec(out)![1]);
  const cluster = processGroup(pgid).filter((pid) => pid !== npx.pid);
  assert.ok(cluster.length > 0, 'npx runs the cluster in a child process');

  const exited = new Promise<void>((resolve) => npx.on('exit', () => resolve()));
  process.kill(npx.pid!, 'SIGTERM');
  await exited;
  await until(() => `every process of the cluster to end (left: ${processGroup(pgid).join(' ')})`, () => processGroup(pgid).length === 0);
  const refused = await new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('connect', () => (socket.destroy(), resolve(false)));
    socket.on('error', () => resolve(true));
  });
  assert.ok(refused, 'nothing listens on the API port');
  assert.match(out, /the process that started this one is gone; stopping/);
  assert.match(out, /kubethreads: stopped/);
});
