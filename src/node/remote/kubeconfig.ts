/**
 * A kubeconfig's current context as an `ApiConnection`: the server, its CA,
 * and a bearer token or a client certificate (what `kubethreads up`, kind and
 * k3s write). Pure: files the kubeconfig names are read through `readFile`,
 * relative to the kubeconfig's directory as kubectl resolves them.
 */
import { parse } from 'yaml';
import type { ApiConnection } from '../kubelet/http-api-client.js';

export class KubeconfigError extends Error {
  override readonly name = 'KubeconfigError';
}

interface Named<T> {
  name?: unknown;
  cluster?: T;
  user?: T;
  context?: T;
}

function record(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function named(list: unknown, key: 'cluster' | 'user' | 'context', name: string, where: string): Record<string, unknown> {
  const entries = Array.isArray(list) ? (list as Named<unknown>[]) : [];
  const entry = entries.find((e) => record(e).name === name);
  if (entry === undefined) throw new KubeconfigError(`${where}: no ${key} named ${JSON.stringify(name)}`);
  return record(record(entry)[key]);
}

function base64(value: string, field: string, where: string): string {
  const text = Buffer.from(value, 'base64').toString('utf8');
  if (!text.includes('-----BEGIN')) throw new KubeconfigError(`${where}: ${field} is not base64 of a PEM block`);
  return text;
}

/**
 * The connection the kubeconfig's current context (or `context`) describes.
 * `where` names the file in errors; `readFile(path)` reads a file it refers to (relative paths as given).
 */
export function connectionFromKubeconfig(text: string, where: string, readFile: (path: string) => string, context?: string): ApiConnection {
  let doc: Record<string, unknown>;
  try {
    doc = record(parse(text));
  } catch (error) {
    throw new KubeconfigError(`${where} is not YAML: ${(error as Error).message}`);
  }
  const contextName = context ?? str(doc['current-context']);
  if (contextName === undefined) throw new KubeconfigError(`${where} names no current-context; pass a context`);
  const ctx = named(doc.contexts, 'context', contextName, where);
  const clusterName = str(ctx.cluster);
  const userName = str(ctx.user);
  if (clusterName === undefined) throw new KubeconfigError(`${where}: context ${JSON.stringify(contextName)} names no cluster`);
  const cluster = named(doc.clusters, 'cluster', clusterName, where);
  const user = userName === undefined ? {} : named(doc.users, 'user', userName, where);
  const server = str(cluster.server);
  if (server === undefined) throw new KubeconfigError(`${where}: cluster ${JSON.stringify(clusterName)} has no server`);
  if (!server.startsWith('https://')) throw new KubeconfigError(`${where}: the server ${server} is not https://; nodes speak to the API server over HTTPS only`);
  const pem = (dataField: string, fileField: string, from: Record<string, unknown>): string | undefined => {
    const data = str(from[dataField]);
    if (data !== undefined) return base64(data, dataField, where);
    const file = str(from[fileField]);
    return file === undefined ? undefined : readFile(file);
  };
  const tokenFile = str(user.tokenFile);
  const token = str(user.token) ?? (tokenFile !== undefined ? readFile(tokenFile).trim() : undefined);
  const clientCertPem = pem('client-certificate-data', 'client-certificate', user);
  const clientKeyPem = pem('client-key-data', 'client-key', user);
  if ((clientCertPem === undefined) !== (clientKeyPem === undefined)) throw new KubeconfigError(`${where}: user ${JSON.stringify(userName)} has a client certificate without its key, or a key without its certificate`);
  const caPem = pem('certificate-authority-data', 'certificate-authority', cluster);
  return {
    server,
    ...(caPem !== undefined ? { caPem } : {}),
    ...(token !== undefined ? { token } : {}),
    ...(clientCertPem !== undefined ? { clientCertPem, clientKeyPem } : {}),
    ...(cluster['insecure-skip-tls-verify'] === true ? { insecureSkipTlsVerify: true } : {}),
  };
}
