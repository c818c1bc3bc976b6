/**
 * API server benchmark: create, get and list throughput with p50 / p99 over
 * HTTPS (what kubectl and client libraries pay) and over actor messages
 * (what the cluster's components pay), and watch fan-out: one write, many
 * watchers, the delay until each watcher has the event. The apiserver actor
 * runs in a ThreadedSystem over the Raft-replicated store, as `kubethreads
 * up` runs it. Kubernetes' API call latency SLO is the anchor: mutating and
 * single-object calls p99 <= 1 s (list calls <= 30 s at cluster scope).
 */
import { Agent, request as httpsRequest } from 'node:https';
import { ThreadedSystem } from '../../src/actor/index.js';
import { apiServer } from '../../src/api/behaviour.js';
import type { ApiReply, ApiServerInfo, ApiServerMsg } from '../../src/api/protocol.js';
import { spawnEtcdGroup } from '../../src/kv/replica/group.js';
import { Progress } from '../lib/progress.js';
import { renderTable, type Row } from '../lib/report.js';
import { Latencies, round } from '../lib/stats.js';
import { apiDriver, benchPod, closedLoop, type DriverMsg, type DriverOp } from './driver.js';

export interface ApiServerBenchOptions {
  /** Store replicas (Raft group size). */
  replicas: number;
  /** Pods created per side; the gets read them back and the lists return them all. */
  creates: number;
  gets: number;
  lists: number;
  /** Calls in flight per side (a closed loop). */
  concurrency: number;
  /** Watchers of one object for the fan-out, and writes whose delivery is timed. */
  watchers: number;
  fanoutWrites: number;
}

export const defaultApiServerBenchOptions: ApiServerBenchOptions = { replicas: 3, creates: 2_000, gets: 5_000, lists: 100, concurrency: 16, watchers: 100, fanoutWrites: 50 };
export const quickApiServerBenchOptions: ApiServerBenchOptions = { replicas: 3, creates: 300, gets: 1_000, lists: 20, concurrency: 16, watchers: 100, fanoutWrites: 10 };

/** Kubernetes' SLO for mutating and single-object API calls: p99 <= 1 s. */
const SLO_SINGLE_OBJECT_MS = 1_000;
/** Kubernetes' SLO for namespace-scoped lists: p99 <= 5 s. */
const SLO_LIST_NAMESPACE_MS = 5_000;

export interface OpFigures {
  per_s: number;
  p50_ms: number;
  p99_ms: number;
}

/** JSON fields are an interface: one object per transport and operation. */
export interface ApiServerBenchResult {
  https: Record<'create' | 'get' | 'list' | 'list_cached', OpFigures>;
  actor: Record<'create' | 'get' | 'list' | 'list_cached', OpFigures>;
  fanout_https: { watchers: number; writes: number; p50_ms: number; p99_ms: number };
  fanout_actor: { watchers: number; writes: number; p50_ms: number; p99_ms: number };
  objects_per_list: number;
  replicas: number;
  concurrency: number;
  slo_single_object_p99_ms: number;
}

function figures(samplesUs: number[], elapsedMs: number): OpFigures {
  const latencies = new Latencies();
  for (const us of samplesUs) latencies.record(us);
  return { per_s: Math.round(samplesUs.length / (elapsedMs / 1000)), p50_ms: round(latencies.percentile(50) / 1000, 3), p99_ms: round(latencies.percentile(99) / 1000, 3) };
}

function delays(samplesUs: number[]): { p50_ms: number; p99_ms: number } {
  const latencies = new Latencies();
  for (const us of samplesUs) latencies.record(us);
  return { p50_ms: round(latencies.percentile(50) / 1000, 3), p99_ms: round(latencies.percentile(99) / 1000, 3) };
}

