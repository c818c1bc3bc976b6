import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Scenario } from '../engine/types.js';
import { runScenario } from '../engine/run.js';
import { loadScenario, scenarioFiles } from '../engine/testing.js';
import { checkFailClosed, checkPolicyHeld, webhookSink, type WebhookSink } from './webhook.js';

const scenario = (): Scenario => loadScenario(scenarioFiles().find((f) => f.endsWith('/webhook-down-fail-closed.yaml'))!);
const explain = (run: Awaited<ReturnType<typeof runScenario>>) => run.outcome.checks.map((c) => `${c.verdict} ${c.name}: ${c.summary}`).join('\n');
const verdicts = (run: Awaited<ReturnType<typeof runScenario>>) => Object.fromEntries(run.outcome.checks.map((c) => [c.name, c.verdict]));

describe('admission webhook faults in the simulated runtime', () => {
  test('the broken variant is caught: with failurePolicy Ignore a dead webhook lets writes and forbidden objects through', async () => {
    const s = scenario();
    const run = await runScenario({ ...s, workload: { webhook: { ...s.workload.webhook, failurePolicy: 'Ignore' } } }, { seed: 1, runtime: 'simulated' });
    assert.deepEqual(verdicts(run), { 'webhook-fail-closed': 'fail', 'webhook-policy-held': 'fail' }, explain(run));
    assert.ok(webhookSink(run.state).storedForbidden.length > 0, 'forbidden objects were stored');
  });

  test('a webhook slower than its timeoutSeconds, or answering HTTP 500, blocks writes under Fail just as a dead one', async () => {
    for (const fault of [{ fault: 'webhook-slow', delayMs: 3_000 }, { fault: 'webhook-error', statusCode: 500 }]) {
      const s = scenario();
      const run = await runScenario({ ...s, nemesis: [{ atMs: 2_000, durationMs: 4_000, ...fault }] }, { seed: 2, runtime: 'simulated' });
      assert.equal(run.outcome.verdict, 'pass', `${fault.fault}\n${explain(run)}`);
      const refused = webhookSink(run.state).writes.filter((w) => !w.ok && (w.error ?? '').includes('failed calling webhook'));
      const expected = fault.fault === 'webhook-slow' ? /context deadline exceeded/ : /the server responded with the status code 500/;
      assert.ok(refused.length > 0 && refused.every((w) => expected.test(w.error ?? '')), `${fault.fault}: ${refused[0]?.error}`);
    }
  });

  test('the same seed replays the same writes and outcomes', async () => {
    const first = await runScenario(scenario(), { seed: 9, runtime: 'simulated' });
    const second = await runScenario(scenario(), { seed: 9, runtime: 'simulated' });
    assert.ok(webhookSink(first.state).writes.length > 20, 'writes were made');
    assert.deepEqual(webhookSink(second.state).writes, webhookSink(first.state).writes);
  });
});

describe('the webhook checks on their own', () => {
  const sink = (writes: WebhookSink['writes'], faults: WebhookSink['faults'] = [{ fault: 'webhook-down', fromMs: 1_000, untilMs: 2_000 }]): WebhookSink => ({ faults, writes, storedForbidden: [] });
  const refused = 'Internal error occurred: failed calling webhook "policy.chaos.kubethreads.io": failed to call webhook: ...';

  test('fail-closed cannot judge a run without a fault or without writes inside it', () => {
    assert.equal(checkFailClosed(sink([], []), 10_000, 5_000).verdict, 'unknown');
    assert.equal(checkFailClosed(sink([{ name: 'a', forbidden: false, invokeMs: 0, completeMs: 10, ok: true }]), 10_000, 5_000).verdict, 'unknown');
  });

  test('fail-closed fails on a write admitted during the fault, and on no recovery after the heal', () => {
    const admitted = sink([{ name: 'a', forbidden: false, invokeMs: 1_100, completeMs: 1_200, ok: true }]);
    assert.equal(checkFailClosed(admitted, 10_000, 5_000).verdict, 'fail');
    const neverBack = sink([
      { name: 'a', forbidden: false, invokeMs: 1_100, completeMs: 1_200, ok: false, error: refused },
      { name: 'b', forbidden: false, invokeMs: 2_500, completeMs: 2_600, ok: false, error: refused },
    ]);
    assert.match(checkFailClosed(neverBack, 10_000, 5_000).summary, /no write was admitted within 5000 ms/);
  });

  test('policy-held fails on a forbidden write acknowledged or stored', () => {
    assert.equal(checkPolicyHeld(sink([{ name: 'f', forbidden: true, invokeMs: 0, completeMs: 1, ok: false, error: 'denied the request' }])).verdict, 'pass');
    assert.equal(checkPolicyHeld(sink([{ name: 'f', forbidden: true, invokeMs: 0, completeMs: 1, ok: true }])).verdict, 'fail');
    assert.equal(checkPolicyHeld({ ...sink([{ name: 'f', forbidden: true, invokeMs: 0, completeMs: 1, ok: false }]), storedForbidden: ['f'] }).verdict, 'fail');
  });
});
