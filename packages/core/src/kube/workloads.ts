/**
 * Finding the workloads an action acts on (by name or label selector) and
 * changing their images: the steps canary-promote, rolling deploys and
 * rollback share. Every check here runs before anything is written, so a typo
 * changes nothing in the cluster.
 */
import { InputError, UserError } from '../errors';
import { ROLE_LABEL, STABLE_ANNOTATION } from '../state/record';
import type { KubeClient } from './client';
import { ownedReplicaSets } from './history';
import { getOptional } from './objects';
import type { Deployment, ReplicaSet } from './types';

export interface WorkloadSelection {
  namespace: string;
  /** Deployment names (the `deployments` input). */
  names?: readonly string[] | undefined;
  /** A label selector (the `selector` input), e.g. `tier=api,team in (auth,org)`. */
  selector?: string | undefined;
}

/** The Deployments named or selected; names keep their order, selected ones sort by name. */
export async function findDeployments(client: KubeClient, selection: WorkloadSelection): Promise<Deployment[]> {
  const { namespace, names = [], selector } = selection;
  if (names.length > 0 && selector) {
    throw new InputError('selector', 'give deployments or selector, not both', selector, 'tier=api');
  }
  if (names.length > 0) {
    const found = await Promise.all(
      names.map((name) => getOptional<Deployment>(client, 'Deployment', namespace, name)),
    );
    const missing = names.filter((_, index) => found[index] === undefined);
    if (missing.length > 0) {
      const existing = await client.list<Deployment>('Deployment', { namespace });
      const known = existing.items.map((item) => item.metadata?.name).join(', ') || 'none';
      throw new UserError(
        `Deployment${missing.length > 1 ? 's' : ''} not found in namespace "${namespace}": ${missing.join(', ')} (Deployments there: ${known})`,
      );
    }
    refuseSideDeployments(names, found as Deployment[]);
    return found as Deployment[];
  }
  if (selector) {
    const list = await client.list<Deployment>('Deployment', { namespace, labelSelector: selector });
    // A canary, baseline or preview Deployment this suite created carries the stable's labels, so the stable's
    // selector matches it too: it is never a stable of its own (rolled back, canaried or counted).
    const own = list.items.filter((item) => item.metadata?.labels?.[ROLE_LABEL] === undefined);
    if (own.length === 0 && list.items.length > 0) {
      const side = list.items.map((item) => item.metadata?.name ?? '').sort();
      throw new InputError(
        'selector',
        `matches only Deployments deploy-actions created beside a stable (${listed(side, 5)}), never a stable itself`,
        selector,
        'app=web',
      );
    }
    if (own.length === 0) throw await noneSelected(client, namespace, selector);
    return own.sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  }
  throw new InputError(
    'deployments',
    'name the Deployments (or give a selector)',
    undefined,
    'auth-service, user-service',
  );
}

/**
 * A named canary, baseline or green Deployment (one this suite created beside a stable) taken for a stable would
 * get a `-canary` of its own, or be rolled back or re-imaged under the rollout that owns it: refused, naming the
 * stable it was made from.
 */
function refuseSideDeployments(names: readonly string[], found: readonly Deployment[]): void {
  const sides = found.filter((deployment) => deployment.metadata?.labels?.[ROLE_LABEL] !== undefined);
  if (sides.length === 0) return;
  const stableOf = (deployment: Deployment) => {
    const name = deployment.metadata?.name ?? '';
    const role = deployment.metadata?.labels?.[ROLE_LABEL];
    if (role === undefined) return name;
    return deployment.metadata?.annotations?.[STABLE_ANNOTATION] || name.replace(/-(canary|baseline|green)$/, '');
  };
  const described = sides.map(
    (side) =>
      `${side.metadata?.name} is the ${side.metadata?.labels?.[ROLE_LABEL]} Deployment deploy-actions created beside ${stableOf(side)} (label ${ROLE_LABEL}: ${side.metadata?.labels?.[ROLE_LABEL]})`,
  );
  throw new InputError(
    'deployments',
    `${described.join('; ')}, not a stable: name the stable Deployment it was made from`,
    names.join(', '),
    [...new Set(found.map(stableOf))].join(', '),
  );
}

const NOT_A_GROUP = new Set(['app.kubernetes.io/managed-by', 'app.kubernetes.io/version', 'helm.sh/chart']);

/** `a, b, c and 4 more`. */
export const listed = (names: string[], max: number) =>
  names.length > max ? `${names.slice(0, max).join(', ')} and ${names.length - max} more` : names.join(', ');

