/** Discovery documents: /version, /api, /apis, /api/v1, /apis/<group>[/<version>]. Legacy (unaggregated) form only. */
import type { ResourceRegistry, ResourceType } from './resources';

export const KUBE_VERSION = { major: '1', minor: '31', gitVersion: 'v1.31.0' };

export function versionInfo(): Record<string, string> {
  return {
    major: KUBE_VERSION.major,
    minor: KUBE_VERSION.minor,
    gitVersion: `${KUBE_VERSION.gitVersion}+kube-sim`,
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2026-01-01T00:00:00Z',
    goVersion: 'go1.22.5',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

export function coreVersions(serverAddress: string): Record<string, unknown> {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

/**
 * The resource types a client is shown. Older versions served from newer storage (batch/v1beta1 CronJob)
 * are shown only to clients that predate the newer one.
 */
function visibleTypes(registry: ResourceRegistry, legacyClient: boolean): ResourceType[] {
  return registry.all().filter((t) => legacyClient || !t.storage);
}

/**
 * Versions per group, preferred first. For old clients a version holding an older alias comes first, so a
 * bare `cronjob` resolves to the version they can decode while batch/v1 manifests still map.
 */
function versionsByGroup(registry: ResourceRegistry, legacyClient: boolean): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const types = visibleTypes(registry, legacyClient);
  const aliasVersions = new Set(types.filter((t) => t.storage).map((t) => `${t.group}/${t.version}`));
  for (const t of types) {
    const versions = out.get(t.group) ?? [];
    if (!versions.includes(t.version)) {
      if (aliasVersions.has(`${t.group}/${t.version}`)) versions.unshift(t.version);
      else versions.push(t.version);
    }
    out.set(t.group, versions);
  }
  return out;
}

function groupDoc(name: string, versions: string[]): Record<string, unknown> {
  const gv = versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
  return { kind: 'APIGroup', apiVersion: 'v1', name, versions: gv, preferredVersion: gv[0] };
}

export function groupList(registry: ResourceRegistry, legacyClient = false): Record<string, unknown> {
  const groups = [...versionsByGroup(registry, legacyClient)]
    .filter(([g]) => g !== '')
    .map(([g, versions]) => {
      const { kind: _k, apiVersion: _a, ...rest } = groupDoc(g, versions);
      return rest;
    });
  return { kind: 'APIGroupList', apiVersion: 'v1', groups };
}

export function group(
  registry: ResourceRegistry,
  name: string,
  legacyClient = false,
): Record<string, unknown> | undefined {
  const versions = versionsByGroup(registry, legacyClient).get(name);
  return versions && name !== '' ? groupDoc(name, versions) : undefined;
}

const SUB_VERBS: Record<string, string[]> = {
  status: ['get', 'patch', 'update'],
  scale: ['get', 'patch', 'update'],
  log: ['get'],
  proxy: ['create', 'delete', 'get', 'patch', 'update'],
};

function entries(t: ResourceType): Record<string, unknown>[] {
  const main: Record<string, unknown> = {
    name: t.resource,
    singularName: t.singular,
    namespaced: t.namespaced,
    kind: t.kind,
    verbs: t.verbs,
  };
  if (t.shortNames.length > 0) main.shortNames = t.shortNames;
  if (t.categories.length > 0) main.categories = t.categories;
  const subs = t.subresources.map((s) => {
    const e: Record<string, unknown> = {
      name: `${t.resource}/${s}`,
      singularName: '',
      namespaced: t.namespaced,
      kind: s === 'scale' ? 'Scale' : s === 'proxy' ? `${t.kind}ProxyOptions` : t.kind,
      verbs: SUB_VERBS[s] ?? ['get'],
    };
    if (s === 'scale') Object.assign(e, { group: 'autoscaling', version: 'v1' });
    return e;
  });
  return [main, ...subs];
}

export function resourceList(
  registry: ResourceRegistry,
  group: string,
  version: string,
  legacyClient = false,
): Record<string, unknown> | undefined {
  const types = visibleTypes(registry, legacyClient).filter((t) => t.group === group && t.version === version);
  if (types.length === 0) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources: types.flatMap(entries),
  };
}
