import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Node, Pod } from '../api/types/index.js';
import { VirtualClock } from '../client/clock.js';
import { Informer } from '../client/informer.js';
import { FakeApi } from '../client/testing/fake-api.js';
import { componentRegistry } from '../metrics/index.js';
import { SchedulerMetrics } from './metrics.js';
import { Scheduler, type Binder } from './scheduler.js';
import { makeNode, makePod } from './testing.js';

/** The value of one sample, whatever the order its labels are printed in. */
function value(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^(\w+)\{(.*)\} (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const have = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.keys(have).length === Object.keys(labels).length && Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

test('attempts are counted by result and profile, timed through binding, and pending pods reported per queue', async () => {
  const clock = new VirtualClock(0, 3);
  const api = new FakeApi();
  // The binding takes 30 ms of the scheduler's clock: the attempt's duration includes it, as Kubernetes times it.
  const binder: Binder = {
    bind: async (pod, nodeName) => {
      await new Promise<void>((resolve) => clock.timer(`bind/${pod.metadata.name}`, 30, resolve));
      const current = api.getNow<Pod>('pods', `${pod.metadata.namespace}/${pod.metadata.name}`)!;
      api.updateNow('pods', { ...current, spec: { ...current.spec!, nodeName } });
    },
  };
  const registry = componentRegistry('scheduler-0');
  const podInformer = new Informer<Pod>({ name: 'pods', clock, listWatcher: api.listWatcher<Pod>('pods') });
  const nodeInformer = new Informer<Node>({ name: 'nodes', clock, listWatcher: api.listWatcher<Node>('nodes') });
  const metrics: SchedulerMetrics = new SchedulerMetrics(registry, 'default-scheduler', () => scheduler.queue.counts());
  const scheduler: Scheduler = new Scheduler({ clock, podInformer, nodeInformer, binder, metrics, recorder: { event: () => undefined } });
  podInformer.start();
  nodeInformer.start();
  scheduler.start();
  api.createNow('nodes', makeNode('n1', { cpu: '2' }));
  api.createNow('pods', makePod('fits', { cpu: '1' }));
  api.createNow('pods', makePod('too-big', { cpu: '4' }));
  await clock.advance(1_000);

  const text = await registry.metrics();
  const of = (result: string) => ({ result, profile: 'default-scheduler', component: 'scheduler-0' });
  assert.equal(value(text, 'scheduler_schedule_attempts_total', of('scheduled')), 1);
  assert.equal(value(text, 'scheduler_schedule_attempts_total', of('unschedulable')), 1);
  assert.equal(value(text, 'scheduler_schedule_attempts_total', of('error')), 0);
  assert.equal(value(text, 'scheduler_scheduling_attempt_duration_seconds_sum', of('scheduled')), 0.03, 'scheduling plus the 30 ms binding');
  assert.equal(value(text, 'scheduler_e2e_scheduling_duration_seconds_count', of('scheduled')), 1);
  assert.equal(value(text, 'scheduler_pod_scheduling_sli_duration_seconds_count', { attempts: '1', component: 'scheduler-0' }), 1);
  assert.equal(value(text, 'scheduler_pending_pods', { queue: 'unschedulable', component: 'scheduler-0' }), 1, 'too-big waits');
  assert.equal(value(text, 'scheduler_pending_pods', { queue: 'active', component: 'scheduler-0' }), 0);
  await scheduler.stop();
});
