/** references: the Secrets and ConfigMaps the manifests or the running Deployments reference exist in the namespace. */
import { manifestFiles, podSpecOf, readManifests } from '../deploy/manifests';
import { isNotFound } from '../kube/errors';
import { getOptional } from '../kube/objects';
import type { KubeObject } from '../kube/types';
import { configError, optionalString, stringList } from './config';
import type { GateDefinition } from './types';

export interface Reference {
  kind: 'Secret' | 'ConfigMap';
  name: string;
  /** A key the reference reads (secretKeyRef / configMapKeyRef). */
  key?: string;
  /** Who references it: `Deployment web (k8s/web.yaml:1)`. */
  from: string;
}

interface ReferencesConfig {
  objects: Array<{ object: KubeObject; source: string }>;
  deployments: string[];
  namespace: string | undefined;
}

type Raw = Record<string, any>;

/** Every Secret and ConfigMap a pod spec needs (optional ones left out). */
export function referencesOf(spec: Raw | undefined, from: string): Reference[] {
  if (spec === undefined) return [];
  const refs: Reference[] = [];
  const add = (kind: Reference['kind'], name: unknown, optional: unknown, key?: unknown) => {
    if (typeof name === 'string' && name !== '' && optional !== true)
      refs.push({ kind, name, from, ...(typeof key === 'string' ? { key } : {}) });
  };
  for (const container of [...(spec['initContainers'] ?? []), ...(spec['containers'] ?? [])] as Raw[]) {
    for (const env of (container?.env ?? []) as Raw[]) {
      const s = env?.valueFrom?.secretKeyRef;
      const c = env?.valueFrom?.configMapKeyRef;
      if (s) add('Secret', s.name, s.optional, s.key);
      if (c) add('ConfigMap', c.name, c.optional, c.key);
    }
    for (const source of (container?.envFrom ?? []) as Raw[]) {
      if (source?.secretRef) add('Secret', source.secretRef.name, source.secretRef.optional);
      if (source?.configMapRef) add('ConfigMap', source.configMapRef.name, source.configMapRef.optional);
    }
  }
  for (const volume of (spec['volumes'] ?? []) as Raw[]) {
    if (volume?.secret) add('Secret', volume.secret.secretName, volume.secret.optional);
    if (volume?.configMap) add('ConfigMap', volume.configMap.name, volume.configMap.optional);
    for (const projected of (volume?.projected?.sources ?? []) as Raw[]) {
      if (projected?.secret) add('Secret', projected.secret.name, projected.secret.optional);
      if (projected?.configMap) add('ConfigMap', projected.configMap.name, projected.configMap.optional);
    }
  }
  for (const pull of (spec['imagePullSecrets'] ?? []) as Raw[]) add('Secret', pull?.name, false);
  return refs;
}

export const referencesGate: GateDefinition<ReferencesConfig> = {
  name: 'references',
  title: 'Secrets and ConfigMaps referenced',
  prepare(raw, source) {
    const files = stringList(raw, 'manifests', source);
    const deployments = stringList(raw, 'deployments', source);
    if (files.length === 0 && deployments.length === 0) {
      throw configError(source, 'manifests', 'or deployments must name what to check', 'k8s/');
    }
    let objects: ReferencesConfig['objects'] = [];
    try {
      objects = files.length > 0 ? readManifests(manifestFiles(files, source.workspace), source.workspace, {}) : [];
    } catch (error) {
      throw configError(source, 'manifests', (error as Error).message);
    }
    return { objects, deployments, namespace: optionalString(raw, 'namespace', source) };
  },
  async run(config, ctx) {
    const client = await ctx.kube();
    const namespace = config.namespace ?? (await ctx.namespace());
    const refs: Reference[] = [];
    // What the manifests create themselves needs not exist yet.
    const created = new Set(config.objects.map(({ object }) => `${object.kind}/${object.metadata?.name}`));
    for (const { object, source } of config.objects)
      refs.push(
        ...referencesOf(podSpecOf(object) as Raw | undefined, `${object.kind} ${object.metadata?.name} (${source})`),
      );
    const problems: string[] = [];
    for (const name of config.deployments) {
      try {
        const deployment = await client.get('Deployment', { namespace, name });
        refs.push(...referencesOf(podSpecOf(deployment) as Raw | undefined, `Deployment ${name} (running)`));
      } catch (error) {
        if (!isNotFound(error)) throw error;
        problems.push(`Deployment ${namespace}/${name} does not exist`);
      }
    }
    const needed = refs.filter((ref) => !created.has(`${ref.kind}/${ref.name}`));
    const objects = new Map<string, Promise<KubeObject | undefined>>();
    const fetch = (ref: Reference) => {
      const id = `${ref.kind}/${ref.name}`;
      if (!objects.has(id)) objects.set(id, getOptional(client, ref.kind, namespace, ref.name));
      return objects.get(id)!;
    };
    await Promise.all(
      needed.map(async (ref) => {
        const object = await fetch(ref);
        if (object === undefined) problems.push(`${ref.kind} ${ref.name} is missing (referenced by ${ref.from})`);
        else if (ref.key !== undefined) {
          const data = {
            ...(object['data'] as object | undefined),
            ...(object['stringData'] as object | undefined),
            ...(object['binaryData'] as object | undefined),
          };
          if (!(ref.key in data))
            problems.push(`${ref.kind} ${ref.name} has no key ${ref.key} (referenced by ${ref.from})`);
        }
      }),
    );
    const distinct = new Set(needed.map((ref) => `${ref.kind}/${ref.name}`)).size;
    return {
      status: problems.length > 0 ? 'fail' : 'pass',
      value: `${distinct - new Set(problems.map((p) => p.split(' (')[0])).size} of ${distinct} found`,
      limit: 'all exist',
      message:
        problems.length > 0
          ? [...new Set(problems)].sort().join('; ')
          : `All ${distinct} referenced Secrets and ConfigMaps exist in ${namespace}`,
      details: { namespace, references: needed, problems },
    };
  },
};
