/**
 * The objects a canary adds beside a stable Deployment: the canary (new
 * images, role and version labels), the optional baseline (stable version,
 * same size as the canary), versioned copies of the ConfigMaps and Secrets
 * the pod template references, and the template the stable takes at promotion.
 */
import { InputError } from '../errors';
import type { Deployment, KubeObject, PodTemplateSpec } from '../kube/types';
import { setImagesPatch } from '../kube/workloads';
import { isValidTag, parseImageReference } from '../registry/reference';
import {
  APP_LABEL,
  COPY_OF_ANNOTATION,
  MANAGED_BY,
  ROLE_LABEL,
  STABLE_ANNOTATION,
  VERSION_LABEL,
} from '../state/record';

export type Role = 'canary' | 'baseline';

/**
 * Every `container=image` of `input` read with the distribution reference grammar (lowercase repository,
 * tag `[\w][\w.-]{0,127}`, digest `algo:hex`): a typo is refused before anything is patched.
 */
export function checkImageReferences(input: string, images: Record<string, string>, example: string): void {
  for (const [container, image] of Object.entries(images)) {
    try {
      parseImageReference(image, container);
    } catch (error) {
      const message = (error as Error).message;
      const prefix = `${container} ${JSON.stringify(image)}: `;
      const problem = message.startsWith(prefix) ? message.slice(prefix.length) : message;
      throw new InputError(
        input,
        `${container}: ${problem} (a reference is [registry/]repository[:tag][@algorithm:hex], the repository in lower case)`,
        image,
        example,
      );
    }
  }
}

/** A tag given alone (`to-version`): the distribution grammar's `[\w][\w.-]{0,127}`. */
export function checkTag(input: string, tag: string, example: string): void {
  if (!isValidTag(tag))
    throw new InputError(
      input,
      'is not an image tag (letters, digits, _ . -, at most 128, not starting with . or -)',
      tag,
      example,
    );
}

/**
 * The image tag as a label value: `ghcr.io/acme/web:v1.2.3` → `v1.2.3` (the simulated apps and most dashboards
 * label by tag). An image by digest only (`web@sha256:3f…`) → `sha256-<first 12 hex>`; no tag and no digest → `latest`.
 */
export function versionOf(images: Record<string, string>, fallback: string): string {
  const first = Object.values(images)[0];
  if (first === undefined) return fallback;
  const [noDigest, digest] = first.split('@') as [string, string | undefined];
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  const tag = colon > slash ? noDigest.slice(colon + 1) : digest ? digestVersion(digest) : 'latest';
  return labelValue(tag) || fallback;
}

/** `sha256:3f2a…` → `sha256-3f2a…` (its first 12 hex digits): a label value for a digest. */
export function digestVersion(digest: string): string {
  const [algorithm, hex = ''] = digest.split(':');
  return labelValue(`${algorithm}-${hex.slice(0, 12)}`);
}

/**
 * The canary's version label when the new images differ from the running ones but their tags do not tell
 * them apart (a new digest of the same tag, another registry, only a sidecar changed): the tag of the first
 * container that changes, else its digest (`sha256-<12 hex>`), else the stable's tag with a short hash of the
 * new images. Never the stable's label: the canary's pods, config copies and queries must be told apart.
 */
export function changedVersion(
  current: Record<string, string>,
  given: Record<string, string>,
  stableVersion: string,
): string {
  const canary = versionOf(given, 'canary');
  if (canary !== stableVersion) return canary;
  const changed = Object.entries(given).filter(([container, image]) => current[container] !== image);
  const byTag = versionOf(Object.fromEntries(changed), 'canary');
  if (byTag !== stableVersion) return byTag;
  const digest = changed.map(([, image]) => image.split('@')[1]).find((d) => d !== undefined);
  if (digest && digestVersion(digest) !== stableVersion) return digestVersion(digest);
  let hash = 0x811c9dc5;
  for (const char of JSON.stringify(changed)) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
  const suffix = hash.toString(16).padStart(8, '0');
  return `${stableVersion.slice(0, 63 - suffix.length - 1).replace(/[^A-Za-z0-9]+$/, '')}-${suffix}`;
}

function labelValue(text: string): string {
  return text
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
}

/** Container name → image of a template (containers and init containers). */
export function imagesOf(template: PodTemplateSpec | undefined): Record<string, string> {
  const images: Record<string, string> = {};
  for (const c of [...(template?.spec?.initContainers ?? []), ...(template?.spec?.containers ?? [])])
    if (c.image) images[c.name] = c.image;
  return images;
}

