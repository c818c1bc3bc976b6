/**
 * `kubethreads up`'s live status for people, as summaries that fit any
 * terminal width: counts of actors per kind with only those not running
 * named, the store's roles, the leader of each leader-elected component,
 * nodes Ready / NotReady and pods by phase. Pure: a status and a width in,
 * lines out, each at most `width` columns (the CLI redraws them in place).
 */
import type { ClusterStatus } from './start.js';

/** At most this many names in a "not running" or "down" list, whatever the width: the rest is counted. */
export const NAMED_MAX = 8;
/** Below this the lines are cut rather than laid out: no summary reads in fewer columns. */
const WIDTH_MIN = 20;

/** The lines for a terminal `width` columns wide (Infinity: no limit, as for a log). */
export function formatClusterStatus(status: ClusterStatus, width = Infinity): string[] {
  const w = Math.max(WIDTH_MIN, width);
  return [componentsLine(status, w), ...notRunningLines(status, w), etcdLine(status, w), leadersLine(status, w), nodesLine(status, w)].map((l) => clip(l, width));
}

/** One line for logs (not a terminal): the same summary, written again only when it changes. */
export function clusterStatusLine(status: ClusterStatus): string {
  return formatClusterStatus(status).join(' | ');
}

/** `kubelet-node-3` → kubelet, `etcd-0` → etcd, `runtime-node-1-process` → runtime, `apiserver` → apiserver. */
export function actorKind(name: string): string {
  return name.replace(/-node-\d+(-[a-z]+)?$/, '').replace(/-\d+$/, '');
}

function componentsLine(status: ClusterStatus, width: number): string {
  const kinds = new Map<string, number>();
  for (const a of status.actors) kinds.set(actorKind(a.name), (kinds.get(actorKind(a.name)) ?? 0) + 1);
  const running = status.actors.filter((a) => a.state === 'running').length;
  const head = `components: ${running}/${status.actors.length} running, ${status.threads.length} threads`;
  // Kinds are few (a dozen at most): all are shown when the width allows.
  return fit(`${head}: `, [...kinds].map(([kind, n]) => `${kind} ${n}`), '', width, head, Infinity);
}

function notRunningLines(status: ClusterStatus, width: number): string[] {
  const others = status.actors.filter((a) => a.state !== 'running' || a.restarts > 0);
  if (others.length === 0) return [];
  const named = others.map((a) => `${a.name} ${a.state}${a.restarts > 0 ? ` (${a.restarts} restarts)` : ''}`);
  return [fit('  not running or restarted: ', named, '', width)];
}

function etcdLine(status: ClusterStatus, width: number): string {
  const roles = new Map<string, string[]>();
  let term = 0;
  for (const s of status.etcd) {
    const role = 'down' in s ? 'down' : s.role;
    if (!('down' in s)) term = Math.max(term, s.term);
    roles.set(role, [...(roles.get(role) ?? []), s.name]);
  }
  const leaders = roles.get('leader') ?? [];
  const head = `etcd: ${leaders.length === 1 ? `${leaders[0]} leads` : leaders.length === 0 ? 'no leader' : `${leaders.length} leaders`}, term ${term}`;
  // Followers are the normal case: counted. Any other role is named.
  const parts = [...roles].filter(([role]) => role !== 'leader').flatMap(([role, names]) => (role === 'follower' ? [`${names.length} follower${names.length === 1 ? '' : 's'}`] : names.map((n) => `${n} ${role}`)));
  return fit(`${head}; `, parts, '', width, head);
}

function leadersLine(status: ClusterStatus, width: number): string {
  // The holders' names say their component (scheduler-0, controller-manager-1): only a Lease without one is named by the Lease.
  const active = status.schedulers.find((s) => !('down' in s) && s.leader);
  const parts = [active === undefined ? 'no scheduler' : active.name];
  for (const [lease, holder] of Object.entries(status.leaders ?? {})) {
    if (lease === 'kube-scheduler') continue;
    // Holders are `<actor>_<incarnation>`: the actor is what people look for.
    parts.push(holder === '' ? `no ${lease.replace(/^kube-/, '')}` : holder.replace(/_[^_]*$/, ''));
  }
  const down = status.schedulers.filter((s) => 'down' in s).map((s) => `${s.name} down`);
  return fit('leaders: ', [...parts, ...down], '', width);
}

function nodesLine(status: ClusterStatus, width: number): string {
  const nodes = status.nodes === undefined
    ? 'nodes: unknown'
    : `nodes: ${status.nodesReady ?? '?'} Ready, ${status.nodesReady === undefined ? '?' : status.nodes - status.nodesReady} NotReady`;
  if (status.podsByPhase === undefined) return fit(`${nodes}; pods: `, ['unknown (apiserver not answering)'], '', width, nodes);
  const phases = Object.entries(status.podsByPhase).sort(([a], [b]) => a.localeCompare(b)).map(([p, n]) => `${p} ${n}`);
  return fit(`${nodes}; pods: `, phases.length === 0 ? ['none'] : phases, '', width, nodes);
}

/**
 * `head` then as many `parts` as fit in `width` (comma-separated), then
 * `tail`; the rest counted as "+N more". Past `shownMax` parts the rest is
 * counted too. When not even one part fits, `short` alone (or the cut line).
 */
function fit(head: string, parts: string[], tail: string, width: number, short?: string, shownMax = NAMED_MAX): string {
  for (let shown = Math.min(parts.length, shownMax); shown >= 1; shown--) {
    const more = parts.length - shown;
    const line = `${head}${parts.slice(0, shown).join(', ')}${more > 0 ? `, +${more} more` : ''}${tail}`;
    if (line.length <= width) return line;
  }
  if (parts.length === 0) return `${head}${tail}`;
  return short !== undefined && short.length <= width ? short : `${head}+${parts.length}${tail}`;
}

/** The last guard: a line longer than `width` is cut, with an ellipsis. */
function clip(line: string, width: number): string {
  if (line.length <= width) return line;
  return width <= 1 ? line.slice(0, Math.max(0, width)) : `${line.slice(0, width - 1)}…`;
}
