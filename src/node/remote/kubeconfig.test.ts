import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { kubeconfig } from '../../api/http/tls.js';
import { KubeconfigError, connectionFromKubeconfig } from './kubeconfig.js';

const CA = '-----BEGIN CERTIFICATE-----\nY2E=\n-----END CERTIFICATE-----\n';
const CERT = '-----BEGIN CERTIFICATE-----\nY2VydA==\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN EC PRIVATE KEY-----\na2V5\n-----END EC PRIVATE KEY-----\n';
const noFiles = (path: string): string => {
  throw new Error(`no file ${path} expected`);
};

/** A kind-style kubeconfig: two contexts, client certificates, one of them by file. */
const KIND = `
apiVersion: v1
kind: Config
current-context: kind-a
clusters:
- name: kind-a
  cluster: {server: "https://127.0.0.1:40001", certificate-authority-data: ${Buffer.from(CA).toString('base64')}}
- name: kind-b
  cluster: {server: "https://127.0.0.1:40002", certificate-authority: ca.crt, insecure-skip-tls-verify: true}
users:
- name: kind-a
  user: {client-certificate-data: ${Buffer.from(CERT).toString('base64')}, client-key-data: ${Buffer.from(KEY).toString('base64')}}
- name: kind-b
  user: {client-certificate: /keys/b.crt, client-key: /keys/b.key}
contexts:
- name: kind-a
  context: {cluster: kind-a, user: kind-a}
- name: kind-b
  context: {cluster: kind-b, user: kind-b}
`;

describe('a kubeconfig as an API connection', () => {
  test('the one kubethreads up writes: its server, CA and bearer token', () => {
    const connection = connectionFromKubeconfig(kubeconfig('https://127.0.0.1:6443', CA, 'secret-token'), 'kubeconfig', noFiles);
    assert.deepEqual(connection, { server: 'https://127.0.0.1:6443', caPem: CA, token: 'secret-token' });
  });

  test('kind-style client certificates, inline or from files, and a context other than the current one', () => {
    assert.deepEqual(connectionFromKubeconfig(KIND, 'kind.yaml', noFiles), { server: 'https://127.0.0.1:40001', caPem: CA, clientCertPem: CERT, clientKeyPem: KEY });
    const files: Record<string, string> = { 'ca.crt': CA, '/keys/b.crt': CERT, '/keys/b.key': KEY };
    const b = connectionFromKubeconfig(KIND, 'kind.yaml', (path) => files[path] ?? noFiles(path), 'kind-b');
    assert.deepEqual(b, { server: 'https://127.0.0.1:40002', caPem: CA, clientCertPem: CERT, clientKeyPem: KEY, insecureSkipTlsVerify: true });
  });

  test('what cannot work is refused with a message that names the file and the problem', () => {
    const cases: Array<[string, string, RegExp]> = [
      ['not: [yaml', 'k', /k is not YAML/],
      ['apiVersion: v1\nkind: Config\n', 'k', /names no current-context/],
      [KIND.replace('current-context: kind-a', 'current-context: nope'), 'k', /no context named "nope"/],
      [kubeconfig('http://127.0.0.1:8080', CA, 't'), 'k', /not https:\/\/; nodes speak to the API server over HTTPS only/],
      [KIND.replace(/client-key-data: \S+\}/, '}'), 'k', /a client certificate without its key/],
      [kubeconfig('https://127.0.0.1:6443', CA, 't').replace(/certificate-authority-data: \S+/, 'certificate-authority-data: bm90IHBlbQ=='), 'k', /certificate-authority-data is not base64 of a PEM block/],
    ];
    for (const [text, where, pattern] of cases) {
      assert.throws(() => connectionFromKubeconfig(text, where, noFiles), (e: unknown) => e instanceof KubeconfigError && pattern.test(e.message), String(pattern));
    }
  });
});
