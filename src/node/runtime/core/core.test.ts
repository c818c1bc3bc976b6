import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseSimScript, SimScriptError } from '../sim/script.js';
import { parseDurationMs } from './duration.js';
import { IpAllocator } from './ip-allocator.js';
import { MemoryLog, tailStart } from './memory-log.js';
import { RuntimeStore } from './store.js';

describe('runtime core', () => {
  test('durations read as Kubernetes writes them', () => {
    for (const [text, ms] of [['500ms', 500], ['5s', 5_000], ['1m30s', 90_000], ['1.5s', 1_500], ['250', 250], ['2h', 7_200_000]] as const) {
      assert.equal(parseDurationMs(text), ms, text);
    }
    for (const bad of ['', 's', '5x', '5s garbage', '-1s']) assert.equal(parseDurationMs(bad), undefined, bad);
  });

  test('the IP allocator skips network and broadcast, moves on before reusing, and refuses a double release', () => {
    const ips = new IpAllocator('127.10.3.0/29');
    const got = Array.from({ length: 6 }, () => ips.allocate());
    assert.deepEqual(got, ['127.10.3.1', '127.10.3.2', '127.10.3.3', '127.10.3.4', '127.10.3.5', '127.10.3.6']);
    assert.equal(ips.allocate(), undefined);
    ips.release('127.10.3.2');
    ips.release('127.10.3.5');
    assert.equal(ips.allocate(), '127.10.3.2', 'wraps around to the first free one after the cursor');
    assert.equal(ips.allocate(), '127.10.3.5');
    assert.throws(() => ips.release('127.10.9.1'), /not a pod address/);
    ips.release('127.10.3.1');
    assert.throws(() => ips.release('127.10.3.1'), /was not allocated/);
    assert.throws(() => new IpAllocator('127.10.3.1/24'), /host bits/);
  });

  test('a memory log keeps byte offsets across dropped bytes and never splits a character', () => {
    const log = new MemoryLog(7);
    log.append('héllo\n');
    log.append('wörld\n');
    assert.equal(log.sizeBytes, 14);
    const all = log.read(0, 100);
    assert.equal(all.data, 'wörld\n', 'the oldest bytes went; offsets still count them');
    assert.equal(all.nextOffsetBytes, 14);
    const cut = log.read(7, 2);
    assert.equal(cut.data, 'w', 'the ö is two bytes: a 2-byte read stops before it');
    assert.equal(cut.nextOffsetBytes, 8);
    assert.equal(log.read(8, 100).data, 'örld\n');
    assert.equal(tailStart(Buffer.from('a\nb\nc\n'), 2), 2);
    assert.equal(tailStart(Buffer.from('a\nb\nc'), 1), 4);
    assert.equal(tailStart(Buffer.from('a\nb\n'), 5), 0);
  });

  test('the store\'s revision moves on every change to a record and on nothing else (whole-node lists are cached by it)', () => {
    const store = new RuntimeStore();
    const moved = (what: string, change: () => unknown): void => {
      const before = store.revision;
      change();
      assert.ok(store.revision > before, `${what} moves the revision`);
    };
    const still = (what: string, look: () => unknown): void => {
      const before = store.revision;
      look();
      assert.equal(store.revision, before, `${what} leaves the revision`);
    };
    moved('addSandbox', () => store.addSandbox('s1', { metadata: { name: 'p', namespace: 'd', uid: 'u', attempt: 0 } }, '10.0.0.1', 0));
    moved('addContainer', () => store.addContainer('c1', 's1', { metadata: { name: 'main', attempt: 0 }, image: 'x' }, 'x', 0));
    still('listContainers', () => store.listContainers());
    still('listSandboxes', () => store.listSandboxes());
    moved('markRunning', () => store.markRunning('c1', 1));
    moved('markExited', () => store.markExited('c1', 2, 1));
    still('a repeated exit report', () => store.markExited('c1', 3, 0));
    moved('removeContainer', () => store.removeContainer('c1'));
    still('removing a container that is gone', () => store.removeContainer('c1'));
    moved('markSandboxNotReady', () => store.markSandboxNotReady('s1'));
    moved('removeSandbox', () => store.removeSandbox('s1'));
    still('removing a sandbox that is gone', () => store.removeSandbox('s1'));
  });

  test('the store enforces the CRI state machine', () => {
    const store = new RuntimeStore();
    store.addSandbox('s1', { metadata: { name: 'p', namespace: 'd', uid: 'u', attempt: 0 } }, '10.0.0.1', 0);
    store.addContainer('c1', 's1', { metadata: { name: 'main', attempt: 0 }, image: 'x' }, 'x', 0);
    assert.throws(() => store.removeSandbox('s1'), /still has 1 containers/);
    store.markRunning('c1', 1);
    assert.throws(() => store.markRunning('c1', 2), /only a CREATED container starts/);
    assert.throws(() => store.removeContainer('c1'), /stop it before removing/);
    assert.throws(() => store.markSandboxNotReady('s1'), /cannot stop while container c1 runs/);
    assert.throws(() => store.markExited('c1', 3, 300), /not in 0..255/);
    assert.equal(store.markExited('c1', 3, 0), true);
    assert.equal(store.markExited('c1', 4, 1), false, 'a second exit report is ignored');
    assert.equal(store.container('c1')!.reason, 'Completed');
  });

  test('the sim grammar reads images and annotations, and rejects what it cannot mean', () => {
    const s = parseSimScript('registry.local/sim/crash-after-5s:7', 'main', 0, undefined);
    assert.deepEqual([s.exitAfterMs, s.exitCode], [-1, 0], 'only images whose repository starts with sim/ carry the grammar');
    const crash = parseSimScript('sim/crash-after-5s:7', 'main', 0, undefined);
    assert.deepEqual([crash.exitAfterMs, crash.exitCode], [5_000, 7]);
    const perContainer = parseSimScript('app', 'sidecar', 0, { 'sim.kubethreads.io/exit-after': '1s', 'sim.kubethreads.io/exit-after.sidecar': '2s' });
    assert.equal(perContainer.exitAfterMs, 2_000);
    const healed = parseSimScript('sim/crash-after-1s', 'main', 2, { 'sim.kubethreads.io/crash-attempts': '2' });
    assert.equal(healed.exitAfterMs, -1, 'attempt 2 is past the crash schedule');
    assert.throws(() => parseSimScript('sim/crash-after-soon', 'main', 0, undefined), SimScriptError);
    assert.throws(() => parseSimScript('app', 'main', 0, { 'sim.kubethreads.io/exit-code': '300' }), /0\.\.255/);
    assert.throws(() => parseSimScript('app', 'main', 0, { 'sim.kubethreads.io/pull-fail': 'yes' }), /"true" or "false"/);
  });
});
