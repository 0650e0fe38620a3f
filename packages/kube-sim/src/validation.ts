/** The validation the real API server does on write, for the mistakes a test or a user makes most. */
import { badRequest, invalid, type StatusCause } from './errors';
import { isObject, type JsonObject } from './patch';
import type { ResourceType } from './resources';

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** Kinds whose names must be DNS-1123 labels (63 chars, no dots) rather than subdomains. */
const LABEL_NAMED = new Set(['Namespace']);
const DNS1035_NAMED = new Set(['Service']);

function nameCauses(kind: string, name: unknown): StatusCause[] {
  if (typeof name !== 'string' || name === '') {
    return [
      {
        field: 'metadata.name',
        reason: 'FieldValueRequired',
        message: 'Required value: name or generateName is required',
      },
    ];
  }
  if (DNS1035_NAMED.has(kind)) {
    if (name.length > 63 || !DNS1035_LABEL.test(name)) {
      return [
        {
          field: 'metadata.name',
          message: `Invalid value: "${name}": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`,
        },
      ];
    }
    return [];
  }
  if (LABEL_NAMED.has(kind)) {
    if (name.length > 63 || !DNS1123_LABEL.test(name)) {
      return [
        {
          field: 'metadata.name',
          message: `Invalid value: "${name}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
        },
      ];
    }
    return [];
  }
  if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
    return [
      {
        field: 'metadata.name',
        message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
      },
    ];
  }
  return [];
}

function get(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const seg of path.split('.')) {
    if (!isObject(cur)) return undefined;
    cur = cur[seg];
  }
  return cur;
}

function required(causes: StatusCause[], obj: unknown, path: string, what = 'Required value'): void {
  const v = get(obj, path);
  if (v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0)) {
    causes.push({ field: path, reason: 'FieldValueRequired', message: what });
  }
}

function podSpecCauses(causes: StatusCause[], obj: JsonObject, at: string): void {
  const containers = get(obj, `${at}.containers`);
  if (!Array.isArray(containers) || containers.length === 0) {
    causes.push({ field: `${at}.containers`, reason: 'FieldValueRequired', message: 'Required value' });
    return;
  }
  containers.forEach((c, i) => {
    if (!isObject(c) || typeof c.name !== 'string' || c.name === '') {
      causes.push({ field: `${at}.containers[${i}].name`, reason: 'FieldValueRequired', message: 'Required value' });
    }
    if (!isObject(c) || typeof c.image !== 'string' || c.image === '') {
      causes.push({ field: `${at}.containers[${i}].image`, reason: 'FieldValueRequired', message: 'Required value' });
    }
  });
}

function selectorMatchesTemplate(causes: StatusCause[], obj: JsonObject): void {
  const selector = get(obj, 'spec.selector');
  if (!isObject(selector) || (!isObject(selector.matchLabels) && !Array.isArray(selector.matchExpressions))) {
    causes.push({ field: 'spec.selector', reason: 'FieldValueRequired', message: 'Required value' });
    return;
  }
  const labels = get(obj, 'spec.template.metadata.labels');
  const want = isObject(selector.matchLabels) ? selector.matchLabels : {};
  const ok = isObject(labels) && Object.entries(want).every(([k, v]) => labels[k] === v);
  if (!ok) {
    causes.push({
      field: 'spec.template.metadata.labels',
      message: `Invalid value: ${JSON.stringify(labels ?? {})}: \`selector\` does not match template \`labels\``,
    });
  }
}

/** An integer field: its JSON path (`[]` for each element of a list), Go struct and Go type. */
type IntField = [path: string, struct: string, goType: 'int32' | 'int64'];

const POD_SPEC: IntField[] = [
  ['containers[].ports[].containerPort', 'ContainerPort', 'int32'],
  ['containers[].ports[].hostPort', 'ContainerPort', 'int32'],
  ['initContainers[].ports[].containerPort', 'ContainerPort', 'int32'],
  ['terminationGracePeriodSeconds', 'PodSpec', 'int64'],
  ['activeDeadlineSeconds', 'PodSpec', 'int64'],
];
const JOB_SPEC: IntField[] = [
  ['parallelism', 'JobSpec', 'int32'],
  ['completions', 'JobSpec', 'int32'],
  ['backoffLimit', 'JobSpec', 'int32'],
  ['activeDeadlineSeconds', 'JobSpec', 'int64'],
  ['ttlSecondsAfterFinished', 'JobSpec', 'int32'],
  ...POD_SPEC.map(([p, s, t]): IntField => [`template.spec.${p}`, s, t]),
];
const under = (prefix: string, fields: IntField[]) => fields.map(([p, s, t]): IntField => [`${prefix}.${p}`, s, t]);
const workload = (struct: string, names: string[]): IntField[] => [
  ...names.map((n): IntField => [`spec.${n}`, struct, 'int32']),
  ...under('spec.template.spec', POD_SPEC),
];

/** The integer fields of the built-in kinds a test or a chart sets most, by `group/Kind`. */
const INT_FIELDS: Record<string, IntField[]> = {
  'apps/Deployment': workload('DeploymentSpec', [
    'replicas',
    'minReadySeconds',
    'revisionHistoryLimit',
    'progressDeadlineSeconds',
  ]),
  'apps/ReplicaSet': workload('ReplicaSetSpec', ['replicas', 'minReadySeconds']),
  'apps/StatefulSet': workload('StatefulSetSpec', ['replicas', 'minReadySeconds', 'revisionHistoryLimit']),
  'apps/DaemonSet': workload('DaemonSetSpec', ['minReadySeconds', 'revisionHistoryLimit']),
  'batch/Job': under('spec', JOB_SPEC),
  'batch/CronJob': [
    ['spec.startingDeadlineSeconds', 'CronJobSpec', 'int64'],
    ['spec.successfulJobsHistoryLimit', 'CronJobSpec', 'int32'],
    ['spec.failedJobsHistoryLimit', 'CronJobSpec', 'int32'],
    ...under('spec.jobTemplate.spec', JOB_SPEC),
  ],
  '/Pod': under('spec', POD_SPEC),
  '/Service': [
    ['spec.ports[].port', 'ServicePort', 'int32'],
    ['spec.ports[].nodePort', 'ServicePort', 'int32'],
  ],
  'autoscaling/HorizontalPodAutoscaler': [
    ['spec.minReplicas', 'HorizontalPodAutoscalerSpec', 'int32'],
    ['spec.maxReplicas', 'HorizontalPodAutoscalerSpec', 'int32'],
  ],
};

/** What Go's encoding/json names a JSON value it cannot put into an integer (`number 3.5`, `string`). */
function notAnInteger(v: unknown, goType: 'int32' | 'int64'): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'number') {
    const fits = goType === 'int64' || (v >= -(2 ** 31) && v < 2 ** 31);
    return Number.isInteger(v) && fits ? undefined : `number ${v}`;
  }
  if (typeof v === 'string' || typeof v === 'boolean') return typeof v;
  return Array.isArray(v) ? 'array' : 'object';
}

