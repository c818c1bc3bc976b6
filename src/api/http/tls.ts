/**
 * The cluster CA and the API server's serving certificate, made with the
 * `openssl` binary at first start and kept on the actor's disk, so kubeconfigs
 * written earlier keep working across restarts. kubectl sends no bearer
 * token over plain HTTP, so token authentication needs this.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Disk } from '../../actor/disk.js';

export interface TlsMaterial {
  caPem: string;
  certPem: string;
  keyPem: string;
}

/** Certificates last ten years: a test cluster must not expire under a long chaos run. */
const CERT_DAYS = 3650;
const OPENSSL = '/usr/bin/openssl';
const FILES = { ca: 'tls/ca.crt', cert: 'tls/apiserver.crt', key: 'tls/apiserver.key' } as const;

/** Generates a CA and a serving certificate for 127.0.0.1 / localhost (and `extraHosts`) signed by it. */
export function generateTls(extraHosts: string[] = []): TlsMaterial {
  const dir = mkdtempSync(join(tmpdir(), 'kubethreads-tls-'));
  try {
    const run = (args: string[]) => execFileSync(OPENSSL, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt',
      '-days', String(CERT_DAYS), '-subj', '/CN=kubethreads-ca', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=kube-apiserver']);
    const sans = ['IP:127.0.0.1', 'DNS:localhost', 'DNS:kubernetes', 'DNS:kubernetes.default', ...extraHosts.map((h) => (/^[0-9.]+$/.test(h) ? `IP:${h}` : `DNS:${h}`))];
    writeFileSync(join(dir, 'ext.cnf'), `subjectAltName=${sans.join(',')}\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n`);
    run(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', String(CERT_DAYS), '-extfile', 'ext.cnf']);
    return {
      caPem: readFileSync(join(dir, 'ca.crt'), 'utf8'),
      certPem: readFileSync(join(dir, 'server.crt'), 'utf8'),
      keyPem: readFileSync(join(dir, 'server.key'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Loads the material from `disk`, or generates and durably stores it on first start. */
export function ensureTls(disk: Disk): TlsMaterial {
  const read = (path: string) => {
    const bytes = disk.read(path);
    return bytes === undefined ? undefined : Buffer.from(bytes).toString('utf8');
  };
  const ca = read(FILES.ca);
  const cert = read(FILES.cert);
  const key = read(FILES.key);
  if (ca !== undefined && cert !== undefined && key !== undefined) return { caPem: ca, certPem: cert, keyPem: key };
  const material = generateTls();
  for (const [path, text] of [[FILES.ca, material.caPem], [FILES.cert, material.certPem], [FILES.key, material.keyPem]] as const) {
    disk.write(`${path}.tmp`, Buffer.from(text, 'utf8'));
    disk.fsync(`${path}.tmp`);
    disk.rename(`${path}.tmp`, path);
  }
  disk.fsyncDir('tls');
  return material;
}

/** A kubeconfig (YAML) for `kubectl` that trusts the cluster CA and carries a bearer token. */
export function kubeconfig(server: string, caPem: string, token: string, user = 'admin'): string {
  const ca = Buffer.from(caPem, 'utf8').toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: kubethreads',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${ca}`,
    'users:',
    `- name: ${user}`,
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: kubethreads',
    '  context:',
    '    cluster: kubethreads',
    `    user: ${user}`,
    '    namespace: default',
    'current-context: kubethreads',
    '',
  ].join('\n');
}
