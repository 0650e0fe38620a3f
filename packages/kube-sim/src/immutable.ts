/**
 * The update validation of the API server for fields that may not change (ValidateImmutableField and the
 * kind-specific update rules): 422 Invalid, worded as the API server words it.
 */
import { invalid, type StatusCause } from './errors';
import type { ResourceType } from './resources';
import type { KubeObject } from './types';

const IMMUTABLE = 'field is immutable';
/** Deep equality of JSON values, whatever the order of keys (as reflect.DeepEqual of the decoded structs). */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === (b as unknown[]).length && a.every((v, i) => same(v, (b as unknown[])[i]));
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => k in b && same((a as never)[k], (b as never)[k]));
}
const goString = (s: unknown) => JSON.stringify(String(s));
const goStrings = (list: unknown) =>
  Array.isArray(list) ? `[]string{${list.map(goString).join(', ')}}` : '[]string(nil)';

/** A LabelSelector as Go's %#v prints it (what field.Invalid shows for a struct), map keys sorted. */
function goLabelSelector(sel: KubeObject | undefined): string {
  if (!sel) return 'null';
  const labels = sel.matchLabels
    ? `map[string]string{${Object.keys(sel.matchLabels)
        .sort()
        .map((k) => `${goString(k)}:${goString(sel.matchLabels[k])}`)
        .join(', ')}}`
    : 'map[string]string(nil)';
  const exprs = Array.isArray(sel.matchExpressions)
    ? `[]v1.LabelSelectorRequirement{${sel.matchExpressions
        .map(
          (e: KubeObject) =>
            `v1.LabelSelectorRequirement{Key:${goString(e.key)}, Operator:${goString(e.operator)}, Values:${goStrings(e.values)}}`,
        )
        .join(', ')}}`
    : '[]v1.LabelSelectorRequirement(nil)';
  return `v1.LabelSelector{MatchLabels:${labels}, MatchExpressions:${exprs}}`;
}

const selectorCause = (next: KubeObject): StatusCause => ({
  field: 'spec.selector',
  message: `Invalid value: ${goLabelSelector(next.spec?.selector)}: ${IMMUTABLE}`,
});

const STATEFULSET_MUTABLE = [
  'replicas',
  'ordinals',
  'template',
  'updateStrategy',
  'persistentVolumeClaimRetentionPolicy',
  'minReadySeconds',
];

function causesFor(kind: string, old: KubeObject, next: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const spec = next.spec ?? {};
  const was = old.spec ?? {};
  switch (kind) {
    case 'apps/Deployment':
    case 'apps/ReplicaSet':
    case 'apps/DaemonSet':
      if (!same(spec.selector, was.selector)) causes.push(selectorCause(next));
      break;
    case 'apps/StatefulSet': {
      const rest = (s: KubeObject) =>
        Object.fromEntries(Object.entries(s).filter(([k]) => !STATEFULSET_MUTABLE.includes(k)));
      if (!same(rest(spec), rest(was))) {
        causes.push({
          field: 'spec',
          reason: 'FieldValueForbidden',
          message:
            "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
        });
      }
      break;
    }
    case 'batch/Job':
      if (!same(spec.selector, was.selector)) causes.push(selectorCause(next));
      // A suspended Job that never started may still change its template (scheduling directives, in 1.27+).
      if (!same(spec.template, was.template) && !(was.suspend && !old.status?.startTime)) {
        causes.push({ field: 'spec.template', message: `Invalid value: core.PodTemplateSpec{...}: ${IMMUTABLE}` });
      }
      if (was.completionMode !== undefined && spec.completionMode !== was.completionMode) {
        causes.push({
          field: 'spec.completionMode',
          message: `Invalid value: ${goString(spec.completionMode)}: ${IMMUTABLE}`,
        });
      }
      break;
    case '/Service': {
      const oldIps: string[] = was.clusterIPs ?? (was.clusterIP ? [was.clusterIP] : []);
      const newIps: string[] = spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : []);
      const external = spec.type === 'ExternalName' || was.type === 'ExternalName';
      if (!external && oldIps.length > 0 && newIps.length > 0 && oldIps[0] !== newIps[0]) {
        causes.push({
          field: 'spec.clusterIPs[0]',
          message: `Invalid value: ${goStrings(newIps)}: may not change once set`,
        });
      }
      break;
    }
    case '/PersistentVolumeClaim': {
      const rest = (s: KubeObject) => {
        const { resources, volumeAttributesClassName: _, ...others } = s;
        const { requests: __, ...otherResources } = resources ?? {};
        return { ...others, resources: otherResources };
      };
      if (!same(rest(spec), rest(was))) {
        causes.push({
          field: 'spec',
          reason: 'FieldValueForbidden',
          message:
            'Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims',
        });
      }
      break;
    }
    case '/ConfigMap':
    case '/Secret':
      if (old.immutable === true) {
        const forbid = (field: string) =>
          causes.push({
            field,
            reason: 'FieldValueForbidden',
            message: 'Forbidden: field is immutable when `immutable` is set',
          });
        if (next.immutable !== true) forbid('immutable');
        if (!same(next.data, old.data)) forbid('data');
        if (kind === '/ConfigMap' && !same(next.binaryData, old.binaryData)) forbid('binaryData');
      }
      if (kind === '/Secret' && (next.type ?? 'Opaque') !== (old.type ?? 'Opaque')) {
        causes.push({ field: 'type', message: `Invalid value: ${goString(next.type)}: ${IMMUTABLE}` });
      }
      break;
  }
  return causes;
}

/** Throws 422 Invalid when an update changes a field the API server keeps as it was. */
export function checkImmutable(type: ResourceType, old: KubeObject, next: KubeObject): void {
  const causes = causesFor(`${type.group}/${type.kind}`, old, next);
  if (causes.length > 0) throw invalid(type.kind, type.group, old.metadata.name, causes);
}
