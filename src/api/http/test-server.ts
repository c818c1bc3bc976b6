/** Starts the HTTPS API server over a LocalKvClient with a kubeconfig, for tests that run the real kubectl. */
import { execFile } from 'node:child_process';
import { request as httpsRequest } from 'node:https';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalKvClient } from '../../kv/client/local-client.js';
import { TokenAuthenticator, unionAuthenticator } from '../auth.js';
import { ApiHandlers } from '../handlers.js';
import { seededRandom } from '../testing.js';
import { ApiHttpServer, type ApiHttpServerOptions } from './server.js';
import { httpsWebhookCaller } from './webhook-client.js';
import { generateTls, kubeconfig, type TlsMaterial } from './tls.js';

import { KUBECTL } from '../../testing/tools.js';

export { KUBECTL };

let sharedTls: TlsMaterial | undefined;

export interface TestCluster {
  url: string;
  /** The cluster CA, for clients made in the test (client-node with another user's token). */
  caPem: string;
  token: string;
  dir: string;
  handlers: ApiHandlers;
  kv: LocalKvClient;
  server: ApiHttpServer;
  kubectl(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }>;
  /** A raw HTTPS request with the admin token (or `token: null` for none). */
  request(method: string, path: string, options?: { body?: string | Buffer; contentType?: string; token?: string | null; accept?: string; headers?: Record<string, string> }): Promise<{ status: number; contentType: string; body: string; json(): any; headers: Record<string, string | string[] | undefined> }>;
  /** GET a stream (a watch) with the admin token: its status and first `lines` lines, then hang up. */
  streamLines(path: string, lines: number): Promise<{ status: number; lines: string[] }>;
  close(): Promise<void>;
}

export async function startTestCluster(options: { flowControl?: ApiHttpServerOptions['flowControl'] } = {}): Promise<TestCluster> {
  sharedTls ??= generateTls();
  const now = () => Date.now();
  const kv = new LocalKvClient({ now });
  const handlers = new ApiHandlers({ kv, now, random: seededRandom(7), webhookCaller: httpsWebhookCaller });
  await handlers.start();
  const token = 'admin-token-for-tests';
  const authenticator = unionAuthenticator([
    new TokenAuthenticator([
      { token, user: 'admin', groups: ['system:masters'] },
      { token: 'scheduler-token', user: 'system:kube-scheduler', groups: [] },
    ]),
    handlers.serviceAccountAuthenticator(),
  ]);
  const server = new ApiHttpServer({ handlers, authenticator, tls: sharedTls, now, onInternalError: (e) => console.error('internal error', e), ...(options.flowControl === undefined ? {} : { flowControl: options.flowControl }) });
  const { url } = await server.start();
  const dir = mkdtempSync(join(tmpdir(), 'kubethreads-kubectl-'));
  writeFileSync(join(dir, 'kubeconfig'), kubeconfig(url, sharedTls.caPem, token));
  const kubectl = (args: string[], input?: string) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(KUBECTL, ['--kubeconfig', join(dir, 'kubeconfig'), '--cache-dir', join(dir, 'cache'), ...args], { timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
    if (input !== undefined) child.stdin!.end(input);
  });
  const request = (method: string, path: string, o: { body?: string | Buffer; contentType?: string; token?: string | null; accept?: string; headers?: Record<string, string> } = {}) =>
    new Promise<{ status: number; contentType: string; body: string; json(): any; headers: Record<string, string | string[] | undefined> }>((resolve, reject) => {
      const headers: Record<string, string> = { Accept: o.accept ?? 'application/json', ...o.headers };
      const auth = o.token === undefined ? token : o.token;
      if (auth !== null) headers.Authorization = `Bearer ${auth}`;
      if (o.body !== undefined) headers['Content-Type'] = o.contentType ?? 'application/json';
      const req = httpsRequest(`${url}${path}`, { method, headers, ca: sharedTls!.caPem }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'] ?? '', body, json: () => JSON.parse(body), headers: res.headers });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(o.body);
    });
  const streamLines = (path: string, count: number) =>
    new Promise<{ status: number; lines: string[] }>((resolve, reject) => {
      const req = httpsRequest(`${url}${path}`, { headers: { Accept: 'application/json', Authorization: `Bearer ${token}` }, ca: sharedTls!.caPem }, (res) => {
        let text = '';
        const done = () => {
          resolve({ status: res.statusCode ?? 0, lines: text.split('\n').filter((l) => l !== '').slice(0, count) });
          req.destroy();
        };
        res.on('data', (c: Buffer) => {
          text += c.toString('utf8');
          if (text.split('\n').length > count) done();
        });
        res.on('end', done);
        res.on('error', () => undefined);
      });
      req.on('error', reject);
      req.end();
    });
  return {
    url, caPem: sharedTls.caPem, token, dir, handlers, kv, server, kubectl, request, streamLines,
    async close() {
      await server.close();
      handlers.stop();
      kv.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
