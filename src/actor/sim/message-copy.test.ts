import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defineBehaviour, unhandled } from '../behaviour.js';
import type { Message } from '../protocol.js';
import { StoredJsonEvent, StoredJsonReply } from '../json-event.js';
import { keepSharedMarks, markShared } from '../shared.js';
import { copyPlain, type PlainCopy, type SharedCopies } from './message-copy.js';
import { SimulatedSystem } from './sim-system.js';

// The marks are kept once a simulated runtime exists in the thread (shared.ts); these tests mark before making one.
keepSharedMarks();

type Msg =
  | Message<'send', { to: string; times: number }>
  | Message<'take', { nested: { list: number[]; bytes: Uint8Array; at: Date } }>
  | Message<'kept', null>
  | Message<'give', null>
  | Message<'mutateKept', null>;

/** Sends a body and mutates it at once; keeps what it receives and mutates it on request; answers asks with an object it then mutates. */
const meddler = defineBehaviour<Msg, null>(import.meta.url, 'test-meddler', (ctx) => {
  const received: Array<{ nested: { list: number[]; bytes: Uint8Array; at: Date } }> = [];
  const given = { value: 'original', list: [1, 2, 3] };
  return {
    receive(msg) {
      switch (msg.type) {
        case 'send': {
          const body = { nested: { list: [1, 2, 3], bytes: new Uint8Array([7, 8, 9]), at: new Date(1_000) } };
          for (let i = 0; i < msg.body.times; i++) ctx.send(msg.body.to, { type: 'take', body });
          // After sending: a thread boundary would have copied it already.
          body.nested.list.push(4);
          body.nested.bytes[0] = 0;
          body.nested.at.setTime(2_000);
          return undefined;
        }
        case 'take':
          received.push(msg.body);
          return undefined;
        case 'mutateKept':
          for (const r of received) {
            r.nested.list.length = 0;
            r.nested.bytes[1] = 0;
          }
          return undefined;
        case 'kept':
          return received.map((r) => ({ list: [...r.nested.list], bytes: [...r.nested.bytes], at: r.nested.at.getTime() }));
        case 'give':
          // The reply is copied when sent: mutating it on the next turn must not reach the asker.
          void Promise.resolve().then(() => {
            given.value = 'changed';
            given.list.push(99);
          });
          return given;
        default:
          return unhandled;
      }
    },
  };
});

describe('the simulated runtime copies plain messages without msgpack, and each side keeps its own', () => {
  test('a sender mutating after send, and a receiver mutating what it got, reach no one else (duplicated deliveries too)', async () => {
    const sim = new SimulatedSystem({ seed: 1 });
    for (const name of ['a', 'b', 'c']) await sim.spawn(meddler, { name, args: null });
    // Every a → b message is delivered twice: each delivery must be its own copy.
    await sim.faults.link({ from: ['a'], to: ['b'], duplicate: 1 });
    sim.ref('a').tell({ type: 'send', body: { to: 'b', times: 1 } });
    sim.ref('a').tell({ type: 'send', body: { to: 'c', times: 1 } });
    await sim.runFor(100);
    const original = { list: [1, 2, 3], bytes: [7, 8, 9], at: 1_000 };
    const keptB = await sim.settle(sim.ref('b').ask<unknown[]>({ type: 'kept', body: null }));
    assert.equal(keptB.length, 2, 'the duplicate was delivered');
    assert.deepEqual(keptB, [original, original]);
    // b mutates its first copy: its second copy, and c's, are untouched.
    sim.ref('b').tell({ type: 'mutateKept', body: null });
    await sim.runFor(10);
    assert.deepEqual(await sim.settle(sim.ref('c').ask({ type: 'kept', body: null })), [original]);
    const afterB = await sim.settle(sim.ref('b').ask<Array<{ list: number[]; bytes: number[] }>>({ type: 'kept', body: null }));
    assert.deepEqual(afterB.map((k) => k.list), [[], []], 'b mutated both of its own copies');
    assert.deepEqual(afterB.map((k) => k.bytes), [[7, 0, 9], [7, 0, 9]]);
  });

  test('a reply mutated by its sender afterwards reaches the asker as it was sent', async () => {
    const sim = new SimulatedSystem({ seed: 2 });
    await sim.spawn(meddler, { name: 'a', args: null });
    const reply = await sim.settle(sim.ref('a').ask<{ value: string; list: number[] }>({ type: 'give', body: null }));
    await sim.runFor(10);
    assert.deepEqual(reply, { value: 'original', list: [1, 2, 3] });
  });

  test('the copy is deep and typed as a thread would give it; what is not plain data is left to msgpack', () => {
    const source = { a: [1, { b: 'x' }], u: undefined, n: null, buf: Buffer.from([1, 2]), bytes: new Uint8Array([3]), at: new Date(5), bare: Object.create(null) as object };
    const copy = copyPlain(source)!;
    // A null-prototype object arrives as a plain one, as msgpack delivers it.
    assert.deepEqual(copy.value, { ...source, bare: {} });
    const value = copy.value as typeof source;
    assert.notEqual(value.a, source.a);
    assert.notEqual(value.a[1], source.a[1]);
    assert.ok(Buffer.isBuffer(value.buf) && value.buf !== source.buf);
    assert.ok(value.bytes instanceof Uint8Array && value.bytes !== source.bytes);
    assert.ok(value.at instanceof Date && value.at !== source.at);
    assert.ok('u' in value, 'a key holding undefined is kept, as msgpackr keeps it');
    for (const odd of [new Map([[1, 2]]), { m: new Set([1]) }, { f: () => 1 }, { big: 1n }, new (class Point { x = 1; })()]) {
      assert.equal(copyPlain(odd), undefined, `${String(odd)} goes through msgpack`);
    }
  });

  test('the digest sees a change anywhere in the body', () => {
    const base = { kind: 'Pod', metadata: { name: 'web-1', resourceVersion: '17' }, spec: { replicas: 3, paused: false } };
    const digest = (v: unknown) => copyPlain(v)!.digest;
    assert.equal(digest(base), digest(structuredClone(base)));
    for (const changed of [
      { ...base, kind: 'Pox' },
      { ...base, metadata: { ...base.metadata, resourceVersion: '18' } },
      { ...base, spec: { ...base.spec, replicas: 4 } },
      { ...base, spec: { ...base.spec, paused: true } },
      { ...base, spec: { ...base.spec, extra: null } },
    ]) assert.notEqual(digest(changed), digest(base), JSON.stringify(changed));
  });
});

