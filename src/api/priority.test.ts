import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApiError } from './errors.js';
import type { Pod, PriorityClass } from './types/index.js';
import { ADMIN, startHandlers } from './testing.js';

const PC = { group: 'scheduling.k8s.io', version: 'v1', resource: 'priorityclasses' };
const PODS = { group: '', version: 'v1', resource: 'pods', namespace: 'default' };

function pod(name: string, spec: Record<string, unknown> = {}) {
  return { metadata: { name }, spec: { containers: [{ name: 'c', image: 'i' }], ...spec } };
}

function refused(code: number, message: string) {
  return (e: unknown) => e instanceof ApiError && e.status.code === code && e.status.message === message;
}

async function setup() {
  const { handlers } = await startHandlers();
  const createClass = (body: Record<string, unknown>) => handlers.handle({ ...PC, verb: 'create', body }, ADMIN);
  const createPod = async (name: string, spec: Record<string, unknown> = {}) => (await handlers.handle({ ...PODS, verb: 'create', body: pod(name, spec) }, ADMIN)).body as Pod;
  return { handlers, createClass, createPod };
}

describe('PriorityClass and the Priority admission plugin', () => {
  test('the two system classes exist from the start with Kubernetes\' values and cannot be deleted', async () => {
    const { handlers } = await setup();
    const node = (await handlers.handle({ ...PC, verb: 'get', name: 'system-node-critical' }, ADMIN)).body as PriorityClass;
    const cluster = (await handlers.handle({ ...PC, verb: 'get', name: 'system-cluster-critical' }, ADMIN)).body as PriorityClass;
    assert.equal(node.value, 2000001000);
    assert.equal(cluster.value, 2000000000);
    assert.equal(cluster.preemptionPolicy, 'PreemptLowerPriority');
    await assert.rejects(handlers.handle({ ...PC, verb: 'delete', name: 'system-node-critical' }, ADMIN),
      refused(403, 'priorityclasses.scheduling.k8s.io "system-node-critical" is forbidden: this is a system priority class and cannot be deleted'));
    handlers.stop();
  });

  test('a pod gets spec.priority and preemptionPolicy from its class', async () => {
    const { handlers, createClass, createPod } = await setup();
    await createClass({ metadata: { name: 'high' }, value: 1000, preemptionPolicy: 'Never' });
    const p = await createPod('web', { priorityClassName: 'high' });
    assert.equal(p.spec?.priority, 1000);
    assert.equal(p.spec?.preemptionPolicy, 'Never');
    const critical = await createPod('dns', { priorityClassName: 'system-cluster-critical' });
    assert.equal(critical.spec?.priority, 2000000000);
    handlers.stop();
  });

  test('without a class a pod gets the global default, or priority 0 when there is none', async () => {
    const { handlers, createClass, createPod } = await setup();
    const plain = await createPod('plain');
    assert.equal(plain.spec?.priority, 0);
    assert.equal(plain.spec?.preemptionPolicy, 'PreemptLowerPriority');
    assert.equal(plain.spec?.priorityClassName, undefined);
    await createClass({ metadata: { name: 'normal' }, value: 50, globalDefault: true });
    const defaulted = await createPod('defaulted');
    assert.equal(defaulted.spec?.priority, 50);
    assert.equal(defaulted.spec?.priorityClassName, 'normal');
    handlers.stop();
  });

  test('an unknown class and a disagreeing priority are refused with Kubernetes\' messages', async () => {
    const { handlers, createClass, createPod } = await setup();
    await assert.rejects(createPod('lost', { priorityClassName: 'nope' }), refused(403, 'pods "lost" is forbidden: no PriorityClass with name nope was found'));
    await createClass({ metadata: { name: 'high' }, value: 1000 });
    await assert.rejects(createPod('liar', { priorityClassName: 'high', priority: 7 }),
      refused(403, 'pods "liar" is forbidden: the integer value of priority (7) must not be provided in pod spec; priority admission controller computed 1000 from the given PriorityClass name'));
    const agreeing = await createPod('honest', { priorityClassName: 'high', priority: 1000 });
    assert.equal(agreeing.spec?.priority, 1000);
    handlers.stop();
  });

  test('an update that omits the priority keeps the one admission set', async () => {
    const { handlers, createClass, createPod } = await setup();
    await createClass({ metadata: { name: 'high' }, value: 1000, preemptionPolicy: 'Never' });
    const created = await createPod('web', { priorityClassName: 'high' });
    const { priority: _p, preemptionPolicy: _pp, ...spec } = created.spec!;
    const replaced = (await handlers.handle({ ...PODS, verb: 'update', name: 'web', body: { ...created, spec: { ...spec, activeDeadlineSeconds: 60 } } }, ADMIN)).body as Pod;
    assert.equal(replaced.spec?.priority, 1000);
    assert.equal(replaced.spec?.preemptionPolicy, 'Never');
    assert.equal(replaced.spec?.activeDeadlineSeconds, 60);
    handlers.stop();
  });

  test('only one class may be the global default', async () => {
    const { handlers, createClass } = await setup();
    await createClass({ metadata: { name: 'first' }, value: 10, globalDefault: true });
    await assert.rejects(createClass({ metadata: { name: 'second' }, value: 20, globalDefault: true }),
      refused(403, 'priorityclasses.scheduling.k8s.io "second" is forbidden: PriorityClass first is already marked as default. Only one default can exist'));
    handlers.stop();
  });

  test('validation: user values above one billion, unknown system- names, bad policies, and changing the value', async () => {
    const { handlers, createClass } = await setup();
    const invalid = (field: string, text: RegExp) => (e: unknown) =>
      e instanceof ApiError && e.status.code === 422 && (e.status.details?.causes ?? []).some((c) => c.field === field && text.test(c.message ?? ''));
    await assert.rejects(createClass({ metadata: { name: 'huge' }, value: 1_000_000_001 }), invalid('value', /maximum allowed value of a user defined priority is 1000000000/));
    await assert.rejects(createClass({ metadata: { name: 'system-mine' }, value: 5 }), invalid('metadata.name', /reserved for system use only\. error: system-mine is not a known system priority class/));
    await assert.rejects(createClass({ metadata: { name: 'odd' }, value: 5, preemptionPolicy: 'Sometimes' }), invalid('preemptionPolicy', /Unsupported value: "Sometimes"/));
    const created = (await createClass({ metadata: { name: 'fixed' }, value: 5 })).body as PriorityClass;
    await assert.rejects(handlers.handle({ ...PC, verb: 'update', name: 'fixed', body: { ...created, value: 6 } }, ADMIN), invalid('value', /may not be changed in an update/));
    handlers.stop();
  });
});
