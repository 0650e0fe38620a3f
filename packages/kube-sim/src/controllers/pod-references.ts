/**
 * What a pod references and the kubelet needs before its containers start: ConfigMaps and Secrets behind
 * volumes (FailedMount, the pod stays ContainerCreating), behind env and envFrom (CreateContainerConfigError),
 * and image pull secrets (only a warning: the pull is tried anyway). `optional: true` references may be absent.
 * Messages are the kubelet's.
 */
import type { KubeObject, ObjectStore } from '../store';

export type ReferenceProblem =
  /** A volume cannot be mounted: nothing starts, no sandbox. */
  | { stage: 'mount'; volume: string; message: string }
  /** The containers' config cannot be built: the message per container that fails. */
  | { stage: 'config'; containers: Map<string, string> };

type Source = { name?: string; items?: { key: string }[]; optional?: boolean };

const lookup = (store: ObjectStore, kind: 'configmap' | 'secret', ns: string, name: string) =>
  store.find(kind === 'configmap' ? 'v1/configmaps' : 'v1/secrets', ns, name);

const hasKey = (obj: KubeObject, key: string) =>
  (obj.data !== undefined && obj.data !== null && key in obj.data) ||
  (obj.binaryData !== undefined && obj.binaryData !== null && key in obj.binaryData) ||
  (obj.stringData !== undefined && obj.stringData !== null && key in obj.stringData);

/** Why a volume source cannot be set up, or undefined. */
function sourceProblem(store: ObjectStore, ns: string, kind: 'configmap' | 'secret', src: Source): string | undefined {
  if (!src?.name || src.optional) return undefined;
  const obj = lookup(store, kind, ns, src.name);
  if (!obj) return `${kind} "${src.name}" not found`;
  for (const item of src.items ?? []) {
    if (!hasKey(obj, item.key)) {
      return kind === 'configmap'
        ? `configmap references non-existent config key: ${item.key}`
        : `references non-existent secret key: ${item.key}`;
    }
  }
  return undefined;
}

function volumeProblem(store: ObjectStore, ns: string, volume: KubeObject): string | undefined {
  if (volume.configMap) return sourceProblem(store, ns, 'configmap', volume.configMap);
  if (volume.secret) {
    const { secretName, ...rest } = volume.secret as Source & { secretName?: string };
    return sourceProblem(store, ns, 'secret', { ...rest, name: secretName });
  }
  for (const p of volume.projected?.sources ?? []) {
    const why = p.configMap
      ? sourceProblem(store, ns, 'configmap', p.configMap)
      : p.secret
        ? sourceProblem(store, ns, 'secret', p.secret)
        : undefined;
    if (why) return why;
  }
  return undefined;
}

/** Why a container's environment cannot be built (kubelet's makeEnvironmentVariables), or undefined. */
function envProblem(store: ObjectStore, ns: string, container: KubeObject): string | undefined {
  for (const from of container.envFrom ?? []) {
    const [kind, ref] = from.configMapRef
      ? (['configmap', from.configMapRef] as const)
      : (['secret', from.secretRef] as const);
    if (!ref?.name || ref.optional) continue;
    if (!lookup(store, kind, ns, ref.name)) return `${kind} "${ref.name}" not found`;
  }
  for (const env of container.env ?? []) {
    const cm = env.valueFrom?.configMapKeyRef;
    const secret = env.valueFrom?.secretKeyRef;
    const [kind, ref, shown] = cm
      ? (['configmap', cm, 'ConfigMap'] as const)
      : secret
        ? (['secret', secret, 'Secret'] as const)
        : [];
    if (!kind || !ref?.name || ref.optional) continue;
    const obj = lookup(store, kind, ns, ref.name);
    if (!obj) return `${kind} "${ref.name}" not found`;
    if (!hasKey(obj, ref.key)) return `couldn't find key ${ref.key} in ${shown} ${ns}/${ref.name}`;
  }
  return undefined;
}

/** The first thing that keeps the pod's containers from starting, or undefined when all is there. */
export function referenceProblem(store: ObjectStore, pod: KubeObject): ReferenceProblem | undefined {
  const ns = pod.metadata.namespace as string;
  const spec = pod.spec ?? {};
  for (const volume of spec.volumes ?? []) {
    const why = volumeProblem(store, ns, volume);
    if (why) return { stage: 'mount', volume: volume.name, message: why };
  }
  const containers = new Map<string, string>();
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
    const why = envProblem(store, ns, c);
    if (why) containers.set(c.name, why);
  }
  return containers.size > 0 ? { stage: 'config', containers } : undefined;
}

/** The kubelet's warning when image pull secrets are missing (the pull goes ahead without them), or undefined. */
export function missingPullSecrets(store: ObjectStore, pod: KubeObject): string | undefined {
  const ns = pod.metadata.namespace as string;
  const missing = (pod.spec?.imagePullSecrets ?? [])
    .map((s: KubeObject) => s?.name as string)
    .filter((name: string) => name && !store.find('v1/secrets', ns, name));
  if (missing.length === 0) return undefined;
  return `Unable to retrieve some image pull secrets (${missing.join(', ')}); attempting to pull the image may not succeed.`;
}
