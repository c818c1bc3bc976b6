/**
 * meta.k8s.io/v1 Table responses for `kubectl get`: the columns kubectl
 * shows for each resource (wide ones at priority 1), computed the way
 * Kubernetes' printers compute them (pod STATUS, node STATUS with
 * SchedulingDisabled, deployment READY, human ages).
 */
import { isObject, type JsonObject } from '../patch.js';
import type { PrinterColumn, ResourceInfo } from '../resources.js';
import { evaluateJsonPath } from '../crd/jsonpath.js';
import type { KubeObject, Table, TableColumnDefinition, TableRow } from '../types/index.js';

type Obj = KubeObject & Record<string, unknown>;
type Cell = string | number | boolean | null;

interface Column {
  name: string;
  type?: string;
  priority?: number;
  description?: string;
  cell(o: Obj, nowMs: number): Cell;
}

/** Kubernetes' duration.HumanDuration, as kubectl prints AGE. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  const years = Math.floor(hours / 24 / 365);
  if (years < 8) return `${years}y${Math.floor(hours / 24) % 365}d`;
  return `${years}y`;
}

function since(ts: unknown, nowMs: number): string {
  if (typeof ts !== 'string') return '<unknown>';
  const at = Date.parse(ts);
  return Number.isNaN(at) ? '<unknown>' : humanDuration(nowMs - at);
}

const get = (o: unknown, ...path: string[]): unknown => path.reduce<unknown>((c, p) => (isObject(c) ? c[p] : undefined), o);
const list = (v: unknown): JsonObject[] => (Array.isArray(v) ? v.filter(isObject) : []);
const str = (v: unknown, fallback = '<none>'): string => (typeof v === 'string' && v !== '' ? v : fallback);

const NAME: Column = { name: 'Name', type: 'string', description: 'Name must be unique within a namespace.', cell: (o) => o.metadata.name ?? '' };
const AGE: Column = { name: 'Age', type: 'string', description: 'CreationTimestamp', cell: (o, now) => since(o.metadata.creationTimestamp, now) };

function podStatus(o: Obj): string {
  if (o.metadata.deletionTimestamp !== undefined) return 'Terminating';
  let reason = str(get(o, 'status', 'reason'), '') || str(get(o, 'status', 'phase'), 'Pending');
  for (const c of list(get(o, 'status', 'containerStatuses'))) {
    const waiting = str(get(c, 'state', 'waiting', 'reason'), '');
    const terminated = str(get(c, 'state', 'terminated', 'reason'), '');
    if (waiting !== '') reason = waiting;
    else if (terminated !== '') reason = terminated;
  }
  return reason;
}

function podReady(o: Obj): string {
  const containers = list(get(o, 'spec', 'containers'));
  const ready = list(get(o, 'status', 'containerStatuses')).filter((c) => c.ready === true).length;
  return `${ready}/${containers.length}`;
}

function nodeStatus(o: Obj): string {
  const ready = list(get(o, 'status', 'conditions')).find((c) => c.type === 'Ready');
  // As kubectl's printNode: any Ready status but True (False or Unknown, a lost node) prints NotReady; no Ready condition at all prints Unknown.
  const parts = [ready === undefined ? 'Unknown' : ready.status === 'True' ? 'Ready' : 'NotReady'];
  if (get(o, 'spec', 'unschedulable') === true) parts.push('SchedulingDisabled');
  return parts.join(',');
}

function nodeRoles(o: Obj): string {
  const roles = Object.keys(o.metadata.labels ?? {}).filter((k) => k.startsWith('node-role.kubernetes.io/')).map((k) => k.slice('node-role.kubernetes.io/'.length));
  return roles.length > 0 ? roles.sort().join(',') : '<none>';
}

function address(o: Obj, type: string): string {
  return str(list(get(o, 'status', 'addresses')).find((a) => a.type === type)?.address);
}

function servicePorts(o: Obj): string {
  const ports = list(get(o, 'spec', 'ports'));
  if (ports.length === 0) return '<none>';
  return ports.map((p) => `${String(p.port)}${p.nodePort !== undefined ? `:${String(p.nodePort)}` : ''}/${str(p.protocol, 'TCP')}`).join(',');
}

function externalIp(o: Obj): string {
  const type = get(o, 'spec', 'type');
  const ingress = list(get(o, 'status', 'loadBalancer', 'ingress')).map((i) => str(i.ip, '') || str(i.hostname, '')).filter((v) => v !== '');
  const external = (get(o, 'spec', 'externalIPs') as string[] | undefined) ?? [];
  if (type === 'ExternalName') return str(get(o, 'spec', 'externalName'));
  if (type === 'LoadBalancer') return [...ingress, ...external].join(',') || '<pending>';
  return external.length > 0 ? external.join(',') : '<none>';
}

function selectorText(o: Obj): string {
  const s = get(o, 'spec', 'selector');
  const labels = isObject(s) && isObject(s.matchLabels) ? s.matchLabels : isObject(s) && !('matchExpressions' in s) ? s : {};
  const text = Object.entries(labels).map(([k, v]) => `${k}=${String(v)}`).join(',');
  return text || '<none>';
}

/** labels.FormatLabels: `k=v,k2=v2` in key order, `<none>` when empty. */
function labelsText(labels: unknown): string {
  if (!isObject(labels)) return '<none>';
  const text = Object.keys(labels).sort().map((k) => `${k}=${String(labels[k])}`).join(',');
  return text || '<none>';
}

