/**
 * `router-config` (already parsed from YAML) → a typed RouterConfig. Keys are
 * kebab-case like every input; each error names the field and shows an example.
 */
import { InputError } from '../errors';
import { parseDuration } from '../inputs';
import { ROUTER_KINDS, type RouterConfig, type RouterKind } from './types';

const INPUT = 'router-config';

/** One example per router, shown in errors. */
export const ROUTER_CONFIG_EXAMPLES: Record<RouterKind, string> = {
  replicas: '{ service: web }',
  service: '{ active-service: web, preview-service: web-preview, version-label: version }',
  nginx: '{ ingress: web, stable-service: web, canary-service: web-canary }',
  'gateway-api': '{ http-route: web, stable-service: web, canary-service: web-canary }',
  istio: '{ virtual-service: web, routes: [primary], stable-service: web, canary-service: web-canary }',
  smi: '{ traffic-split: web, stable-service: web, canary-service: web-canary }',
  command: '{ set-weight: [aws, elbv2, modify-rule, --weight, "{{weight}}"], abort: [./lb.sh, abort] }',
};

const KEYS: Record<RouterKind, string[]> = {
  replicas: ['service'],
  service: ['active-service', 'preview-service', 'version-label'],
  nginx: ['ingress', 'stable-service', 'canary-service', 'header', 'header-value', 'cookie'],
  'gateway-api': ['http-route', 'rules', 'stable-service', 'canary-service', 'api-version'],
  istio: [
    'virtual-service',
    'routes',
    'stable-service',
    'canary-service',
    'stable-subset',
    'canary-subset',
    'api-version',
  ],
  smi: ['traffic-split', 'stable-service', 'canary-service', 'api-version'],
  command: ['set-weight', 'promote', 'abort', 'validate', 'timeout'],
};

// A DNS-1123 subdomain: what Kubernetes accepts as an object name.
const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function parseRouterKind(value: string | undefined): RouterKind {
  const kind = (value ?? 'replicas').trim();
  if (!(ROUTER_KINDS as readonly string[]).includes(kind))
    throw new InputError('router', `must be one of ${ROUTER_KINDS.join(', ')}`, value, 'nginx');
  return kind as RouterKind;
}

export function parseRouterConfig(kind: RouterKind, value: unknown): RouterConfig {
  const example = ROUTER_CONFIG_EXAMPLES[kind];
  const fail = (problem: string, given?: unknown): never => {
    throw new InputError(INPUT, `${problem} for router '${kind}'`, show(given), example);
  };
  const raw = value ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw)) fail('must be a YAML mapping', value);
  const map = raw as Record<string, unknown>;
  for (const key of Object.keys(map)) {
    if (!KEYS[kind].includes(key)) fail(`unknown field '${key}' (fields: ${KEYS[kind].join(', ')})`, map);
  }
  const name = (key: string, required = false): string | undefined => {
    const v = map[key];
    if (v === undefined || v === null || v === '') {
      if (required) fail(`field '${key}' is required`, map);
      return undefined;
    }
    if (typeof v !== 'string' || !NAME.test(v))
      fail(`field '${key}' must be a Kubernetes object name (lower-case letters, digits, '-', '.')`, v);
    return v as string;
  };
  const text = (key: string): string | undefined => {
    const v = map[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string' || v === '') fail(`field '${key}' must be a non-empty string`, v);
    return v as string;
  };
  const names = (key: string): string[] | undefined => {
    const v = map[key];
    if (v === undefined || v === null) return undefined;
    const list = typeof v === 'string' ? [v] : v;
    if (!Array.isArray(list) || list.length === 0 || list.some((n) => typeof n !== 'string' || n === ''))
      fail(`field '${key}' must be a name or a list of names`, v);
    return list as string[];
  };
  const version = (key: string, allowed: string[], fallback?: string): string | undefined => {
    const v = map[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'string' || !allowed.includes(v)) fail(`field '${key}' must be one of ${allowed.join(', ')}`, v);
    return v as string;
  };
  const services = () => ({
    ...optional('stableService', name('stable-service')),
    ...optional('canaryService', name('canary-service')),
  });

  switch (kind) {
    case 'replicas':
      return { kind, ...optional('service', name('service')) };
    case 'service':
      return {
        kind,
        activeService: name('active-service', true) as string,
        ...optional('previewService', name('preview-service')),
        ...optional('versionLabel', labelKey(map['version-label'], fail)),
      };
    case 'nginx': {
      const header = text('header');
      const headerValue = text('header-value');
      if (headerValue !== undefined && header === undefined) fail(`field 'header-value' needs 'header'`, map);
      return {
        kind,
        ingress: name('ingress', true) as string,
        ...services(),
        ...optional('header', header),
        ...optional('headerValue', headerValue),
        ...optional('cookie', text('cookie')),
      };
    }
    case 'gateway-api':
      return {
        kind,
        httpRoute: name('http-route', true) as string,
        ...optional('rules', names('rules')),
        ...services(),
        apiVersion: version('api-version', ['v1', 'v1beta1'], 'v1') as string,
      };
    case 'istio': {
      const stableSubset = text('stable-subset');
      const canarySubset = text('canary-subset');
      if ((stableSubset === undefined) !== (canarySubset === undefined))
        fail(`fields 'stable-subset' and 'canary-subset' go together`, map);
      return {
        kind,
        virtualService: name('virtual-service', true) as string,
        ...optional('routes', names('routes')),
        ...services(),
        ...optional('stableSubset', stableSubset),
        ...optional('canarySubset', canarySubset),
        ...optional('apiVersion', version('api-version', ['v1', 'v1beta1', 'v1alpha3'])),
      };
    }
    case 'smi':
      return {
        kind,
        trafficSplit: name('traffic-split', true) as string,
        ...services(),
        apiVersion: version('api-version', ['v1alpha2', 'v1alpha3', 'v1alpha4'], 'v1alpha2') as string,
      };
    case 'command': {
      const argv = (key: string, required = false): string[] | undefined => {
        const v = map[key];
        if (v === undefined || v === null) {
          if (required) fail(`field '${key}' is required`, map);
          return undefined;
        }
        // Argument arrays only: a string would need a shell (or our own word splitting) to run.
        if (typeof v === 'string') fail(`field '${key}' must be an argument array, not a command line`, v);
        if (!Array.isArray(v) || v.length === 0 || v.some((a) => typeof a !== 'string' && typeof a !== 'number'))
          fail(`field '${key}' must be a non-empty list of arguments (strings)`, v);
        return (v as unknown[]).map(String);
      };
      let timeoutMs = 120_000;
      if (map.timeout !== undefined) {
        const ms = typeof map.timeout === 'string' ? parseDuration(map.timeout) : undefined;
        if (ms === undefined || ms <= 0) fail(`field 'timeout' must be a duration like 30s or 2m`, map.timeout);
        timeoutMs = ms as number;
      }
      return {
        kind,
        setWeight: argv('set-weight', true) as string[],
        ...optional('promote', argv('promote')),
        ...optional('abort', argv('abort')),
        ...optional('validate', argv('validate')),
        timeoutMs,
      };
    }
  }
}

function labelKey(value: unknown, fail: (problem: string, given?: unknown) => never): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !/^([a-z0-9.-]+\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(value))
    fail(`field 'version-label' must be a label key like version or app.kubernetes.io/version`, value);
  return value as string;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function show(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : JSON.stringify(value);
}
