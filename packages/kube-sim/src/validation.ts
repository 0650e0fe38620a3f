/** The validation the real API server does on write, for the mistakes a test or a user makes most. */
import { invalid, type StatusCause } from './errors';
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

/** Throws 422 Invalid with one cause per problem. */
export function validate(type: ResourceType, obj: JsonObject): void {
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
