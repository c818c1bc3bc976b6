/**
 * Admission webhooks under chaos: a validating webhook that holds a policy
 * (no ConfigMap labelled `forbidden: "true"`), faults that break it (down,
 * slow past its timeoutSeconds, answering HTTP errors), a workload that
 * writes ConfigMaps through it, and checks of what a webhook's
 * failurePolicy promises:
 *
 * - `webhook-fail-closed`: with failurePolicy Fail, every write made while
 *   the webhook was broken is refused with `failed calling webhook` (the API
 *   is blocked), and writes are admitted again soon after it heals;
 * - `webhook-policy-held`: no write the webhook would deny was ever stored
 *   (with failurePolicy Ignore a broken webhook lets them through).
 *
 * The webhook is the message-level stand-in of an HTTPS endpoint (an actor
 * the API server asks: src/api/admission/webhook/actor-caller.ts), so runs
 * replay byte for byte in the simulated runtime. The real HTTPS path, with
 * the same faults, is tested with kubectl in src/api/http/webhook-kubectl.test.ts.
 */
import { defineBehaviour, unhandled } from '../../actor/behaviour.js';
import type { Message } from '../../actor/protocol.js';
import { apiServer } from '../../api/behaviour.js';
import type { ApiReply, ApiServerMsg } from '../../api/protocol.js';
import type { WebhookCallMsg } from '../../api/admission/webhook/actor-caller.js';
import type { WebhookCallResult } from '../../api/admission/webhook/caller.js';
import type { AdmissionReview, ConfigMap, List } from '../../api/types/index.js';
import { cloudSleeper } from './cloud.js';
import type { CheckPlugin, CheckResult, Injection, NemesisPlugin, RequestRecord, RunData, RunState, WorkloadPlugin } from '../engine/types.js';

export const WEBHOOK_ACTOR = 'admission-webhook';
const WEBHOOK_NAME = 'policy.chaos.kubethreads.io';
const NAMESPACE = 'default';
const FORBIDDEN_LABEL = 'forbidden';
/** The stand-in's URL: recorded in the configuration and in errors, never dialled. */
const WEBHOOK_URL = 'https://admission-webhook.chaos.svc:443/validate';
const SLEEPER = 'webhook-chaos-sleeper';

// ------------------------------------------------------------ the webhook

type Mode = { kind: 'up' } | { kind: 'down' } | { kind: 'slow'; delayMs: number } | { kind: 'error'; statusCode: number };
type WebhookMsg = WebhookCallMsg | Message<'webhook.mode', Mode> | Message<'webhook.answer', { seq: number }>;

/** The webhook: denies ConfigMaps labelled forbidden=true, allows the rest; its mode is the nemeses' to set. */
export const chaosWebhook = defineBehaviour<WebhookMsg>(import.meta.url, 'chaos-admission-webhook', (ctx) => {
  let mode: Mode = { kind: 'up' };
  const late = new Map<number, () => void>();
  let seq = 0;
  const answer = (body: string): WebhookCallResult => {
    let review: AdmissionReview;
    try {
      review = JSON.parse(body) as AdmissionReview;
    } catch {
      return { ok: true, statusCode: 400, body: 'not JSON' };
    }
    const uid = review.request?.uid ?? '';
    const labels = (review.request?.object as ConfigMap | null)?.metadata?.labels ?? {};
    const allowed = labels[FORBIDDEN_LABEL] !== 'true';
    const response = allowed ? { uid, allowed } : { uid, allowed, status: { message: 'objects labelled forbidden=true are not allowed' } };
    return { ok: true, statusCode: 200, body: JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response }) };
  };
  return {
    receive(msg) {
      switch (msg.type) {
        case 'webhook.mode':
          mode = msg.body;
          return null;
        case 'webhook.answer':
          late.get(msg.body.seq)?.();
          late.delete(msg.body.seq);
          return undefined;
        case 'webhook.call': {
          const url = msg.body.url;
          switch (mode.kind) {
            case 'up': return answer(msg.body.body);
            // What the HTTPS caller reports for a closed port.
            case 'down': return { ok: false, message: `Post "${url}": dial tcp 10.96.0.53:443: connect: connection refused` } satisfies WebhookCallResult;
            case 'error': return { ok: true, statusCode: mode.statusCode, body: '' } satisfies WebhookCallResult;
            case 'slow': {
              const n = ++seq;
              const body = msg.body.body;
              return new Promise<WebhookCallResult>((resolve) => {
                late.set(n, () => resolve(answer(body)));
                ctx.timer(`answer/${n}`, (mode as { delayMs: number }).delayMs, { type: 'webhook.answer', body: { seq: n } });
              });
            }
          }
          return undefined;
        }
        default:
          return unhandled;
      }
    },
  };
});