/**
 * A selector that matched nothing: the Deployments the namespace has, and an example built from them (the
 * label most of them share, their names), since the usual slip is a pod template label or a typo.
 */
async function noneSelected(client: KubeClient, namespace: string, selector: string): Promise<UserError> {
  const existing = (await client.list<Deployment>('Deployment', { namespace })).items;
  const names = existing.map((item) => item.metadata?.name ?? '').sort();
  const shared = new Map<string, string[]>();
  for (const item of existing)
    for (const [key, value] of Object.entries(item.metadata?.labels ?? {})) {
      // Labels of the tool that installed them, not of a group of services: a poor example.
      if (NOT_A_GROUP.has(key)) continue;
      const label = `${key}=${value}`;
      shared.set(label, [...(shared.get(label) ?? []), item.metadata?.name ?? '']);
    }
  const best = [...shared].sort(([a, x], [b, y]) => y.length - x.length || a.localeCompare(b))[0];
  const example = best
    ? `selector: ${best[0]} (matches ${listed(best[1].sort(), 3)}), or deployments: ${names.slice(0, 2).join(', ')}`
    : 'selector: app.kubernetes.io/part-of=api, or deployments: auth-service, user-service';
  return new UserError(
    `No Deployment in namespace "${namespace}" matches the selector "${selector}" (Deployments there: ${listed(names, 10) || 'none'}).`,
    {
      hint: `${names.length === 0 ? 'Check the namespace input. ' : ''}A selector matches the Deployments' own labels (metadata.labels), not their pods'. Example: ${example}`,
    },
  );
}

/** The ReplicaSets a Deployment controls (listed by its selector, filtered by controller reference). */
export async function deploymentReplicaSets(client: KubeClient, deployment: Deployment): Promise<ReplicaSet[]> {
  const labelSelector = matchLabelsSelector(deployment);
  const list = await client.list<ReplicaSet>('ReplicaSet', {
    namespace: deployment.metadata?.namespace ?? '',
    ...(labelSelector === '' ? {} : { labelSelector }),
  });
  return ownedReplicaSets(deployment, list.items);
}

/** The Deployment's `matchLabels` as a label selector string (`app=web,tier=api`); '' when it has none. */
export function matchLabelsSelector(deployment: Deployment): string {
  return Object.entries(deployment.spec?.selector?.matchLabels ?? {})
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
}

/**
 * A strategic merge patch that sets container images (`kubectl set image`):
 * containers are merged by name, so the others stay as they are. An image
 * naming a container the Deployment does not have is an error listing the ones it has.
 */
export function setImagesPatch(deployment: Deployment, images: Readonly<Record<string, string>>, input = 'images') {
  const spec = deployment.spec?.template?.spec;
  const containers = new Set((spec?.containers ?? []).map((container) => container.name));
  const initContainers = new Set((spec?.initContainers ?? []).map((container) => container.name));
  const unknown = Object.keys(images).filter((name) => !containers.has(name) && !initContainers.has(name));
  if (unknown.length > 0) {
    const name = deployment.metadata?.name ?? '';
    throw new InputError(
      input,
      `deployment "${name}" has no container ${unknown.map((c) => `"${c}"`).join(', ')}; its containers: ${[...containers, ...initContainers].join(', ')}`,
      describeImages(images),
      `${[...containers][0] ?? 'app'}=ghcr.io/acme/app:v1.2.3`,
    );
  }
  const pick = (names: Set<string>) =>
    Object.entries(images)
      .filter(([container]) => names.has(container))
      .map(([container, image]) => ({ name: container, image }));
  const patchSpec: Record<string, unknown> = {};
  if (pick(containers).length > 0) patchSpec['containers'] = pick(containers);
  if (pick(initContainers).length > 0) patchSpec['initContainers'] = pick(initContainers);
  return { spec: { template: { spec: patchSpec } } };
}

/** Container images as one line, `web=ghcr.io/acme/web:v1.2, log=fluent-bit:3`, as summaries and logs show them. */
export function describeImages(images: Readonly<Record<string, string>>): string {
  return Object.entries(images)
    .map(([container, image]) => `${container}=${image}`)
    .join(', ');
}

/** `ghcr.io/acme/web:v1.2@sha256:..` → `ghcr.io/acme/web` (a registry port's colon is not a tag). */
export function imageRepository(image: string): string {
  const withoutDigest = image.split('@')[0] ?? image;
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  return colon > slash ? withoutDigest.slice(0, colon) : withoutDigest;
}

/** The image with its tag (and any digest) replaced by `tag`. */
export function withTag(image: string, tag: string): string {
  return `${imageRepository(image)}:${tag}`;
}
