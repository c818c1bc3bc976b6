import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cpuSecondsBetween, threadCpuMs } from './heap-probe.js';

test('a thread\'s CPU time is read from the OS and never goes backwards', () => {
  const before = threadCpuMs();
  let x = 0;
  for (let i = 0; i < 1_000_000; i++) x += Math.sqrt(i);
  const after = threadCpuMs();
  assert.ok(x > 0);
  assert.ok(Number.isFinite(before) && Number.isFinite(after), 'this project runs on Linux, where /proc/thread-self/stat exists');
  assert.ok(after >= before);
});

test('CPU seconds per thread between two samples, largest first, leaving out threads missing from either sample', () => {
  const spent = cpuSecondsBetween({ apiserver: 1_000, 'etcd-0': 500, gone: 10, unknown: Number.NaN }, { apiserver: 31_250, 'etcd-0': 4_500, unknown: 900, started: 200 });
  assert.deepEqual(Object.entries(spent), [['apiserver', 30.25], ['etcd-0', 4]]);
});