/** A ControllerRevision's controller as kubectl prints it: `statefulset.apps/web`. */
function controllerText(o: Obj): string {
  const ref = list(o.metadata.ownerReferences).find((r) => r.controller === true);
  if (ref === undefined) return '<none>';
  const apiVersion = String(ref.apiVersion ?? '');
  const group = apiVersion.includes('/') ? apiVersion.split('/')[0]! : '';
  return `${String(ref.kind ?? '').toLowerCase()}${group === '' ? '' : `.${group}`}/${String(ref.name ?? '')}`;
}

const templateContainers = (o: Obj) => list(get(o, 'spec', 'template', 'spec', 'containers'));
const num = (v: unknown) => (typeof v === 'number' ? v : 0);

function endpointsText(o: Obj): string {
  const out: string[] = [];
  for (const s of list(o.subsets)) {
    const ports = list(s.ports);
    for (const a of list(s.addresses)) {
      if (ports.length === 0) out.push(String(a.ip));
      for (const p of ports) out.push(`${String(a.ip)}:${String(p.port)}`);
    }
  }
  if (out.length === 0) return '<none>';
  return out.length > 3 ? `${out.slice(0, 3).join(',')} + ${out.length - 3} more...` : out.join(',');
}

const COLUMNS: Record<string, Column[]> = {
  pods: [
    NAME,
    { name: 'Ready', cell: podReady, description: 'The aggregate readiness state of this pod for accepting traffic.' },
    { name: 'Status', cell: podStatus, description: 'The aggregate status of the containers in this pod.' },
    { name: 'Restarts', type: 'string', cell: (o) => String(list(get(o, 'status', 'containerStatuses')).reduce((n, c) => n + num(c.restartCount), 0)) },
    AGE,
    { name: 'IP', priority: 1, cell: (o) => str(get(o, 'status', 'podIP')) },
    { name: 'Node', priority: 1, cell: (o) => str(get(o, 'spec', 'nodeName')) },
    { name: 'Nominated Node', priority: 1, cell: (o) => str(get(o, 'status', 'nominatedNodeName')) },
    { name: 'Readiness Gates', priority: 1, cell: () => '<none>' },
  ],
  nodes: [
    NAME,
    { name: 'Status', cell: nodeStatus, description: 'The status of the node' },
    { name: 'Roles', cell: nodeRoles, description: 'The roles of the node' },
    AGE,
    { name: 'Version', cell: (o) => str(get(o, 'status', 'nodeInfo', 'kubeletVersion'), ''), description: 'Kubelet Version reported by the node.' },
    { name: 'Internal-IP', priority: 1, cell: (o) => address(o, 'InternalIP') },
    { name: 'External-IP', priority: 1, cell: (o) => address(o, 'ExternalIP') },
    { name: 'OS-Image', priority: 1, cell: (o) => str(get(o, 'status', 'nodeInfo', 'osImage'), '<unknown>') },
    { name: 'Kernel-Version', priority: 1, cell: (o) => str(get(o, 'status', 'nodeInfo', 'kernelVersion'), '<unknown>') },
    { name: 'Container-Runtime', priority: 1, cell: (o) => str(get(o, 'status', 'nodeInfo', 'containerRuntimeVersion'), '<unknown>') },
  ],
  namespaces: [NAME, { name: 'Status', cell: (o) => str(get(o, 'status', 'phase'), 'Active') }, AGE],
  services: [
    NAME,
    { name: 'Type', cell: (o) => str(get(o, 'spec', 'type'), 'ClusterIP') },
    { name: 'Cluster-IP', cell: (o) => str(get(o, 'spec', 'clusterIP')) },
    { name: 'External-IP', cell: externalIp },
    { name: 'Port(s)', cell: servicePorts },
    AGE,
    { name: 'Selector', priority: 1, cell: selectorText },
  ],
  endpoints: [NAME, { name: 'Endpoints', cell: endpointsText }, AGE],
  deployments: [
    NAME,
    { name: 'Ready', cell: (o) => `${num(get(o, 'status', 'readyReplicas'))}/${num(get(o, 'spec', 'replicas'))}` },
    { name: 'Up-to-date', type: 'integer', cell: (o) => num(get(o, 'status', 'updatedReplicas')) },
    { name: 'Available', type: 'integer', cell: (o) => num(get(o, 'status', 'availableReplicas')) },
    AGE,
    { name: 'Containers', priority: 1, cell: (o) => templateContainers(o).map((c) => String(c.name)).join(',') },
    { name: 'Images', priority: 1, cell: (o) => templateContainers(o).map((c) => String(c.image)).join(',') },
    { name: 'Selector', priority: 1, cell: selectorText },
  ],
  replicasets: [
    NAME,
    { name: 'Desired', type: 'integer', cell: (o) => num(get(o, 'spec', 'replicas')) },
    { name: 'Current', type: 'integer', cell: (o) => num(get(o, 'status', 'replicas')) },
    { name: 'Ready', type: 'integer', cell: (o) => num(get(o, 'status', 'readyReplicas')) },
    AGE,
    { name: 'Containers', priority: 1, cell: (o) => templateContainers(o).map((c) => String(c.name)).join(',') },
    { name: 'Images', priority: 1, cell: (o) => templateContainers(o).map((c) => String(c.image)).join(',') },
    { name: 'Selector', priority: 1, cell: selectorText },
  ],
  statefulsets: [
    NAME,
    { name: 'Ready', cell: (o) => `${num(get(o, 'status', 'readyReplicas'))}/${num(get(o, 'spec', 'replicas'))}`, description: 'Number of the pod with ready state' },
    AGE,
    { name: 'Containers', priority: 1, cell: (o) => templateContainers(o).map((c) => String(c.name)).join(',') },
    { name: 'Images', priority: 1, cell: (o) => templateContainers(o).map((c) => String(c.image)).join(',') },
  ],
  daemonsets: [
    NAME,
    { name: 'Desired', type: 'integer', cell: (o) => num(get(o, 'status', 'desiredNumberScheduled')) },
    { name: 'Current', type: 'integer', cell: (o) => num(get(o, 'status', 'currentNumberScheduled')) },
    { name: 'Ready', type: 'integer', cell: (o) => num(get(o, 'status', 'numberReady')) },
    { name: 'Up-to-date', type: 'integer', cell: (o) => num(get(o, 'status', 'updatedNumberScheduled')) },
    { name: 'Available', type: 'integer', cell: (o) => num(get(o, 'status', 'numberAvailable')) },
    { name: 'Node Selector', cell: (o) => labelsText(get(o, 'spec', 'template', 'spec', 'nodeSelector')) },
    AGE,
    { name: 'Containers', priority: 1, cell: (o) => templateContainers(o).map((c) => String(c.name)).join(',') },
    { name: 'Images', priority: 1, cell: (o) => templateContainers(o).map((c) => String(c.image)).join(',') },
    { name: 'Selector', priority: 1, cell: selectorText },
  ],
  jobs: [
    NAME,
    { name: 'Status', cell: jobStatus, description: 'Status of the job.' },
    { name: 'Completions', cell: jobCompletions, description: 'The desired number of successfully finished pods the job should be run with.' },
    { name: 'Duration', cell: jobDuration, description: 'Time required to complete the job.' },
    AGE,
    { name: 'Containers', priority: 1, cell: (o) => templateContainers(o).map((c) => String(c.name)).join(',') },
    { name: 'Images', priority: 1, cell: (o) => templateContainers(o).map((c) => String(c.image)).join(',') },
    { name: 'Selector', priority: 1, cell: selectorText },
  ],
  controllerrevisions: [
    NAME,
    { name: 'Controller', cell: controllerText },
    { name: 'Revision', type: 'integer', cell: (o) => num(o.revision) },
    AGE,
  ],
  cronjobs: [
    NAME,
    { name: 'Schedule', cell: (o) => str(get(o, 'spec', 'schedule'), ''), description: 'The schedule in Cron format.' },
    { name: 'Timezone', cell: (o) => str(get(o, 'spec', 'timeZone')), description: 'The time zone name for the given schedule.' },
    { name: 'Suspend', type: 'boolean', cell: (o) => boolText(get(o, 'spec', 'suspend')), description: 'This flag tells the controller to suspend subsequent executions.' },
    { name: 'Active', type: 'integer', cell: (o) => list(get(o, 'status', 'active')).length, description: 'A list of pointers to currently running jobs.' },
    { name: 'Last Schedule', type: 'string', cell: (o, now) => (typeof get(o, 'status', 'lastScheduleTime') === 'string' ? since(get(o, 'status', 'lastScheduleTime'), now) : '<none>'), description: 'Information when was the last time the job was successfully scheduled.' },
    AGE,
    { name: 'Containers', priority: 1, cell: (o) => cronJobContainers(o).map((c) => String(c.name)).join(',') },
    { name: 'Images', priority: 1, cell: (o) => cronJobContainers(o).map((c) => String(c.image)).join(',') },
    { name: 'Selector', priority: 1, cell: (o) => selectorText({ ...o, spec: get(o, 'spec', 'jobTemplate', 'spec') } as Obj) },
  ],
  poddisruptionbudgets: [
    NAME,
    { name: 'Min Available', cell: (o) => intOrPercentText(get(o, 'spec', 'minAvailable')), description: 'The minimum number of pods that must be available.' },
    { name: 'Max Unavailable', cell: (o) => intOrPercentText(get(o, 'spec', 'maxUnavailable')), description: 'The maximum number of pods that may be unavailable.' },
    { name: 'Allowed Disruptions', type: 'integer', cell: (o) => num(get(o, 'status', 'disruptionsAllowed')), description: 'Calculated number of pods that may be disrupted at this time.' },
    AGE,
  ],
  events: [
    { name: 'Last Seen', cell: (o, now) => since(o.lastTimestamp ?? o.eventTime ?? o.metadata.creationTimestamp, now) },
    { name: 'Type', cell: (o) => str(o.type, 'Normal') },
    { name: 'Reason', cell: (o) => str(o.reason, '') },
    { name: 'Object', cell: (o) => `${String(get(o, 'involvedObject', 'kind') ?? '').toLowerCase()}/${String(get(o, 'involvedObject', 'name') ?? '')}` },
    { name: 'Message', cell: (o) => str(o.message, '') },
  ],
  validatingwebhookconfigurations: [NAME, { name: 'Webhooks', type: 'integer', cell: (o) => (Array.isArray(o.webhooks) ? o.webhooks.length : 0) }, AGE],
  mutatingwebhookconfigurations: [NAME, { name: 'Webhooks', type: 'integer', cell: (o) => (Array.isArray(o.webhooks) ? o.webhooks.length : 0) }, AGE],
  serviceaccounts: [NAME, { name: 'Secrets', type: 'string', cell: (o) => (Array.isArray(o.secrets) ? o.secrets.length : 0) }, AGE],
  configmaps: [NAME, { name: 'Data', type: 'integer', cell: (o) => Object.keys(isObject(o.data) ? o.data : {}).length + Object.keys(isObject(o.binaryData) ? o.binaryData : {}).length }, AGE],
  secrets: [NAME, { name: 'Type', cell: (o) => str(o.type, 'Opaque') }, { name: 'Data', type: 'integer', cell: (o) => Object.keys(isObject(o.data) ? o.data : {}).length }, AGE],
  roles: [NAME, { name: 'Created At', type: 'date', cell: (o) => str(o.metadata.creationTimestamp, '') }],
  clusterroles: [NAME, { name: 'Created At', type: 'date', cell: (o) => str(o.metadata.creationTimestamp, '') }],
  rolebindings: [NAME, { name: 'Role', cell: roleRefText }, AGE, ...subjectColumns()],
  clusterrolebindings: [NAME, { name: 'Role', cell: roleRefText }, AGE, ...subjectColumns()],
  resourcequotas: [NAME, AGE, { name: 'Request', cell: (o) => quotaText(o, false) }, { name: 'Limit', cell: (o) => quotaText(o, true) }],
  priorityclasses: [
    NAME,
    { name: 'Value', type: 'integer', cell: (o) => num(o.value), description: 'value represents the integer value of this priority class.' },
    { name: 'Global-Default', type: 'boolean', cell: (o) => o.globalDefault === true, description: 'globalDefault specifies whether this PriorityClass should be considered as the default priority.' },
    AGE,
    // Shown by default since Kubernetes 1.29's printer.
    { name: 'PreemptionPolicy', cell: (o) => str(o.preemptionPolicy, 'PreemptLowerPriority'), description: 'preemptionPolicy is the Policy for preempting pods with lower priority.' },
  ],
  leases: [NAME, { name: 'Holder', cell: (o) => str(get(o, 'spec', 'holderIdentity'), '') }, AGE],
  // As Kubernetes prints CRDs: the creation time itself, not an age.
  customresourcedefinitions: [NAME, { name: 'Created At', type: 'date', cell: (o) => str(o.metadata.creationTimestamp, '') }],
  endpointslices: [
    NAME,
    { name: 'AddressType', cell: (o) => str(o.addressType, '') },
    { name: 'Ports', cell: (o) => list(o.ports).map((p) => String(p.port)).join(',') || '<unset>' },
    { name: 'Endpoints', cell: (o) => list(o.endpoints).flatMap((e) => (Array.isArray(e.addresses) ? e.addresses.map(String) : [])).join(',') || '<unset>' },
    AGE,
  ],
};

