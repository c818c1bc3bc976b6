import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defineBehaviour, unhandled } from '../behaviour.js';
import type { Message } from '../protocol.js';
import { StoredJsonEvent, StoredJsonReply } from '../json-event.js';
import { keepSharedMarks, markShared } from '../shared.js';
import { copyPlain, sharePlain, SHARED_MESSAGE_TYPES, SHARED_REPLY_TYPES, type PlainCopy, type SharedCopies } from './message-copy.js';
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
    assert.equal(objectOf(a), pod, 'plain data all through: the sender\'s object itself, frozen in place');
    assert.ok(Object.isFrozen(pod.metadata.labels));
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
    const bare = Object.create(null) as Record<string, unknown>;
    bare.x = 1;
    const holdsBare = markShared({ bare });
    const e = copyPlain([holdsBare], cache)!;
    const f = copyPlain([holdsBare], cache)!;
    const gotBare = (e.value as Array<{ bare: object }>)[0]!;
    assert.equal(gotBare, (f.value as unknown[])[0], 'a null-prototype object inside: one frozen copy for all');
    assert.ok(gotBare !== holdsBare && Object.isFrozen(gotBare) && Object.getPrototypeOf(gotBare.bare) === Object.prototype);
    assert.ok(!Object.isFrozen(holdsBare), 'and the sender\'s object is left as it was');
    const bareAgain = Object.create(null) as Record<string, unknown>;
    bareAgain.x = 2;
    assert.notEqual(e.digest, copyPlain([markShared({ bare: bareAgain })], new WeakMap())!.digest, 'the digest sees its content');
    assert.equal(a.digest, copyPlain({ events: [{ type: 'ADDED', object: markShared(structuredClone(pod)) }] }, new WeakMap())!.digest, 'frozen in place or not yet: the same digest');
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

describe('message types delivered uncopied (sharePlain): the same digest as a copy, and frozen in the tests', () => {
  test('the digest equals the copy\'s, the sender\'s objects are delivered where a copy would equal them, and the rest is copied as copyPlain copies it', () => {
    const pod = markShared({ metadata: { name: 'web' }, spec: { nodeName: 'n1' } });
    const bare = Object.create(null) as Record<string, unknown>;
    bare.k = { deep: [1] };
    const bodies: unknown[] = [
      { kind: 'Pod', metadata: { name: 'web-1', labels: { a: 'b' } }, spec: { replicas: 3, paused: false, extra: null, none: undefined } },
      [1, 'two', [3, { four: 4 }], true, null],
      { entries: [{ index: 7, data: new Uint8Array([1, 2, 3]) }], at: new Date(5), term: 2 },
      { events: [new StoredJsonEvent('ADDED', pod, '{"metadata":{"name":"web"},"spec":{"nodeName":"n1"}}', '9')], tail: { x: 1 } },
      new StoredJsonReply(200, { metadata: { name: 'p', resourceVersion: '7' } }, '{"metadata":{"name":"p"}}', '7'),
      { before: { x: 1 }, bare, after: [2] },
      { list: [pod, { y: 2 }] },
    ];
    for (const body of bodies) {
      const copied = copyPlain(body, new WeakMap())!;
      const shared = sharePlain(body, new WeakMap(), false)!;
      assert.equal(shared.digest, copied.digest, JSON.stringify(body));
      assert.deepEqual(shared.value, copied.value, 'what the receiver reads is what a copy holds');
    }
    const plainBody = bodies[0] as { metadata: object };
    assert.equal(sharePlain(plainBody, undefined, false)!.value, plainBody, 'plain data: the sender\'s object itself');
    const withBytes = bodies[2] as { entries: Array<{ data: Uint8Array }>; at: Date };
    const got = sharePlain(withBytes, undefined, false)!.value as typeof withBytes;
    assert.notEqual(got.entries[0]!.data, withBytes.entries[0]!.data, 'bytes are copied (they cannot be frozen)');
    assert.notEqual(got.entries, withBytes.entries, 'and so is the path to them');
    assert.notEqual(got.at, withBytes.at);
    const mixed = bodies[5] as { before: object; after: unknown[] };
    const gotMixed = sharePlain(mixed, undefined, false)!.value as { before: object; bare: object; after: unknown[] };
    assert.deepEqual(Object.keys(gotMixed), ['before', 'bare', 'after'], 'key order kept around a copied node');
    assert.equal(gotMixed.before, mixed.before);
    assert.equal(gotMixed.after, mixed.after);
    assert.equal(Object.getPrototypeOf(gotMixed.bare), Object.prototype, 'a null-prototype object arrives as a plain one, as a copy does');
    for (const odd of [new Map([[1, 2]]), { m: new Set([1]) }, { f: () => 1 }, { big: 1n }]) {
      assert.equal(sharePlain(odd, undefined, false), undefined, 'not plain data: left to msgpack');
    }
    assert.ok(!SHARED_MESSAGE_TYPES.has('api.create'), 'the API server writes into the create it gets');
  });

  test('frozen: a sender writing what it sent, a receiver writing what it got, and an actor writing the answer it gave all throw, and reach no one', async () => {
    type ShareMsg =
      | Message<'send', { to: string }>
      | Message<'kv', { nested: { list: number[] } }>
      | Message<'api.get', null>
      | Message<'report', null>;
    const sharer = defineBehaviour<ShareMsg, null>(import.meta.url, 'test-sharer', (ctx) => {
      const notes: string[] = [];
      const kept: Array<{ nested: { list: number[] } }> = [];
      const answer = { value: 'original', list: [1, 2, 3] };
      const attempt = (what: string, write: () => void): void => {
        try {
          write();
          notes.push(`${what}: written`);
        } catch (error) {
          notes.push(`${what}: ${(error as Error).name}`);
        }
      };
      return {
        receive(msg) {
          switch (msg.type) {
            case 'send': {
              const body = { nested: { list: [1, 2, 3] } };
              ctx.send(msg.body.to, { type: 'kv', body });
              attempt('sender', () => body.nested.list.push(4));
              return undefined;
            }
            case 'kv':
              kept.push(msg.body);
              attempt('receiver', () => msg.body.nested.list.push(5));
              return undefined;
            case 'api.get':
              void Promise.resolve().then(() => attempt('answerer', () => answer.list.push(99)));
              return answer;
            case 'report':
              return { notes, kept: kept.map((k) => [...k.nested.list]) };
            default:
              return unhandled;
          }
        },
      };
    });
    assert.ok(SHARED_MESSAGE_TYPES.has('kv') && SHARED_REPLY_TYPES.has('api.get'), 'the types this test sends are shared ones');
    const sim = new SimulatedSystem({ seed: 3, freezeShared: true });
    for (const name of ['a', 'b']) await sim.spawn(sharer, { name, args: null });
    sim.ref('a').tell({ type: 'send', body: { to: 'b' } });
    await sim.runFor(10);
    const answer = await sim.settle(sim.ref('a').ask<{ value: string; list: number[] }>({ type: 'api.get', body: null }));
    await sim.runFor(10);
    assert.deepEqual(answer, { value: 'original', list: [1, 2, 3] });
    type Report = { notes: string[]; kept: number[][] };
    const reportA = await sim.settle(sim.ref('a').ask<Report>({ type: 'report', body: null }));
    const reportB = await sim.settle(sim.ref('b').ask<Report>({ type: 'report', body: null }));
    assert.deepEqual(reportA.notes, ['sender: TypeError', 'answerer: TypeError']);
    assert.deepEqual(reportB.notes, ['receiver: TypeError']);
    assert.deepEqual(reportB.kept, [[1, 2, 3]], 'what b got is what a sent');
  });
});
