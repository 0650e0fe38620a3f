// The meta.k8s.io Tables behind kubectl's human-readable output: the API server's printer columns per kind
// (priority 1 are the ones `-o wide` shows) and the object each row carries (includeObject).
import type { IncomingMessage } from 'node:http';
import { badRequest } from './errors';
import { apiVersionOf, type ResourceType } from './resources';
import { labelSelectorToString } from './selectors';
import type { KubeObject } from './store';

/** Whether the client asks for a meta.k8s.io Table (kubectl's human-readable printers do). */
export function wantsTable(req: IncomingMessage): boolean {
  const accept = req.headers.accept ?? '';
  return /as=Table/.test(accept) && /g=meta\.k8s\.io/.test(accept);
}

function age(created: string | undefined, now: number): string {
  if (!created) return '<unknown>';
  const s = Math.max(0, Math.floor((now - Date.parse(created)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

type Column = {
  name: string;
  type: string;
  cell: (o: KubeObject, now: number) => unknown;
  priority?: 1;
  format?: string;
};

const NONE = '<none>';
const UNKNOWN = '<unknown>';
const NAME: Column = { name: 'Name', type: 'string', format: 'name', cell: (o) => o.metadata.name };
const AGE: Column = { name: 'Age', type: 'string', cell: (o, now) => age(o.metadata.creationTimestamp, now) };

function columnsFor(kind: string): Column[] {
  switch (kind) {
    case 'Pod':
      return [
        {
          name: 'Ready',
          type: 'string',
          cell: (o) =>
            `${(o.status?.containerStatuses ?? []).filter((c: KubeObject) => c.ready).length}/${(o.spec?.containers ?? []).length}`,
        },
        {
          name: 'Status',
          type: 'string',
          cell: (o) => {
            if (o.metadata.deletionTimestamp) return 'Terminating';
            const waiting = (o.status?.containerStatuses ?? []).find((c: KubeObject) => c.state?.waiting?.reason);
            return waiting?.state.waiting.reason ?? o.status?.phase ?? 'Pending';
          },
        },
        {
          name: 'Restarts',
          type: 'integer',
          cell: (o) =>
            (o.status?.containerStatuses ?? []).reduce((n: number, c: KubeObject) => n + (c.restartCount ?? 0), 0),
        },
        AGE,
        { name: 'IP', type: 'string', priority: 1, cell: (o) => o.status?.podIPs?.[0]?.ip || o.status?.podIP || NONE },
        { name: 'Node', type: 'string', priority: 1, cell: (o) => o.spec?.nodeName || NONE },
        { name: 'Nominated Node', type: 'string', priority: 1, cell: (o) => o.status?.nominatedNodeName || NONE },
        { name: 'Readiness Gates', type: 'string', priority: 1, cell: readinessGates },
      ];
    case 'Deployment':
      return [
        { name: 'Ready', type: 'string', cell: (o) => `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 1}` },
        { name: 'Up-to-date', type: 'integer', cell: (o) => o.status?.updatedReplicas ?? 0 },
        { name: 'Available', type: 'integer', cell: (o) => o.status?.availableReplicas ?? 0 },
        AGE,
        ...TEMPLATE_WIDE,
      ];
    case 'ReplicaSet':
      return [
        { name: 'Desired', type: 'integer', cell: (o) => o.spec?.replicas ?? 1 },
        { name: 'Current', type: 'integer', cell: (o) => o.status?.replicas ?? 0 },
        { name: 'Ready', type: 'integer', cell: (o) => o.status?.readyReplicas ?? 0 },
        AGE,
        ...TEMPLATE_WIDE,
      ];
    case 'Job':
      return [
        { name: 'Status', type: 'string', cell: (o) => jobStatus(o) },
        { name: 'Completions', type: 'string', cell: (o) => `${o.status?.succeeded ?? 0}/${o.spec?.completions ?? 1}` },
        AGE,
      ];
    case 'Service':
      return [
        { name: 'Type', type: 'string', cell: (o) => o.spec?.type ?? 'ClusterIP' },
        { name: 'Cluster-IP', type: 'string', cell: (o) => o.spec?.clusterIP || NONE },
        { name: 'External-IP', type: 'string', cell: serviceExternalIP },
        {
          name: 'Port(s)',
          type: 'string',
          cell: (o) =>
            (o.spec?.ports ?? [])
              .map((p: KubeObject) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`)
              .join(',') || NONE,
        },
        AGE,
        {
          name: 'Selector',
          type: 'string',
          priority: 1,
          cell: (o) => labelSelectorToString({ matchLabels: o.spec?.selector }) || NONE,
        },
      ];
    case 'Namespace':
      return [{ name: 'Status', type: 'string', cell: (o) => o.status?.phase ?? 'Active' }, AGE];
    case 'Node':
      return [
        {
          name: 'Status',
          type: 'string',
          cell: (o) =>
            (o.status?.conditions ?? []).some((c: KubeObject) => c.type === 'Ready' && c.status === 'True')
              ? 'Ready'
              : 'NotReady',
        },
        {
          name: 'Roles',
          type: 'string',
          cell: (o) =>
            Object.keys(o.metadata.labels ?? {})
              .filter((k) => k.startsWith('node-role.kubernetes.io/'))
              .map((k) => k.slice('node-role.kubernetes.io/'.length))
              .join(',') || '<none>',
        },
        AGE,
        { name: 'Version', type: 'string', cell: (o) => o.status?.nodeInfo?.kubeletVersion ?? '' },
        { name: 'Internal-IP', type: 'string', priority: 1, cell: (o) => nodeAddress(o, 'InternalIP') },
        { name: 'External-IP', type: 'string', priority: 1, cell: (o) => nodeAddress(o, 'ExternalIP') },
        { name: 'OS-Image', type: 'string', priority: 1, cell: (o) => o.status?.nodeInfo?.osImage || UNKNOWN },
        {
          name: 'Kernel-Version',
          type: 'string',
          priority: 1,
          cell: (o) => o.status?.nodeInfo?.kernelVersion || UNKNOWN,
        },
        {
          name: 'Container-Runtime',
          type: 'string',
          priority: 1,
          cell: (o) => o.status?.nodeInfo?.containerRuntimeVersion || UNKNOWN,
        },
      ];
    case 'Event':
      // Events have no leading Name column: kubectl shows LAST SEEN first, and NAME only with -o wide.
      return [
        { name: 'Last Seen', type: 'string', cell: (o, now) => eventTimes(o, now).last },
        { name: 'Type', type: 'string', cell: (o) => o.type ?? '' },
        { name: 'Reason', type: 'string', cell: (o) => o.reason ?? '' },
        {
          name: 'Object',
          type: 'string',
          cell: (o) => {
            const kind = String(o.involvedObject?.kind ?? '').toLowerCase();
            return o.involvedObject?.name ? `${kind}/${o.involvedObject.name}` : kind;
          },
        },
        { name: 'Subobject', type: 'string', priority: 1, cell: (o) => o.involvedObject?.fieldPath ?? '' },
        {
          name: 'Source',
          type: 'string',
          priority: 1,
          cell: (o) => {
            const component = o.source?.component || o.reportingComponent || '';
            const instance = o.source?.host || o.reportingInstance || '';
            return instance ? `${component}, ${instance}` : component;
          },
        },
        { name: 'Message', type: 'string', cell: (o) => String(o.message ?? '').trim() },
        { name: 'First Seen', type: 'string', priority: 1, cell: (o, now) => eventTimes(o, now).first },
        { name: 'Count', type: 'string', priority: 1, cell: (o) => o.series?.count ?? (o.count || 1) },
        { ...NAME, priority: 1 },
      ];
    case 'CronJob':
      return [
        { name: 'Schedule', type: 'string', cell: (o) => o.spec?.schedule ?? '' },
        { name: 'Suspend', type: 'boolean', cell: (o) => o.spec?.suspend ?? false },
        { name: 'Active', type: 'integer', cell: (o) => (o.status?.active ?? []).length },
        AGE,
      ];
    case 'ConfigMap':
      return [
        {
          name: 'Data',
          type: 'integer',
          cell: (o) => Object.keys(o.data ?? {}).length + Object.keys(o.binaryData ?? {}).length,
        },
        AGE,
      ];
    default:
      return [AGE];
  }
}

/** CONTAINERS, IMAGES and SELECTOR: what `-o wide` adds for Deployments and ReplicaSets. */
const TEMPLATE_WIDE: Column[] = [
  {
    name: 'Containers',
    type: 'string',
    priority: 1,
    cell: (o) => (o.spec?.template?.spec?.containers ?? []).map((c: KubeObject) => c.name).join(','),
  },
  {
    name: 'Images',
    type: 'string',
    priority: 1,
    cell: (o) => (o.spec?.template?.spec?.containers ?? []).map((c: KubeObject) => c.image).join(','),
  },
  { name: 'Selector', type: 'string', priority: 1, cell: (o) => labelSelectorToString(o.spec?.selector) || NONE },
];

/** READINESS GATES: how many of the pod's gates have a True condition, `<none>` without gates. */
function readinessGates(o: KubeObject): string {
  const gates: KubeObject[] = o.spec?.readinessGates ?? [];
  if (gates.length === 0) return NONE;
  const conditions: KubeObject[] = o.status?.conditions ?? [];
  const met = gates.filter((g) => conditions.find((c) => c.type === g.conditionType)?.status === 'True').length;
  return `${met}/${gates.length}`;
}

/** EXTERNAL-IP by service type, as the printer words it (`<pending>` for a LoadBalancer without ingress). */
function serviceExternalIP(o: KubeObject): string {
  const externalIPs: string[] = o.spec?.externalIPs ?? [];
  switch (o.spec?.type ?? 'ClusterIP') {
    case 'ClusterIP':
    case 'NodePort':
      return externalIPs.join(',') || NONE;
    case 'LoadBalancer': {
      const ingress = (o.status?.loadBalancer?.ingress ?? []).map((i: KubeObject) => i.ip || i.hostname);
      return [...ingress, ...externalIPs].join(',') || '<pending>';
    }
    case 'ExternalName':
      return o.spec?.externalName ?? '';
    default:
      return UNKNOWN;
  }
}

function nodeAddress(o: KubeObject, type: string): string {
  return (o.status?.addresses ?? []).find((a: KubeObject) => a.type === type)?.address ?? NONE;
}

/** An Event's LAST SEEN and FIRST SEEN as the printer derives them (eventTime, then the series, stand in). */
function eventTimes(o: KubeObject, now: number): { first: string; last: string } {
  const first = age(o.firstTimestamp || o.eventTime || undefined, now);
  const last = o.series?.lastObservedTime
    ? age(o.series.lastObservedTime, now)
    : o.lastTimestamp
      ? age(o.lastTimestamp, now)
      : first;
  return { first, last };
}

function jobStatus(o: KubeObject): string {
  const conds: KubeObject[] = o.status?.conditions ?? [];
  if (conds.some((c) => c.type === 'Complete' && c.status === 'True')) return 'Complete';
  if (conds.some((c) => c.type === 'Failed' && c.status === 'True')) return 'Failed';
  return 'Running';
}

/**
 * What each Table row carries, as the API server's `includeObject` decides it: the object itself in the
 * requested version (`Object`, what `kubectl get --sort-by` asks for), its metadata as a PartialObjectMetadata
 * (`Metadata`, the default) or nothing (`None`).
 */
export type RowObject = (o: KubeObject) => unknown;

export function rowObjectFor(q: URLSearchParams, type: ResourceType): RowObject {
  const include = q.get('includeObject') ?? '';
  switch (include) {
    case 'Object':
      return (o) =>
        type.storage && o.apiVersion === apiVersionOf(type.storage) ? { ...o, apiVersion: apiVersionOf(type) } : o;
    case 'Metadata':
    case '':
      return (o) => ({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata });
    case 'None':
      return () => null;
    default:
      throw badRequest(`unrecognized includeObject value: ${JSON.stringify(include)}`);
  }
}

/**
 * The meta.k8s.io Table kubectl asks for, with the columns of the API server's printers for the kind
 * (priority 1 columns are the ones `-o wide` adds).
 */
export function toTable(
  type: ResourceType,
  items: KubeObject[],
  metadata: Record<string, unknown>,
  now: number,
  rowObject: RowObject,
): Record<string, unknown> {
  const own = columnsFor(type.kind);
  const columns = type.kind === 'Event' ? own : [NAME, ...own];
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata,
    columnDefinitions: columns.map((c) => ({
      name: c.name,
      type: c.type,
      format: c.format ?? '',
      description: c.name,
      priority: c.priority ?? 0,
    })),
    rows: items.map((o) => ({
      cells: columns.map((c) => c.cell(o, now)),
      object: rowObject(o),
    })),
  };
}