const hasCondition = (o: Obj, type: string) => list(get(o, 'status', 'conditions')).some((c) => c.type === type && c.status === 'True');

/** Kubernetes' printJob STATUS: terminal conditions first, then Terminating, Suspended, FailureTarget; a Job winding down after success still prints Running. */
function jobStatus(o: Obj): string {
  if (hasCondition(o, 'Complete')) return 'Complete';
  if (hasCondition(o, 'Failed')) return 'Failed';
  if (o.metadata.deletionTimestamp !== undefined) return 'Terminating';
  if (hasCondition(o, 'Suspended')) return 'Suspended';
  if (hasCondition(o, 'FailureTarget')) return 'FailureTarget';
  return 'Running';
}

function jobCompletions(o: Obj): string {
  const succeeded = num(get(o, 'status', 'succeeded'));
  const completions = get(o, 'spec', 'completions');
  const parallelism = get(o, 'spec', 'parallelism');
  if (typeof completions === 'number') return `${succeeded}/${completions}`;
  if (typeof parallelism === 'number' && parallelism > 1) return `${succeeded}/1 of ${parallelism}`;
  return `${succeeded}/1`;
}

function jobDuration(o: Obj, nowMs: number): string {
  const start = get(o, 'status', 'startTime');
  if (typeof start !== 'string') return '';
  const completion = get(o, 'status', 'completionTime');
  const endMs = typeof completion === 'string' ? Date.parse(completion) : nowMs;
  return humanDuration(endMs - Date.parse(start));
}

