import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { threadCpuMs } from './thread-cpu.js';

/** A worker that spins until its own thread has used `ms` of CPU (by its own /proc/thread-self: on a busy machine a spin for a wall-clock time may get little CPU). */
const SPIN = `
const { readFileSync } = require('node:fs');
const { parentPort, workerData } = require('node:worker_threads');
const cpu = () => { const f = readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) * 10; };
const end = cpu() + workerData;
let x = 0;
while (cpu() < end) for (let i = 0; i < 100000; i++) x += Math.sqrt(i);
parentPort.postMessage(x);
`;

test('the calling thread\'s CPU time leaves out what another thread of the process burns', async () => {
  const processBefore = process.cpuUsage();
  const before = threadCpuMs();
  assert.ok(Number.isFinite(before), 'this project runs on Linux, where /proc/thread-self/stat exists');
  const worker = new Worker(SPIN, { eval: true, workerData: 300 });
  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
  });
  await worker.terminate();
  const threadMs = threadCpuMs() - before;
  const processCpu = process.cpuUsage(processBefore);
  const processMs = (processCpu.user + processCpu.system) / 1000;
  // The process counts the worker's 300 ms; this thread only started it and waited.
  assert.ok(processMs >= 300, `the process used ${processMs} ms`);
  assert.ok(threadMs >= 0 && threadMs < processMs - 200, `this thread ${threadMs} ms against the process's ${processMs} ms`);
});