/** A path's segments, each a key and whether it names a list (`[]`) whose elements the rest applies to. */
type Segments = { key: string; list: boolean }[];

function firstBadInt(obj: unknown, segs: Segments, at: number, goType: 'int32' | 'int64'): string | undefined {
  if (at === segs.length) return notAnInteger(obj, goType);
  if (!isObject(obj)) return undefined;
  const seg = segs[at]!;
  const v = obj[seg.key];
  if (!seg.list) return firstBadInt(v, segs, at + 1, goType);
  if (!Array.isArray(v)) return undefined;
  for (const item of v) {
    const bad = firstBadInt(item, segs, at + 1, goType);
    if (bad) return bad;
  }
  return undefined;
}

/**
 * INT_FIELDS with their paths split once: checked on every write (the controllers' too), splitting them and
 * copying the rest of the path at each step was 3-4% of kube-sim's CPU in a rollout.
 */
const INT_SEGMENTS: Record<string, [Segments, IntField][]> = Object.fromEntries(
  Object.entries(INT_FIELDS).map(([kind, fields]) => [
    kind,
    fields.map((f): [Segments, IntField] => [
      f[0].split('.').map((p) => (p.endsWith('[]') ? { key: p.slice(0, -2), list: true } : { key: p, list: false })),
      f,
    ]),
  ]),
);

