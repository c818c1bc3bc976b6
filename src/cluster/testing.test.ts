import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import { test } from 'node:test';
import { processExited } from './testing.js';

/** Kills per run: without the wait for every thread, about half of them still accepted a connect (11 of 20 when measured), so 10 kills miss it about once in 3,000 runs. */
const KILLS = 10;

const SERVER = "require('net').createServer((s) => s.end()).listen(0, '127.0.0.1', function () { console.log(this.address().port) })";

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

test('once processExited says a SIGKILLed node server is gone, its port refuses connections, every time', { skip: process.platform !== 'linux' && 'reads /proc', timeout: 120_000 }, async () => {
  for (let kill = 0; kill < KILLS; kill++) {
    const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exit = new Promise((resolve) => child.once('exit', resolve));
    const port = Number(await new Promise<string>((resolve) => child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString()))));
    assert.ok(port > 0 && (await connects(port)), 'the server accepts before the kill');
    child.kill('SIGKILL');
    // Poll without yielding, as fast as the e2e test's check could first succeed: the window is a few ms wide.
    const deadline = Date.now() + 5_000;
    while (!processExited(child.pid!)) assert.ok(Date.now() < deadline, 'the process exits within 5 s');
    assert.equal(await connects(port), false, `kill ${kill + 1}: a connect after processExited is refused`);
    await exit;
  }
});
