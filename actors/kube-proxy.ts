/**
 * The kube-proxy component: one actor per node (`kube-proxy-<node>`) that
 * watches Services and their endpoints, keeps the node's routing table and,
 * in the threaded runtime, forwards TCP on ClusterIPs and NodePorts.
 */
export { kubeProxy, type KubeProxyArgs, type KubeProxyMsg, type ProxyRouteReply } from '../src/node/proxy/kube-proxy.js';