// ------------------------------------------------------------ shared state

interface WriteRecord {
  name: string;
  forbidden: boolean;
  invokeMs: number;
  completeMs: number;
  ok: boolean;
  error?: string;
}

/** One run's webhook plugins share this: the nemeses' fault windows, the workload's writes and final objects. */
export interface WebhookSink {
  failurePolicy?: 'Fail' | 'Ignore';
  /** Ms from the origin. */
  faults: { fault: string; fromMs: number; untilMs?: number }[];
  writes: WriteRecord[];
  /** ConfigMaps labelled forbidden found stored at the end. */
  storedForbidden: string[];
}

export function webhookSink(state: RunState): WebhookSink {
  return state.get<WebhookSink>('webhook', () => ({ faults: [], writes: [], storedForbidden: [] }));
}

// ------------------------------------------------------------ nemeses

function modeFault(name: string, description: string, schema: Record<string, unknown>, mode: (p: Record<string, unknown>) => Mode): NemesisPlugin {
  return {
    name, description, schema, needsDuration: true,
    async inject(env, params): Promise<Injection> {
      const webhook = env.system.ref<WebhookMsg>(WEBHOOK_ACTOR);
      const set = mode(params);
      await webhook.ask({ type: 'webhook.mode', body: set }, { timeoutMs: 10_000 });
      const window: WebhookSink['faults'][number] = { fault: name, fromMs: env.elapsedMs() };
      webhookSink(env.state).faults.push(window);
      return {
        nodes: [WEBHOOK_ACTOR],
        description: `${description} (${WEBHOOK_NAME})`,
        heal: async () => {
          await webhook.ask({ type: 'webhook.mode', body: { kind: 'up' } }, { timeoutMs: 10_000 });
          window.untilMs = env.elapsedMs();
        },
      };
    },
  };
}

export function webhookNemeses(): NemesisPlugin[] {
  return [
    modeFault('webhook-down', 'the admission webhook refuses connections', { properties: {} }, () => ({ kind: 'down' })),
    modeFault('webhook-slow', 'the admission webhook answers after delayMs, past its timeoutSeconds', {
      properties: { delayMs: { type: 'number', minimum: 0, description: 'how late each answer is (default 5000)' } },
    }, (p) => ({ kind: 'slow', delayMs: typeof p.delayMs === 'number' ? p.delayMs : 5_000 })),
    modeFault('webhook-error', 'the admission webhook answers an HTTP error instead of an AdmissionReview', {
      properties: { statusCode: { type: 'integer', minimum: 400, maximum: 599, description: 'the status it answers (default 500)' } },
    }, (p) => ({ kind: 'error', statusCode: typeof p.statusCode === 'number' ? p.statusCode : 500 })),
  ];
}

// ------------------------------------------------------------ workload

interface WebhookWorkloadSpec {
  failurePolicy?: 'Fail' | 'Ignore';
  timeoutSeconds?: number;
  everyMs?: number;
  forbiddenEvery?: number;
}