/** The images of `images` that this Deployment has; an entry naming no container of any Deployment is an input error. */
export function imagesFor(
  deployments: readonly Deployment[],
  images: Record<string, string>,
): Array<Record<string, string>> {
  if (Object.keys(images).length === 0)
    throw new InputError(
      'images',
      'is required: the new image of at least one container',
      undefined,
      'web=ghcr.io/acme/web:v1.2.3',
    );
  // `auth/app=...` names one Deployment's container; a bare `app=...` applies to every Deployment that has it.
  const perDeployment = deployments.map((deployment) => {
    const names = new Set(Object.keys(imagesOf(deployment.spec?.template)));
    const own = `${deployment.metadata?.name}/`;
    const entries: Array<[string, string]> = [];
    for (const [key, image] of Object.entries(images)) {
      if (key.includes('/')) {
        if (key.startsWith(own) && names.has(key.slice(own.length))) entries.push([key.slice(own.length), image]);
      } else if (names.has(key)) entries.push([key, image]);
    }
    return Object.fromEntries(entries);
  });
  const unused = Object.keys(images).filter(
    (key) =>
      !deployments.some((deployment, i) => {
        const container = key.includes('/') ? key.slice(key.indexOf('/') + 1) : key;
        const scoped = !key.includes('/') || key.startsWith(`${deployment.metadata?.name}/`);
        return scoped && container in perDeployment[i]!;
      }),
  );
  if (unused.length > 0 || perDeployment.some((entry) => Object.keys(entry).length === 0)) {
    // setImagesPatch words the error with the containers the Deployment has.
    const culprit = deployments.find((_, i) => Object.keys(perDeployment[i]!).length === 0) ?? deployments[0]!;
    const shown = unused.length > 0 ? unused : Object.keys(images);
    setImagesPatch(culprit, Object.fromEntries(shown.map((key) => [key.slice(key.indexOf('/') + 1), images[key]!])));
  }
  return perDeployment;
}

/** ConfigMaps and Secrets a pod template references (volumes, projected volumes, envFrom, env valueFrom). */
export function configRefs(template: PodTemplateSpec | undefined): { configMaps: string[]; secrets: string[] } {
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  visitRefs(structuredClone(template ?? {}), (kind, name) => {
    (kind === 'configMap' ? configMaps : secrets).add(name);
    return name;
  });
  return { configMaps: [...configMaps].sort(), secrets: [...secrets].sort() };
}

/** A copy of the template with every ConfigMap/Secret reference renamed through the maps. */
export function renameRefs(
  template: PodTemplateSpec,
  copies: { configMaps: Record<string, string>; secrets: Record<string, string> },
): PodTemplateSpec {
  const copy = structuredClone(template);
  visitRefs(copy, (kind, name) => (kind === 'configMap' ? copies.configMaps[name] : copies.secrets[name]) ?? name);
  return copy;
}

type Visit = (kind: 'configMap' | 'secret', name: string) => string;

function visitRefs(template: PodTemplateSpec, visit: Visit) {
  // biome-ignore lint/suspicious/noExplicitAny: pod spec fields walked generically
  const spec = (template.spec ?? {}) as Record<string, any>;
  for (const volume of spec['volumes'] ?? []) {
    if (volume.configMap?.name) volume.configMap.name = visit('configMap', volume.configMap.name);
    if (volume.secret?.secretName) volume.secret.secretName = visit('secret', volume.secret.secretName);
    for (const source of volume.projected?.sources ?? []) {
      if (source.configMap?.name) source.configMap.name = visit('configMap', source.configMap.name);
      if (source.secret?.name) source.secret.name = visit('secret', source.secret.name);
    }
  }
  for (const container of [...(spec['initContainers'] ?? []), ...(spec['containers'] ?? [])]) {
    for (const from of container.envFrom ?? []) {
      if (from.configMapRef?.name) from.configMapRef.name = visit('configMap', from.configMapRef.name);
      if (from.secretRef?.name) from.secretRef.name = visit('secret', from.secretRef.name);
    }
    for (const env of container.env ?? []) {
      const ref = env.valueFrom;
      if (ref?.configMapKeyRef?.name) ref.configMapKeyRef.name = visit('configMap', ref.configMapKeyRef.name);
      if (ref?.secretKeyRef?.name) ref.secretKeyRef.name = visit('secret', ref.secretKeyRef.name);
    }
  }
}

/**
 * `web-config` + `v2` → `web-config-dav-v2`, kept a valid name; a copy of a copy is renamed from the original.
 * `copiedFor`: the version `original` was copied for when it is a copy this action made (its version label),
 * so exactly that `-dav-<version>` suffix is replaced; null: not a copy of ours, its name is kept whole
 * (`web-dav-settings` is a user's name, not a copy). Left out: any `-dav-…` suffix is taken for a copy's.
 */
export function copyName(original: string, version: string, copiedFor?: string | null): string {
  let base = original;
  if (copiedFor === undefined) base = original.replace(/-dav-[a-z0-9.-]+$/, '');
  else if (copiedFor !== null) {
    const suffix = `-dav-${copySuffix(copiedFor)}`;
    if (original.endsWith(suffix)) base = original.slice(0, -suffix.length);
  }
  return `${base}-dav-${copySuffix(version)}`.slice(0, 253).replace(/[-.]+$/, '');
}