/**
 * The API server decodes a body into Go structs before it validates anything: a string (or a fraction,
 * or an object) in an integer field fails the decode with 400 BadRequest, as `kubectl apply` shows it:
 * `Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go
 * struct field DeploymentSpec.spec.replicas of type int32`. Letting one through made the controllers
 * spin on `"three"`.
 */
export function checkIntegerFields(type: ResourceType, obj: JsonObject): void {
  for (const [segs, [path, struct, goType]] of INT_SEGMENTS[`${type.group}/${type.kind}`] ?? []) {
    const bad = firstBadInt(obj, segs, 0, goType);
    if (bad) {
      throw badRequest(
        `${type.kind} in version "${type.version}" cannot be handled as a ${type.kind}: json: cannot unmarshal ${bad} into Go struct field ${struct}.${path.replaceAll('[]', '')} of type ${goType}`,
      );
    }
  }
}

/** Throws 400 BadRequest for a value of the wrong JSON type, else 422 Invalid with one cause per problem. */
export function validate(type: ResourceType, obj: JsonObject): void {
  checkIntegerFields(type, obj);
  const meta = (obj.metadata ?? {}) as JsonObject;
  const causes = nameCauses(type.kind, meta.name);
  const labels = meta.labels;
  if (labels !== undefined && labels !== null) {
    if (!isObject(labels)) causes.push({ field: 'metadata.labels', message: 'Invalid value: must be a map' });
    else {
      for (const [k, v] of Object.entries(labels)) {
        if (typeof v !== 'string' || v.length > 63 || !/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(v)) {
          causes.push({
            field: 'metadata.labels',
            message: `Invalid value: ${JSON.stringify(v)}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
          });
        }
        if (
          !/^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(
            k,
          )
        ) {
          causes.push({
            field: 'metadata.labels',
            message: `Invalid value: ${JSON.stringify(k)}: name part must consist of alphanumeric characters, '-', '_' or '.'`,
          });
        }
      }
    }
  }
  switch (`${type.group}/${type.kind}`) {
    case '/Pod':
      podSpecCauses(causes, obj, 'spec');
      break;
    case 'apps/Deployment':
    case 'apps/ReplicaSet':
    case 'apps/StatefulSet':
    case 'apps/DaemonSet':
      selectorMatchesTemplate(causes, obj);
      podSpecCauses(causes, obj, 'spec.template.spec');
      if (typeof get(obj, 'spec.replicas') === 'number' && (get(obj, 'spec.replicas') as number) < 0) {
        causes.push({ field: 'spec.replicas', message: 'Invalid value: must be greater than or equal to 0' });
      }
      break;
    case 'batch/Job':
      podSpecCauses(causes, obj, 'spec.template.spec');
      break;
    case 'batch/CronJob':
      required(causes, obj, 'spec.schedule');
      podSpecCauses(causes, obj, 'spec.jobTemplate.spec.template.spec');
      break;
    case '/Service': {
      const ports = get(obj, 'spec.ports');
      const type_ = get(obj, 'spec.type');
      if (
        type_ !== 'ExternalName' &&
        get(obj, 'spec.clusterIP') !== 'None' &&
        (!Array.isArray(ports) || ports.length === 0)
      ) {
        causes.push({ field: 'spec.ports', reason: 'FieldValueRequired', message: 'Required value' });
      }
      break;
    }
    case 'apiextensions.k8s.io/CustomResourceDefinition':
      required(causes, obj, 'spec.group');
      required(causes, obj, 'spec.names.plural');
      required(causes, obj, 'spec.names.kind');
      required(causes, obj, 'spec.versions');
      required(causes, obj, 'spec.scope');
      break;
  }
  if (causes.length > 0) throw invalid(type.kind, type.group, String(meta.name ?? ''), causes);
}
