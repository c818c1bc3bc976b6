import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryDisk } from '../actor/disk.js';
import { diskSink, HistoryError, HistoryParseError, HistoryRecorder, historyToJsonl, parseHistoryJsonl, type Operation } from './history.js';

function manualClock(startMs = 0): { now: () => number; advance: (ms: number) => void } {
  let nowMs = startMs;
  return { now: () => nowMs, advance: (ms) => (nowMs += ms) };
}

describe('HistoryRecorder', () => {
  test('records invocations and completions with the injected clock and writes one JSON line per event', () => {
    const clock = manualClock(100);
    const lines: string[] = [];
    const recorder = new HistoryRecorder({ now: clock.now, sink: (line) => lines.push(line) });
    const write = recorder.invoke('c1', 'x', { op: 'write', value: 3 });
    clock.advance(5);
    const read = recorder.invoke('c2', 'x', { op: 'read' });
    clock.advance(5);
    recorder.ok(write);
    const cas = recorder.invoke('c1', 'x', { op: 'cas', expected: 3, value: 4 });
    clock.advance(2);
    recorder.ok(read, { value: 3 });
    recorder.ok(cas, { swapped: true });
    assert.deepEqual(
      lines.map((line) => JSON.parse(line)),
      [
        { type: 'invoke', id: 0, process: 'c1', key: 'x', timeMs: 100, op: 'write', value: 3 },
        { type: 'invoke', id: 1, process: 'c2', key: 'x', timeMs: 105, op: 'read' },
        { type: 'ok', id: 0, timeMs: 110 },
        { type: 'invoke', id: 2, process: 'c1', key: 'x', timeMs: 110, op: 'cas', expected: 3, value: 4 },
        { type: 'ok', id: 1, timeMs: 112, value: 3 },
        { type: 'ok', id: 2, timeMs: 112, swapped: true },
      ],
    );
    assert.deepEqual(recorder.operations(), [
      { id: 0, process: 'c1', key: 'x', status: 'ok', invokeMs: 100, completeMs: 110, op: 'write', value: 3 },
      { id: 1, process: 'c2', key: 'x', status: 'ok', invokeMs: 105, completeMs: 112, op: 'read', value: 3 },
      { id: 2, process: 'c1', key: 'x', status: 'ok', invokeMs: 110, completeMs: 112, op: 'cas', expected: 3, value: 4, swapped: true },
    ]);
  });

  test('an operation never completed is unknown, and the file read back says the same', () => {
    const clock = manualClock();
    const lines: string[] = [];
    const recorder = new HistoryRecorder({ now: clock.now, sink: (line) => lines.push(line) });
    recorder.invoke('c1', 'x', { op: 'write', value: 'a' });
    const failed = recorder.invoke('c2', 'x', { op: 'write', value: 'b' });
    clock.advance(1);
    recorder.fail(failed, 'not leader');
    assert.equal(recorder.pendingCount, 1);
    const fromRecorder = recorder.operations();
    assert.equal(fromRecorder[0].status, 'unknown');
    assert.equal(fromRecorder[0].completeMs, null);
    assert.deepEqual(fromRecorder[1], { id: 1, process: 'c2', key: 'x', status: 'fail', invokeMs: 0, completeMs: 1, op: 'write', value: 'b', error: 'not leader' });
    assert.deepEqual(parseHistoryJsonl(lines.join('\n')), fromRecorder);
  });

  test('refuses to complete an operation twice or with an output of the wrong kind', () => {
    const recorder = new HistoryRecorder({ now: () => 0 });
    const write = recorder.invoke('c1', 'x', { op: 'write', value: 1 });
    assert.throws(() => recorder.ok(write, { value: 1 }), HistoryError);
    assert.equal(recorder.pendingCount, 1, 'a refused completion leaves the operation pending');
    recorder.ok(write);
    assert.throws(() => recorder.ok(write), /not pending/);
    const read = recorder.invoke('c1', 'x', { op: 'read' });
    assert.throws(() => recorder.ok(read), /an ok read needs the value/);
    const cas = recorder.invoke('c1', 'x', { op: 'cas', expected: 1, value: 2 });
    assert.throws(() => recorder.ok(cas), /swapped true or false/);
  });

  test('writes through a Disk sink as appended lines', () => {
    const disk = new MemoryDisk();
    const recorder = new HistoryRecorder({ now: () => 7, sink: diskSink(disk, 'history.jsonl') });
    const id = recorder.invoke('c1', 'k', { op: 'read' });
    recorder.ok(id, { value: null });
    const text = new TextDecoder().decode(disk.read('history.jsonl'));
    assert.deepEqual(parseHistoryJsonl(text), recorder.operations());
  });
});

