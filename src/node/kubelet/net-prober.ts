/**
 * I/O EDGE: probes and preStop hooks of process (and worker) pods over the
 * real network and real processes, as the kubelet runs them: httpGet to the
 * pod's IP (2xx and 3xx pass), tcpSocket connects, exec runs the command with
 * the container's environment (only when the node allows processes).
 * Threaded runtime only; every probe is bounded by its timeout.
 */
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { connect } from 'node:net';
import type { Probe } from '../../api/types/index.js';
import { probeTiming, resolvePort, type LifecycleHandler, type ProbeKind, type ProbeOutcome, type ProbeTarget, type Prober } from './probe.js';

/** Exec probe output kept for the message: enough to say why, small enough for a status. */
const EXEC_OUTPUT_BYTES_MAX = 4 * 1024;
/** A preStop hook without a timeout of its own is bounded by the grace period; this caps the HTTP/exec call itself. */
const HOOK_TIMEOUT_MS_MAX = 300_000;

export class NetProber implements Prober {
  constructor(private readonly allowExec: boolean, private readonly sleep: (ms: number) => Promise<void>) {}

  async probe(_kind: ProbeKind, probe: Probe, target: ProbeTarget): Promise<ProbeOutcome> {
    const { timeoutMs } = probeTiming(probe);
    if (probe.httpGet !== undefined) return this.http(probe.httpGet, target, timeoutMs);
    if (probe.tcpSocket !== undefined) return this.tcp(probe.tcpSocket, target, timeoutMs);
    if (probe.exec !== undefined) return this.exec(probe.exec.command ?? [], target, timeoutMs);
    return { ok: false, message: 'the probe names no handler (exec, httpGet or tcpSocket)' };
  }

  async preStop(handler: LifecycleHandler, target: ProbeTarget): Promise<ProbeOutcome> {
    if (handler.httpGet !== undefined) return this.http(handler.httpGet, target, HOOK_TIMEOUT_MS_MAX);
    if (handler.exec !== undefined) return this.exec(handler.exec.command ?? [], target, HOOK_TIMEOUT_MS_MAX);
    if (handler.sleep !== undefined) {
      await this.sleep(handler.sleep.seconds * 1000);
      return { ok: true };
    }
    return { ok: true };
  }

  private http(get: { path?: string; port: number | string; host?: string }, target: ProbeTarget, timeoutMs: number): Promise<ProbeOutcome> {
    const port = resolvePort(get.port, target.container);
    if (port === undefined) return Promise.resolve({ ok: false, message: `port ${get.port} is not a number nor a named port of the container` });
    return new Promise((resolve) => {
      const req = request({ host: get.host ?? target.podIP, port, path: get.path ?? '/', method: 'GET', timeout: timeoutMs, headers: { 'User-Agent': 'kube-probe/1.32' } }, (res) => {
        res.resume();
        const code = res.statusCode ?? 0;
        resolve(code >= 200 && code < 400 ? { ok: true } : { ok: false, message: `HTTP probe failed with statuscode: ${code}` });
      });
      req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
      req.on('error', (error) => resolve({ ok: false, message: `Get "http://${get.host ?? target.podIP}:${port}${get.path ?? '/'}": ${error.message}` }));
      req.end();
    });
  }

  private tcp(socket: { port: number | string; host?: string }, target: ProbeTarget, timeoutMs: number): Promise<ProbeOutcome> {
    const port = resolvePort(socket.port, target.container);
    if (port === undefined) return Promise.resolve({ ok: false, message: `port ${socket.port} is not a number nor a named port of the container` });
    const host = socket.host ?? target.podIP;
    return new Promise((resolve) => {
      const s = connect({ host, port });
      s.setTimeout(timeoutMs, () => {
        s.destroy();
        resolve({ ok: false, message: `dial tcp ${host}:${port}: i/o timeout` });
      });
      s.once('connect', () => {
        s.destroy();
        resolve({ ok: true });
      });
      s.once('error', (error) => resolve({ ok: false, message: `dial tcp ${host}:${port}: ${error.message}` }));
    });
  }

  private exec(command: string[], target: ProbeTarget, timeoutMs: number): Promise<ProbeOutcome> {
    if (!this.allowExec) return Promise.resolve({ ok: false, message: 'exec probes run real commands: the node was started without allowProcesses' });
    if (command.length === 0) return Promise.resolve({ ok: false, message: 'exec probe with an empty command' });
    const env: Record<string, string> = { ...(process.env as Record<string, string>), POD_IP: target.podIP, POD_NAME: target.pod.metadata.name ?? '', POD_NAMESPACE: target.pod.metadata.namespace ?? '' };
    for (const e of target.container.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
    return new Promise((resolve) => {
      execFile(command[0]!, command.slice(1), { env, timeout: timeoutMs, maxBuffer: EXEC_OUTPUT_BYTES_MAX * 4, cwd: target.container.workingDir }, (error, stdout, stderr) => {
        if (error === null) return resolve({ ok: true });
        const output = `${stdout}${stderr}`.slice(0, EXEC_OUTPUT_BYTES_MAX).trim();
        resolve({ ok: false, message: `command ${JSON.stringify(command)} failed: ${output || error.message}` });
      });
    });
  }
}