describe('objects marked shared reach every receiver as one frozen copy', () => {
  test('one copy for all, deep-frozen, with the same digest; bytes or a Date inside fall back to a copy each', () => {
    const cache: SharedCopies = new WeakMap();
    const pod = markShared({ metadata: { name: 'web', labels: { app: 'web' } }, spec: { containers: [{ name: 'c' }] } });
    const a = copyPlain({ events: [{ type: 'ADDED', object: pod }] }, cache)!;
    const b = copyPlain({ events: [{ type: 'ADDED', object: pod }] }, cache)!;
    const objectOf = (c: PlainCopy) => (c.value as { events: Array<{ object: typeof pod }> }).events[0]!.object;
    assert.equal(objectOf(a), objectOf(b), 'the same copy');
    assert.notEqual(objectOf(a), pod, 'a copy, not the sender\'s object');
    assert.equal(a.digest, b.digest);
    assert.ok(Object.isFrozen(objectOf(a)) && Object.isFrozen(objectOf(a).metadata.labels) && Object.isFrozen(objectOf(a).spec.containers[0]));
    assert.throws(() => {
      'use strict';
      (objectOf(a).metadata as { name: string }).name = 'changed';
    }, TypeError);
    assert.ok(!Object.isFrozen((a.value as { events: unknown[] }).events), 'the envelope around it is the receiver\'s own');
    const withBytes = markShared({ data: new Uint8Array([1]) });
    const c = copyPlain([withBytes], cache)!;
    const d = copyPlain([withBytes], cache)!;
    assert.notEqual((c.value as unknown[])[0], (d.value as unknown[])[0], 'bytes cannot be frozen: copied each time');
    assert.equal(copyPlain(pod)!.value === objectOf(a), false, 'without the runtime\'s cache: a private copy');
  });
});

test('a watch event carrying stored JSON is copied as the plain event it stands for, with the same digest and the shared object\'s one frozen copy', () => {
  const object = markShared({ metadata: { name: 'p', resourceVersion: '7' }, spec: { nodeName: 'n' } });
  const shared: SharedCopies = new WeakMap();
  const plain = copyPlain({ events: [{ type: 'ADDED', object }] }, shared)!;
  const carried = copyPlain({ events: [new StoredJsonEvent('ADDED', object, '{"metadata":{"name":"p"},"spec":{"nodeName":"n"}}', '7')] }, shared);
  assert.ok(carried !== undefined, 'copied here, not through msgpack');
  assert.equal(carried.digest, plain.digest, 'the replay trace cannot tell them apart');
  assert.deepEqual(carried.value, plain.value);
  const event = (carried.value as { events: { object: unknown }[] }).events[0]!;
  assert.equal(Object.getPrototypeOf(event), Object.prototype);
  assert.equal(event.object, (plain.value as { events: { object: unknown }[] }).events[0]!.object, 'one frozen copy of the shared object');
});

test('the answer to a write carrying stored JSON is copied as the plain reply, with the same digest', () => {
  const body = { metadata: { name: 'p', resourceVersion: '7' } };
  const plain = copyPlain({ ok: true, code: 200, body })!;
  const carried = copyPlain(new StoredJsonReply(200, body, '{"metadata":{"name":"p"}}', '7'));
  assert.ok(carried !== undefined, 'copied here, not through msgpack');
  assert.equal(carried.digest, plain.digest);
  assert.deepEqual(carried.value, plain.value);
});