const cronJobContainers = (o: Obj) => list(get(o, 'spec', 'jobTemplate', 'spec', 'template', 'spec', 'containers'));
const boolText = (v: unknown) => (v === true ? 'True' : v === false ? 'False' : '<unset>');
const intOrPercentText = (v: unknown) => (typeof v === 'number' || typeof v === 'string' ? String(v) : 'N/A');

function roleRefText(o: Obj): string {
  const ref = isObject(o.roleRef) ? o.roleRef : {};
  return `${String(ref.kind ?? '')}/${String(ref.name ?? '')}`;
}

function subjectColumns(): Column[] {
  const of = (kind: string) => (o: Obj) => list(o.subjects).filter((s) => s.kind === kind)
    .map((s) => (kind === 'ServiceAccount' ? `${String(s.namespace ?? '')}/${String(s.name)}` : String(s.name))).join(', ');
  return [
    { name: 'Users', priority: 1, cell: of('User') },
    { name: 'Groups', priority: 1, cell: of('Group') },
    { name: 'ServiceAccounts', priority: 1, cell: of('ServiceAccount') },
  ];
}

/** kubectl's quota columns: `pods: 1/10, requests.cpu: 500m/2` for requests, the `limits.*` ones for LIMIT. */
function quotaText(o: Obj, limits: boolean): string {
  const status = isObject(o.status) ? o.status : {};
  const hard = isObject(status.hard) ? status.hard : isObject(get(o, 'spec', 'hard')) ? (get(o, 'spec', 'hard') as JsonObject) : {};
  const used = isObject(status.used) ? status.used : {};
  return Object.keys(hard).sort().filter((k) => k.startsWith('limits.') === limits)
    .map((k) => `${k}: ${String(used[k] ?? '0')}/${String(hard[k])}`).join(', ');
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

/**
 * A custom resource's columns, as apiextensions' table convertor makes
 * them: Name, then the CRD's additionalPrinterColumns (a date printed as an
 * age; nothing found prints <none>), or Age alone when the CRD names none.
 */
function customColumns(printerColumns: readonly PrinterColumn[]): Column[] {
  if (printerColumns.length === 0) return [NAME, AGE];
  return [NAME, ...printerColumns.map((p): Column => ({
    name: p.name, type: p.type, priority: p.priority, description: p.description ?? p.name,
    cell: (o, now) => {
      const value = evaluateJsonPath(o, p.jsonPath)[0];
      if (value === undefined || value === null) return null;
      if (p.type === 'date') return since(value, now);
      if (typeof value === 'object') return JSON.stringify(value);
      if (p.type === 'integer' || p.type === 'number') return typeof value === 'number' ? value : String(value);
      return typeof value === 'string' || typeof value === 'boolean' ? value : String(value);
    },
  }))];
}

function columnsOf(info: ResourceInfo): Column[] {
  return info.custom !== undefined ? customColumns(info.custom.printerColumns) : (COLUMNS[info.resource] ?? [NAME, AGE]);
}

export function columnDefinitions(info: ResourceInfo): TableColumnDefinition[] {
  return columnsOf(info).map((c) => ({
    name: c.name, type: c.type ?? 'string', format: c === NAME ? 'name' : '', description: c.description ?? c.name, priority: c.priority ?? 0,
  }));
}

export function tableRow(info: ResourceInfo, object: KubeObject, nowMs: number, include: IncludeObject): TableRow {
  const columns = columnsOf(info);
  const row: TableRow = { cells: columns.map((c) => c.cell(object as Obj, nowMs)) };
  if (include === 'Object') row.object = object;
  else if (include === 'Metadata') row.object = { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: object.metadata };
  return row;
}

export function toTable(info: ResourceInfo, objects: KubeObject[], listMeta: Table['metadata'], nowMs: number, include: IncludeObject, withColumns = true): Table {
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    columnDefinitions: withColumns ? columnDefinitions(info) : [],
    rows: objects.map((o) => tableRow(info, o, nowMs, include)),
  };
}
