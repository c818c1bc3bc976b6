/** The etcd client URLs a user names (`--etcd-endpoints`), checked without loading the gRPC client. */

/** Parses `--etcd-endpoints`: comma-separated http(s) URLs; a clear error otherwise. */
export function parseEtcdEndpoints(text: string): string[] {
  const endpoints = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (endpoints.length === 0) throw new Error('--etcd-endpoints needs at least one URL, such as http://127.0.0.1:2379');
  for (const e of endpoints) {
    let url: URL;
    try {
      url = new URL(e);
    } catch {
      throw new Error(`--etcd-endpoints: ${JSON.stringify(e)} is not a URL (expected http://host:port)`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`--etcd-endpoints: ${e} must be http:// or https://`);
    if (url.port === '') throw new Error(`--etcd-endpoints: ${e} names no port (etcd's client port is usually 2379)`);
  }
  return endpoints;
}