function webhookWorkload(): WorkloadPlugin<WebhookWorkloadSpec> {
  return {
    name: 'webhook',
    description: 'the API server over the store with a validating admission webhook; ConfigMaps written through it during the run, some the webhook forbids',
    schema: {
      type: 'object',
      additionalProperties: false,
      description: 'writes through a validating admission webhook (its faults: webhook-down, webhook-slow, webhook-error)',
      properties: {
        failurePolicy: { enum: ['Fail', 'Ignore'], description: 'the webhook\'s failurePolicy (default Fail)' },
        timeoutSeconds: { type: 'integer', minimum: 1, maximum: 30, description: 'the webhook\'s timeoutSeconds (default 1)' },
        everyMs: { type: 'number', minimum: 10, description: 'one ConfigMap create every this many ms (default 200)' },
        forbiddenEvery: { type: 'integer', minimum: 1, description: 'every Nth ConfigMap is labelled forbidden=true (default 4)' },
      },
    },
    async prepare(env, spec) {
      const sink = webhookSink(env.state);
      sink.failurePolicy = spec.failurePolicy ?? 'Fail';
      await env.system.spawn(chaosWebhook, { name: WEBHOOK_ACTOR });
      // Waits on the system's clock (virtual or real) between attempts.
      await env.system.spawn(cloudSleeper, { name: SLEEPER });
      await env.system.spawn(apiServer, { name: 'apiserver', args: { kv: { kind: 'replicated', options: { replicas: [...env.replicas] } }, http: false, webhookActor: WEBHOOK_ACTOR } });
      const api = env.system.ref<ApiServerMsg>('apiserver');
      const configuration = {
        apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name: 'chaos-policy' },
        webhooks: [{
          name: WEBHOOK_NAME, clientConfig: { url: WEBHOOK_URL }, failurePolicy: sink.failurePolicy, timeoutSeconds: spec.timeoutSeconds ?? 1,
          sideEffects: 'None', admissionReviewVersions: ['v1'],
          rules: [{ operations: ['CREATE', 'UPDATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps'] }],
        }],
      };
      // The store may still be electing its first leader: retry until the configuration is in.
      for (let attempt = 0; ; attempt++) {
        const reply = await env.settle(api.ask<ApiReply>({ type: 'api.create', body: { group: 'admissionregistration.k8s.io', version: 'v1', resource: 'validatingwebhookconfigurations', object: configuration } }, { timeoutMs: 10_000 }).catch(() => undefined));
        if (reply?.ok || (reply !== undefined && !reply.ok && reply.status.reason === 'AlreadyExists')) break;
        if (attempt >= 50) throw new Error(`the webhook configuration could not be created: ${reply === undefined ? 'no answer' : reply.ok ? '' : reply.status.message}`);
        await env.settle(env.system.ref(SLEEPER).ask({ type: 'sleep', body: { ms: 200 } }, { timeoutMs: 10_000 }));
      }
      return {
        actors: ['apiserver', WEBHOOK_ACTOR, SLEEPER],
        start(ctx) {
          const everyMs = spec.everyMs ?? 200;
          const forbiddenEvery = spec.forbiddenEvery ?? 4;
          const requests: RequestRecord[] = [];
          let i = 0;
          for (let t = 0; t < ctx.untilMs; t += everyMs) {
            ctx.env.schedule(t, 'create configmap', async () => {
              const n = i++;
              const forbidden = n % forbiddenEvery === forbiddenEvery - 1;
              const name = `cm-${n}`;
              const invokeMs = env.system.now();
              const object = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: NAMESPACE, labels: forbidden ? { [FORBIDDEN_LABEL]: 'true' } : {} } };
              const reply = await api.ask<ApiReply>({ type: 'api.create', body: { group: '', version: 'v1', resource: 'configmaps', namespace: NAMESPACE, object } }, { timeoutMs: 15_000 })
                .catch((error: Error) => ({ ok: false as const, status: { message: error.message } }));
              const completeMs = env.system.now();
              const error = reply.ok ? undefined : String((reply.status as { message?: string }).message ?? 'failed');
              // A denial of a forbidden object is the webhook working: the API answered, so it counts as available.
              const denied = error !== undefined && error.includes('denied the request');
              requests.push({ kind: 'api', process: 'webhook-writer', target: 'create configmaps', class: 'mutating', invokeMs, completeMs, ok: reply.ok || denied, ...(error === undefined ? {} : { error }) });
              sink.writes.push({ name, forbidden, invokeMs: invokeMs - env.originMs, completeMs: completeMs - env.originMs, ok: reply.ok, ...(error === undefined ? {} : { error }) });
            });
          }
          return {
            actors: [],
            async finish() {
              const reply = await env.settle(api.ask<ApiReply<List<ConfigMap>>>({ type: 'api.list', body: { group: '', version: 'v1', resource: 'configmaps', namespace: NAMESPACE } }, { timeoutMs: 10_000 }));
              if (!reply.ok) throw new Error(`the ConfigMaps could not be listed at the end: ${reply.status.message}`);
              sink.storedForbidden = reply.body.items.filter((c) => c.metadata.labels?.[FORBIDDEN_LABEL] === 'true').map((c) => c.metadata.name ?? '');
              return { requests };
            },
          };
        },
      };
    },
  };
}

// ------------------------------------------------------------ checks