function copySuffix(version: string): string {
  return version.toLowerCase().replace(/[^a-z0-9.-]/g, '-');
}

/** The version a ConfigMap or Secret was copied for, when it is a config copy this action made; else null. */
export function copiedFor(object: KubeObject): string | null {
  const labels = object.metadata?.labels ?? {};
  const ours = Object.entries(MANAGED_BY).every(([key, value]) => labels[key] === value);
  const version = labels[VERSION_LABEL];
  return ours && object.metadata?.annotations?.[COPY_OF_ANNOTATION] !== undefined && version ? version : null;
}

/** Version labels users put on pod templates: kept true to the image when it changes. */
const USER_VERSION_LABELS = ['version', 'app.kubernetes.io/version'];

/** The template with new images (containers merged by name) and its version labels set to `version`. */
export function withImages(
  template: PodTemplateSpec,
  images: Record<string, string>,
  version?: string,
): PodTemplateSpec {
  const copy = structuredClone(template);
  const labels = copy.metadata?.labels;
  if (labels && version !== undefined)
    for (const key of USER_VERSION_LABELS) if (labels[key] !== undefined) labels[key] = version;
  for (const list of [copy.spec?.containers, copy.spec?.initContainers])
    for (const container of list ?? []) if (images[container.name]) container.image = images[container.name];
  return copy;
}

/**
 * The baseline's version label value: the stable version, told apart (`v1` → `v1-baseline`), so that
 * `{{baseline}}` in a query selects the baseline pods and not the long-running stable ones.
 */
export function baselineVersion(stableVersion: string): string {
  return `${stableVersion.slice(0, 63 - '-baseline'.length).replace(/[^A-Za-z0-9]+$/, '')}-baseline`;
}

/**
 * The stable template for the baseline: its version labels (`version`, `app.kubernetes.io/version`; `version`
 * added when it has neither) say baselineVersion. Besides telling queries apart, a Service that selects the
 * stable by version no longer selects the baseline pods.
 */
export function baselineTemplate(template: PodTemplateSpec, stableVersion: string): PodTemplateSpec {
  const copy = structuredClone(template);
  const labels = { ...(copy.metadata?.labels ?? {}) };
  const present = USER_VERSION_LABELS.filter((key) => labels[key] !== undefined);
  for (const key of present.length > 0 ? present : ['version']) labels[key] = baselineVersion(stableVersion);
  copy.metadata = { ...(copy.metadata ?? {}), labels };
  return copy;
}

export interface SideObject {
  role: Role;
  name: string;
  version: string;
  template: PodTemplateSpec;
}

/** A Deployment of `role` beside the stable: same spec, its own selector (stable's labels plus the role), `replicas` pods. */
export function sideDeployment(stable: Deployment, side: SideObject, app: string, replicas: number): Deployment {
  const labels = { [ROLE_LABEL]: side.role, [VERSION_LABEL]: side.version, [APP_LABEL]: app };
  const template = structuredClone(side.template);
  template.metadata = {
    ...(template.metadata ?? {}),
    labels: { ...(template.metadata?.labels ?? {}), ...labels },
  };
  const { replicas: _replicas, selector, template: _template, paused: _paused, ...rest } = stable.spec ?? {};
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: side.name,
      namespace: stable.metadata?.namespace ?? 'default',
      labels: { ...(stable.metadata?.labels ?? {}), ...MANAGED_BY, ...labels },
      annotations: { [STABLE_ANNOTATION]: stable.metadata?.name ?? '' },
    },
    spec: {
      ...rest,
      replicas,
      selector: { matchLabels: { ...(selector?.matchLabels ?? {}), [ROLE_LABEL]: side.role } },
      template,
    },
  };
}

/** A versioned copy of a ConfigMap or Secret, labelled as ours. */
export function configCopy(original: KubeObject, name: string, app: string, version: string): KubeObject {
  const { metadata, ...rest } = original;
  const copy: KubeObject = {
    ...structuredClone(rest),
    metadata: {
      name,
      namespace: metadata?.namespace ?? 'default',
      labels: { ...(metadata?.labels ?? {}), ...MANAGED_BY, [APP_LABEL]: app, [VERSION_LABEL]: version },
      annotations: { [COPY_OF_ANNOTATION]: metadata?.name ?? '' },
    },
  };
  delete (copy as Record<string, unknown>)['status'];
  return copy;
}

/** `app=web,deploy-actions.dev/role=canary`: the selector of a side Deployment's pods. */
export function selectorText(deployment: Deployment): string {
  return Object.entries(deployment.spec?.selector?.matchLabels ?? {})
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
}

/** The same containers with the same images. */
export function equalImages(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((container) => a[container] === b[container]);
}

/** A rollout's version: its workloads' one tag, or their different tags joined (`v1.5+v3.3`). */
export function joinVersions(versions: string[]): string {
  return [...new Set(versions)].join('+');
}