/** HTTPS calls with the admin token over keep-alive connections (one per call in flight, as a client library keeps them). */
function httpsClient(info: ApiServerInfo, sockets: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: sockets, ca: info.caPem });
  const call = (method: string, path: string, body?: unknown, contentType = 'application/json') => new Promise<unknown>((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = httpsRequest(`${info.url}${path}`, {
      method, agent,
      headers: { Authorization: `Bearer ${info.adminToken}`, Accept: 'application/json', ...(payload !== undefined ? { 'Content-Type': contentType } : {}) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if ((res.statusCode ?? 0) >= 300) reject(new Error(`${method} ${path}: ${res.statusCode} ${text.slice(0, 200)}`));
        else resolve(JSON.parse(text));
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
  return { call, close: () => agent.destroy() };
}

async function httpsOps(info: ApiServerInfo, options: ApiServerBenchOptions, progress: Progress): Promise<ApiServerBenchResult['https']> {
  const client = httpsClient(info, options.concurrency);
  const base = '/api/v1/namespaces/bench-https/pods';
  try {
    await client.call('POST', '/api/v1/namespaces', { metadata: { name: 'bench-https' } });
    const run = async (count: number, call: (i: number) => Promise<unknown>) => {
      const r = await closedLoop(count, options.concurrency, async (i) => void (await call(i)));
      return figures(r.samplesUs, r.elapsedMs);
    };
    const create = await run(options.creates, (i) => client.call('POST', base, benchPod(`pod-${i}`)));
    progress.step('https create');
    const get = await run(options.gets, (i) => client.call('GET', `${base}/pod-${i % options.creates}`));
    progress.step('https get');
    const list = await run(options.lists, () => client.call('GET', base));
    progress.step('https list');
    const listCached = await run(options.lists, () => client.call('GET', `${base}?resourceVersion=0`));
    progress.step('https list (watch cache)');
    return { create, get, list, list_cached: listCached };
  } finally {
    client.close();
  }
}

/** Watchers as HTTPS watch streams; the writer patches one pod and each stream's arrival is timed on this thread's clock. */
async function httpsFanout(info: ApiServerInfo, options: ApiServerBenchOptions): Promise<number[]> {
  const client = httpsClient(info, 4);
  const agent = new Agent({ keepAlive: true, maxSockets: options.watchers, ca: info.caPem });
  const base = '/api/v1/namespaces/bench-https/pods';
  const streams: { destroy(): void }[] = [];
  try {
    await client.call('POST', base, benchPod('fanout'));
    const list = (await client.call('GET', `${base}?fieldSelector=metadata.name%3Dfanout`)) as { metadata: { resourceVersion: string } };
    const arrivals = new Map<string, number[]>();
    await Promise.all(Array.from({ length: options.watchers }, () => new Promise<void>((resolve, reject) => {
      const req = httpsRequest(`${info.url}${base}?watch=true&fieldSelector=metadata.name%3Dfanout&resourceVersion=${list.metadata.resourceVersion}`, {
        agent, headers: { Authorization: `Bearer ${info.adminToken}`, Accept: 'application/json' },
      }, (res) => {
        let buffered = '';
        res.on('data', (chunk: Buffer) => {
          const now = performance.now();
          buffered += chunk.toString('utf8');
          let nl: number;
          while ((nl = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, nl);
            buffered = buffered.slice(nl + 1);
            const seq = (JSON.parse(line) as { object: { metadata: { labels?: Record<string, string> } } }).object.metadata.labels?.['bench-seq'];
            if (seq !== undefined) arrivals.get(seq)?.push(now);
          }
        });
        resolve();
      });
      req.on('error', (error) => (streams.length < options.watchers ? reject(error) : undefined));
      req.end();
      streams.push(req);
    })));
    const delaysUs: number[] = [];
    for (let s = 0; s < options.fanoutWrites; s++) {
      const seq = String(s);
      arrivals.set(seq, []);
      const t0 = performance.now();
      await client.call('PATCH', `${base}/fanout`, { metadata: { labels: { 'bench-seq': seq } } }, 'application/merge-patch+json');
      while (arrivals.get(seq)!.length < options.watchers) await new Promise((resolve) => setImmediate(resolve));
      for (const t of arrivals.get(seq)!) delaysUs.push((t - t0) * 1000);
    }
    return delaysUs;
  } finally {
    for (const s of streams) s.destroy();
    agent.destroy();
    client.close();
  }
}

async function actorOps(system: ThreadedSystem, options: ApiServerBenchOptions, progress: Progress): Promise<ApiServerBenchResult['actor']> {
  const created = await system.ref<ApiServerMsg>('apiserver').ask<ApiReply>({ type: 'api.create', body: { group: '', version: 'v1', resource: 'namespaces', object: { metadata: { name: 'bench-actor' } } } });
  if (!created.ok) throw new Error(`could not create the bench namespace: ${created.status.message}`);
  const driver = system.ref<DriverMsg>('bench-driver');
  const run = async (op: DriverOp, count: number) => {
    const r = await driver.ask<{ samplesUs: number[]; elapsedMs: number }>(
      { type: 'run', body: { op, namespace: 'bench-actor', count, concurrency: options.concurrency, objects: options.creates } },
      { timeoutMs: 600_000 },
    );
    return figures(r.samplesUs, r.elapsedMs);
  };
  const create = await run('create', options.creates);
  progress.step('actor create');
  const get = await run('get', options.gets);
  progress.step('actor get');
  const list = await run('list', options.lists);
  progress.step('actor list');
  const listCached = await run('listCached', options.lists);
  progress.step('actor list (watch cache)');
  return { create, get, list, list_cached: listCached };
}

export async function runApiServerBench(options: ApiServerBenchOptions = defaultApiServerBenchOptions): Promise<{ result: ApiServerBenchResult; table: string }> {
  const progress = new Progress(12, 'bench apiserver');
  const system = new ThreadedSystem({ seed: 1, logLevel: 'warn' });
  try {
    const group = await spawnEtcdGroup(system, { replicas: options.replicas });
    await system.spawn(apiServer, { name: 'apiserver', args: { kv: { kind: 'replicated', options: { replicas: group.names } }, http: { port: 0 } } });
    const info = await system.ref<ApiServerMsg>('apiserver').ask<ApiServerInfo>({ type: 'api.info', body: null }, { timeoutMs: 60_000 });
    await system.spawn(apiDriver, { name: 'bench-driver' });
    progress.step('cluster up');
    const https = await httpsOps(info, options, progress);
    const actor = await actorOps(system, options, progress);
    const fanoutHttps = delays(await httpsFanout(info, options));
    progress.step('https watch fan-out');
    const fanoutActor = delays((await system.ref<DriverMsg>('bench-driver').ask<{ delaysUs: number[] }>(
      { type: 'fanout', body: { namespace: 'bench-actor', watchers: options.watchers, writes: options.fanoutWrites } },
      { timeoutMs: 600_000 },
    )).delaysUs);
    progress.step('actor watch fan-out');
    const result: ApiServerBenchResult = {
      https, actor,
      fanout_https: { watchers: options.watchers, writes: options.fanoutWrites, ...fanoutHttps },
      fanout_actor: { watchers: options.watchers, writes: options.fanoutWrites, ...fanoutActor },
      objects_per_list: options.creates,
      replicas: options.replicas,
      concurrency: options.concurrency,
      slo_single_object_p99_ms: SLO_SINGLE_OBJECT_MS,
    };
    return { result, table: render(result) };
  } finally {
    await system.shutdown();
  }
}

function render(r: ApiServerBenchResult): string {
  const rows: Row[] = [];
  const op = (label: string, key: keyof ApiServerBenchResult['https'], slo: number, note: string) => {
    for (const [side, f] of [['https', r.https[key]], ['actor', r.actor[key]]] as const) {
      rows.push({ name: `${label} over ${side}: rate`, ours: f.per_s, unit: 'calls/s', note: side === 'https' ? note : '' });
      rows.push({ name: `${label} over ${side}: p50`, ours: f.p50_ms, baseline: slo, ratio: round(f.p50_ms / slo, 4), unit: 'ms' });
      rows.push({ name: `${label} over ${side}: p99`, ours: f.p99_ms, baseline: slo, ratio: round(f.p99_ms / slo, 4), unit: 'ms', note: f.p99_ms <= slo ? 'within SLO' : 'OVER SLO' });
    }
  };
  op('create pod', 'create', SLO_SINGLE_OBJECT_MS, 'mutating: SLO p99 <= 1 s');
  op('get pod', 'get', SLO_SINGLE_OBJECT_MS, 'single object: SLO p99 <= 1 s');
  op(`list ${r.objects_per_list} pods (store)`, 'list', SLO_LIST_NAMESPACE_MS, 'namespace list: SLO p99 <= 5 s');
  op(`list ${r.objects_per_list} pods (cache, RV=0)`, 'list_cached', SLO_LIST_NAMESPACE_MS, 'what informers list');
  for (const [side, f] of [['https', r.fanout_https], ['actor', r.fanout_actor]] as const) {
    rows.push({ name: `watch fan-out over ${side}: p50`, ours: f.p50_ms, unit: 'ms', note: `1 write, ${f.watchers} watchers, ${f.writes} writes` });
    rows.push({ name: `watch fan-out over ${side}: p99`, ours: f.p99_ms, unit: 'ms' });
  }
  return renderTable(
    `apiserver: ${r.replicas}-replica Raft store, ${r.concurrency} calls in flight; SLO column = Kubernetes' API call latency SLO, ratio = ours / SLO`,
    rows,
    'SLO',
  );
}
