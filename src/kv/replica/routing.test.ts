import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { FrameDecoder, FrameEncoder } from '../../actor/codec.js';
import type { ClientRequest, KvRouting } from './protocol.js';
import { addRouting, routingWaitMs, withoutRouting, withRouting } from './routing.js';

function rangeRequest(i: number): ClientRequest {
  return { type: 'range', key: `/g/${i}`, rangeEnd: undefined, limit: undefined, revision: undefined, countOnly: undefined, keysOnly: undefined, serializable: true };
}

describe('kv routing beside a request', () => {
  test('withRouting makes a fresh body with the routing and leaves the request untouched', () => {
    const request: ClientRequest = { type: 'put', key: 'k', value: 'v' };
    const body = withRouting(request, { waitMs: 800 });
    assert.notEqual(body, request);
    assert.deepEqual(body, { type: 'put', key: 'k', value: 'v', waitMs: 800 });
    assert.deepEqual(request, { type: 'put', key: 'k', value: 'v' });
  });

  test('a forward carries no wait of the client: only forwarded', () => {
    const arrived: ClientRequest & KvRouting = { type: 'put', key: 'k', value: 'v', waitMs: 640 };
    assert.deepEqual(withRouting(arrived, { forwarded: true }), { type: 'put', key: 'k', value: 'v', forwarded: true });
    assert.deepEqual(arrived, { type: 'put', key: 'k', value: 'v', waitMs: 640 });
  });

  test('withoutRouting hands back a body without routing as it is, and otherwise the request alone', () => {
    const bare: ClientRequest = { type: 'put', key: 'k', value: 'v' };
    assert.equal(withoutRouting(bare), bare);
    const routed: ClientRequest & KvRouting = { type: 'put', key: 'k', value: 'v', lease: 7, waitMs: 640, forwarded: true };
    assert.deepEqual(withoutRouting(routed), { type: 'put', key: 'k', value: 'v', lease: 7 });
    assert.deepEqual(withoutRouting({ type: 'deleteRange', key: 'a', forwarded: false }), { type: 'deleteRange', key: 'a' });
  });

  test('routingWaitMs: the wait sent, never negative; none for a forwarded body or a wait that is not a finite number', () => {
    assert.equal(routingWaitMs({ type: 'range', key: 'k', waitMs: 800 }), 800);
    assert.equal(routingWaitMs({ type: 'range', key: 'k', waitMs: -5 }), 0);
    assert.equal(routingWaitMs({ type: 'range', key: 'k', waitMs: 800, forwarded: true }), 0);
    assert.equal(routingWaitMs({ type: 'range', key: 'k' }), 0);
    assert.equal(routingWaitMs({ type: 'range', key: 'k', waitMs: Number.POSITIVE_INFINITY }), 0);
    assert.equal(routingWaitMs({ type: 'range', key: 'k', waitMs: '800' as unknown as number }), 0);
  });

  test('a routed body crosses a frame with every field', () => {
    const body = withRouting(rangeRequest(3), { waitMs: 800 });
    const frame = new FrameEncoder().encode([{ to: 'etcd-0', from: 'driver', type: 'kv', corr: 1, body }]);
    const decoded = new FrameDecoder().decode(frame);
    assert.ok(decoded.ok);
    assert.deepEqual(decoded.envelopes[0]?.body, { type: 'range', key: '/g/3', rangeEnd: undefined, limit: undefined, revision: undefined, countOnly: undefined, keysOnly: undefined, serializable: true, waitMs: 800 });
  });

  test('bodies of one request shape share one hidden class however warm the code is, so the encoder stays on its fast path', () => {
    // The failure this pins (a spread then a new property): after warm-up V8 gave each body a class of its
    // own and msgpackr's for...in over it went 6x slower. %HaveSameMap reads what V8 did, not a clock.
    setFlagsFromString('--allow-natives-syntax');
    const sameHiddenClass = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;
    const bodies: object[] = [];
    for (let i = 0; i < 20_000; i++) bodies.push(withRouting(rangeRequest(i), { waitMs: 800 }));
    assert.ok(sameHiddenClass(bodies[0]!, bodies[19_999]!), 'the first and the last routed body differ in hidden class');
    assert.ok(sameHiddenClass(bodies[10_000]!, bodies[19_999]!), 'two warm routed bodies differ in hidden class');
  });

  test('addRouting gives a request made for one attempt its routing in place, and such bodies share one hidden class', () => {
    const request: ClientRequest & KvRouting = rangeRequest(1);
    assert.equal(addRouting(request, { waitMs: 800 }), request);
    assert.equal(request.waitMs, 800);
    assert.equal(routingWaitMs(request), 800);
    assert.deepEqual(withoutRouting(request), rangeRequest(1));
    setFlagsFromString('--allow-natives-syntax');
    const sameHiddenClass = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;
    const bodies: object[] = [];
    for (let i = 0; i < 20_000; i++) bodies.push(addRouting(rangeRequest(i), { waitMs: 800 }));
    assert.ok(sameHiddenClass(bodies[0]!, bodies[19_999]!), 'the first and the last body differ in hidden class');
    assert.ok(sameHiddenClass(bodies[10_000]!, bodies[19_999]!), 'two warm bodies differ in hidden class');
  });
});
