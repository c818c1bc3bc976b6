import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { runLive, type Output, type Stop } from './live.js';

/** A terminal's stdout as runLive sees it: isTTY, columns, 'resize'; it records what was written. */
class FakeTerminal extends EventEmitter {
  isTTY = true;
  columns: number;
  writable = true;
  written: string[] = [];
  constructor(columns: number) {
    super();
    this.columns = columns;
  }
  write(chunk: string): boolean {
    this.written.push(chunk);
    return true;
  }
}

/** Stops after `polls` polls; its sleep returns at once (no real time passes). */
function stopAfter(polls: () => number, count: number): Stop {
  return { stopped: () => polls() >= count, sleep: async () => undefined };
}

test('on a terminal each frame goes back up exactly the rows it drew, fits the width, and clears what a longer frame left', async () => {
  const term = new FakeTerminal(30);
  const frames = [['one', 'two', 'three'], ['a line much longer than thirty columns, cut'], ['x', 'y']];
  let polls = 0;
  await runLive({
    out: term as unknown as Output, durationS: 0, intervalMs: 1, json: false, header: ['ready'],
    poll: async () => frames[polls++]!, lines: (f, width) => (assert.equal(width, 29), f), toJson: (f) => f,
  }, stopAfter(() => polls, frames.length));
  assert.deepEqual(term.written, [
    'ready\n',
    '\x1b[2Kone\n\x1b[2Ktwo\n\x1b[2Kthree\n\x1b[J',
    '\x1b[3A\r\x1b[2Ka line much longer than thir…\n\x1b[J',
    '\x1b[1A\r\x1b[2Kx\n\x1b[2Ky\n\x1b[J',
  ]);
});

test('a terminal resize repaints at once from the top of the screen, header first, at the new width', async () => {
  const term = new FakeTerminal(80);
  let polls = 0;
  const widths: number[] = [];
  await runLive({
    out: term as unknown as Output, durationS: 0, intervalMs: 1, json: false, header: ['kubethreads: cluster up', 'ready'],
    poll: async () => {
      polls++;
      if (polls === 2) {
        term.columns = 40;
        term.emit('resize');
      }
      return polls;
    },
    lines: (n, width) => (widths.push(width), [`status ${n}`]), toJson: (n) => n,
  }, stopAfter(() => polls, 2));
  assert.deepEqual(widths, [79, 39, 39]);
  assert.deepEqual(term.written.slice(3), [
    '\x1b[H\x1b[2Jkubethreads: cluster up\nready\n\x1b[2Kstatus 1\n\x1b[J',
    '\x1b[1A\r\x1b[2Kstatus 2\n\x1b[J',
  ]);
  assert.equal(term.listenerCount('resize'), 0, 'the resize listener is removed when the run ends');
});

test('not on a terminal: one line per change, no escape codes', async () => {
  const log = new FakeTerminal(80);
  log.isTTY = false;
  const states = ['a', 'a', 'b', 'b', 'a'];
  let polls = 0;
  await runLive({
    out: log as unknown as Output, durationS: 0, intervalMs: 1, json: false,
    poll: async () => states[polls++]!, lines: (s) => [s, 'same'], toJson: (s) => s,
  }, stopAfter(() => polls, states.length));
  assert.deepEqual(log.written.map((l) => l.replace(/^\S+ /, '')), ['a | same\n', 'b | same\n', 'a | same\n']);
  assert.ok(log.written.every((l) => !l.includes('\x1b')));
});
