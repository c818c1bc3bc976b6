import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PeerDownEvent } from './behaviour.js';
import { PeerMonitors, type MonitoringCell } from './monitors.js';

class FakeCell implements MonitoringCell {
  state = 'running';
  readonly heard: string[] = [];
  constructor(private readonly log: string[], private readonly name: string) {}
  notifyPeerDown(event: PeerDownEvent): void {
    this.heard.push(`${event.name} ${event.reason}`);
    this.log.push(this.name);
  }
}

test('each ended incarnation is told once, to live monitoring cells in the order they asked; older reports are dropped', () => {
  const order: string[] = [];
  const monitors = new PeerMonitors<FakeCell>();
  const a = new FakeCell(order, 'a');
  const b = new FakeCell(order, 'b');
  monitors.add(a, 't');
  monitors.add(b, 't');
  monitors.add(a, 't');
  assert.equal(monitors.notify({ name: 't', reason: 'killed' }, 5), 2);
  assert.equal(monitors.notify({ name: 't', reason: 'killed' }, 5), 0, 'the same incarnation reported again (the thread exit after the kill)');
  assert.equal(monitors.notify({ name: 't', reason: 'crashed' }, 3), 0, 'an older incarnation reported late');
  assert.deepEqual(order, ['a', 'b']);
  b.state = 'crashed';
  monitors.remove(a, 't');
  assert.equal(monitors.notify({ name: 't', reason: 'stopped' }, 9), 0, 'a monitor dies with its incarnation; a removed one is gone');
  assert.deepEqual(a.heard, ['t killed']);
  assert.equal(monitors.notify({ name: 'other', reason: 'killed' }, 1), 0, 'nobody monitors it');
});