/** Writes whose whole call lay inside a fault window: the webhook was broken for all of it. */
function duringFaults(sink: WebhookSink, endMs: number): WriteRecord[] {
  return sink.writes.filter((w) => sink.faults.some((f) => w.invokeMs >= f.fromMs && w.completeMs <= (f.untilMs ?? endMs)));
}

export function checkFailClosed(sink: WebhookSink, endMs: number, recoverMs: number): CheckResult {
  const name = 'webhook-fail-closed';
  if (sink.faults.length === 0) return { name, verdict: 'unknown', summary: 'no webhook fault was injected: nothing to judge' };
  const during = duringFaults(sink, endMs);
  if (during.length === 0) return { name, verdict: 'unknown', summary: 'no write was made while the webhook was broken' };
  const problems: string[] = [];
  const admitted = during.filter((w) => w.ok);
  if (admitted.length > 0) problems.push(`${admitted.length} of ${during.length} writes made while the webhook was broken were admitted (${admitted.slice(0, 3).map((w) => w.name).join(', ')}...)`);
  const otherErrors = during.filter((w) => !w.ok && !(w.error ?? '').includes(`failed calling webhook "${WEBHOOK_NAME}"`));
  if (otherErrors.length > 0) problems.push(`${otherErrors.length} refused for another reason: ${otherErrors[0]!.error}`);
  for (const fault of sink.faults) {
    if (fault.untilMs === undefined) continue;
    const after = sink.writes.filter((w) => w.invokeMs >= fault.untilMs! && !w.forbidden);
    const firstOk = after.find((w) => w.ok);
    if (after.length > 0 && (firstOk === undefined || firstOk.completeMs - fault.untilMs > recoverMs)) {
      problems.push(`after ${fault.fault} healed at ${Math.round(fault.untilMs)} ms no write was admitted within ${recoverMs} ms`);
    }
  }
  return {
    name, verdict: problems.length === 0 ? 'pass' : 'fail',
    summary: problems.length === 0 ? `all ${during.length} writes made while the webhook was broken were refused with failed calling webhook; writes were admitted again after it healed` : problems.join('; '),
    details: { during: during.length, admitted: admitted.map((w) => w.name) },
  };
}

export function checkPolicyHeld(sink: WebhookSink): CheckResult {
  const name = 'webhook-policy-held';
  const forbidden = sink.writes.filter((w) => w.forbidden);
  if (forbidden.length === 0) return { name, verdict: 'unknown', summary: 'no forbidden object was written: nothing to judge' };
  const acknowledged = forbidden.filter((w) => w.ok).map((w) => w.name);
  const stored = sink.storedForbidden;
  const ok = acknowledged.length === 0 && stored.length === 0;
  return {
    name, verdict: ok ? 'pass' : 'fail',
    summary: ok ? `none of the ${forbidden.length} forbidden objects was admitted` : `the webhook's policy was bypassed: ${acknowledged.length} forbidden writes acknowledged, ${stored.length} forbidden objects stored (${[...new Set([...acknowledged, ...stored])].slice(0, 5).join(', ')})`,
    details: { acknowledged, stored },
  };
}

function webhookChecks(): CheckPlugin[] {
  return [
    {
      name: 'webhook-fail-closed',
      description: 'with failurePolicy Fail, writes made while the webhook is broken are refused (failed calling webhook), and admitted again after it heals',
      schema: { properties: { recoverMs: { type: 'number', minimum: 0, description: 'how soon after the heal a write must be admitted again (default 5000)' } } },
      run: async (data: RunData, params) => checkFailClosed(webhookSink(data.state), data.scenario.durationMs, typeof params.recoverMs === 'number' ? params.recoverMs : 5_000),
    },
    {
      name: 'webhook-policy-held',
      description: 'no object the webhook denies was ever admitted or stored, whatever happened to the webhook',
      schema: { properties: {} },
      run: async (data: RunData) => checkPolicyHeld(webhookSink(data.state)),
    },
  ];
}

/** Add the webhook plugins to an engine registry (structurally typed, so this module needs only the engine's types). */
export function registerWebhookPlugins(registry: {
  registerWorkload<S>(plugin: WorkloadPlugin<S>): void;
  registerNemesis(plugin: NemesisPlugin): void;
  registerCheck(plugin: CheckPlugin): void;
}): void {
  registry.registerWorkload(webhookWorkload());
  for (const n of webhookNemeses()) registry.registerNemesis(n);
  for (const c of webhookChecks()) registry.registerCheck(c);
}