describe('history JSON lines', () => {
  const ops: Operation[] = [
    { id: 0, process: 'c1', key: 'x', status: 'ok', invokeMs: 0, completeMs: 10, op: 'write', value: 1 },
    { id: 1, process: 'c2', key: 'x', status: 'unknown', invokeMs: 5, completeMs: 50, op: 'cas', expected: 1, value: 2, error: 'timeout' },
    { id: 2, process: 'c3', key: 'y', status: 'ok', invokeMs: 10, completeMs: 10, op: 'read', value: null },
    { id: 3, process: 'c3', key: 'y', status: 'unknown', invokeMs: 20, completeMs: null, op: 'write', value: 'z' },
  ];

  test('round-trips operations through text', () => {
    assert.deepEqual(parseHistoryJsonl(historyToJsonl(ops)), ops);
  });

  test('puts an operation invoked and completed at the same time in that order', () => {
    const events = historyToJsonl(ops).trim().split('\n').map((line) => JSON.parse(line));
    const invokeOf2 = events.findIndex((e) => e.id === 2 && e.type === 'invoke');
    const okOf2 = events.findIndex((e) => e.id === 2 && e.type === 'ok');
    assert.ok(invokeOf2 < okOf2);
  });

  const bad: [string, string, RegExp][] = [
    ['not JSON', '{"type":"invoke"', /line 1: not JSON/],
    ['an array', '[1]', /line 1: expected a JSON object/],
    ['an unknown event type', '{"type":"maybe","id":0,"timeMs":1}', /line 1: field "type" must be/],
    ['an unknown operation', '{"type":"invoke","id":0,"timeMs":1,"process":"c","key":"x","op":"delete"}', /line 1: field "op" must be/],
    ['a write without a value', '{"type":"invoke","id":0,"timeMs":1,"process":"c","key":"x","op":"write"}', /line 1: field "value"/],
    ['a completion with no invocation', '{"type":"ok","id":4,"timeMs":1}', /line 1: completion of operation 4, which was never invoked/],
    [
      'an ok read without its value',
      '{"type":"invoke","id":0,"timeMs":1,"process":"c","key":"x","op":"read"}\n\n{"type":"ok","id":0,"timeMs":2}',
      /line 3: field "value"/,
    ],
    [
      'a completion before its invocation',
      '{"type":"invoke","id":0,"timeMs":5,"process":"c","key":"x","op":"read"}\n{"type":"ok","id":0,"timeMs":2,"value":1}',
      /line 2: operation 0 completes at 2 ms, before its invocation at 5 ms/,
    ],
    [
      'an id invoked twice',
      '{"type":"invoke","id":0,"timeMs":5,"process":"c","key":"x","op":"read"}\n{"type":"invoke","id":0,"timeMs":6,"process":"c","key":"x","op":"read"}',
      /line 2: operation 0 is invoked twice/,
    ],
    [
      'a cas completed ok without swapped',
      '{"type":"invoke","id":0,"timeMs":5,"process":"c","key":"x","op":"cas","expected":1,"value":2}\n{"type":"ok","id":0,"timeMs":6}',
      /line 2: field "swapped" must be true or false/,
    ],
    ['a value that is an object', '{"type":"invoke","id":0,"timeMs":1,"process":"c","key":"x","op":"write","value":{"a":1}}', /line 1: field "value" must be a string, number or null/],
  ];
  for (const [what, text, message] of bad) {
    test(`rejects ${what}, naming the line`, () => {
      assert.throws(
        () => parseHistoryJsonl(text),
        (error: unknown) => error instanceof HistoryParseError && message.test(error.message),
      );
    });
  }
});
