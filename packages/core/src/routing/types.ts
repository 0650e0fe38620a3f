/**
 * The traffic router contract: one interface that the canary and blue-green
 * orchestration drives, whatever moves the traffic (replica counts, a Service
 * selector, an Ingress, a service mesh, or the user's own commands).
 */
import type { ExecFunction } from '../exec';
import type { KubeClient } from '../kube/client';
import type { Deployment } from '../kube/types';
import type { Logger } from '../runtime/port';

export const ROUTER_KINDS = ['replicas', 'service', 'nginx', 'gateway-api', 'istio', 'smi', 'command'] as const;
export type RouterKind = (typeof ROUTER_KINDS)[number];

/** What a rollout moves traffic between: two Deployments (and their Services, when the router needs them). */
export interface TrafficTarget {
  namespace: string;
  /** The rollout's key (default: the stable Deployment's name); names created objects. */
  app: string;
  stable: { deployment: string; service?: string };
  canary: { deployment: string; service?: string };
  /**
   * Fresh pods of the stable version for comparison (`baseline: true`), the canary's size. They carry the
   * stable's labels, so a Service selecting both versions sends them traffic: the replicas router counts them.
   */
  baseline?: { deployment: string };
}

export interface RouterState {
  /** The weight asked for (0-100). */
  weight: number;
  /** What the platform really serves, e.g. replica ratio 2 of 10 pods = 20%. */
  actualWeight: number;
  /** One sentence for logs and the job summary. */
  detail: string;
}

export interface TrafficRouter {
  /** replicas | service | nginx | gateway-api | istio | smi | command */
  readonly name: RouterKind;
  /**
   * Check that everything the router needs exists (Service, Ingress,
   * HTTPRoute...). Called before anything changes; throws a UserError naming
   * the missing object and how to create it. `planned`: the canary (green) Deployment as it is about to be
   * created, for the checks that need its labels before it exists.
   */
  validate(planned?: { canary?: Deployment | undefined }): Promise<void>;
  /** Send `weight` percent (0-100) to the canary. Idempotent. */
  setWeight(weight: number): Promise<RouterState>;
  /**
   * Full promotion done: traffic back to the stable object (which now runs
   * the new version) and router objects cleaned of canary settings.
   */
  promote(): Promise<void>;
  /** Instant abort: 100% stable, in as few API calls as possible. */
  abort(): Promise<void>;
  /**
   * Routers that size both versions (replicas): give the side that grows for `weight` its pods, never lowering
   * any, so the caller can wait for them to be Ready before `setWeight` (or `abort`) takes pods from the other.
   */
  surge?(weight: number): Promise<void>;
  /**
   * The objects and patches the router would create, for dry-run plans (server-side dryRun=All where possible).
   * `planned`: the canary (green) Deployment as it would be created (a dry run creates nothing).
   */
  plan(weight: number, planned?: { canary?: Deployment | undefined }): Promise<string[]>;
  /**
   * The share `weight` would really get, changing nothing (the replicas router: pods are whole, 5% of 3 pods
   * is 1 of 3 = 33.3%). Routers that split by percentage give exactly the weight and leave it out.
   */
  achievableWeight?(weight: number): Promise<number>;
  /**
   * Routers that split traffic between two Services: keep the stable Service off the canary's pods
   * (which share its labels). Called before canary pods start; idempotent.
   */
  isolateStable?(): Promise<void>;
  /** Undo isolateStable: before the stable takes the new template, and once an aborted canary has no pods. */
  releaseStable?(): Promise<void>;
  /**
   * Before the stable takes the new template: give back what the router held of the stable's autoscaling (the
   * replicas router holds an HPA at the stable's share during the shift), so the stable's full size holds.
   */
  releaseAutoscaler?(): Promise<void>;
  /**
   * Blue-green: point the preview Service (if configured) at the new version, before the preview checks and
   * the switch. Returns a line for the log and summary, or undefined when there is no preview Service.
   */
  preparePreview?(): Promise<string | undefined>;
}

export interface RouterDeps {
  client: KubeClient;
  /** Required by the `command` router. */
  exec?: ExecFunction;
  /** Progress lines (optional). */
  log?: Pick<Logger, 'info' | 'debug' | 'warning'>;
}

/** `router-config` of the `replicas` router. */
export interface ReplicasRouterConfig {
  kind: 'replicas';
  /** The Service in front of stable and canary pods (checked to select both); default: target.stable.service. */
  service?: string;
}

/** `router-config` of the `service` (blue-green) router. */
export interface ServiceRouterConfig {
  kind: 'service';
  /** The Service users reach; its selector is switched in one patch. */
  activeService: string;
  /** A Service pointing at the canary (created when missing, deleted on promote/abort if created here). */
  previewService?: string;
  /** The pod label that tells the versions apart; default: the first template label whose value differs. */
  versionLabel?: string;
}

/** `router-config` of the `nginx` router (ingress-nginx canary annotations). */
export interface NginxRouterConfig {
  kind: 'nginx';
  /** The stable Ingress; the canary one is `<ingress>-canary`. */
  ingress: string;
  /** Default: the target's stable Service, else the stable Deployment's name. */
  stableService?: string;
  /** Default: the target's canary Service, else the canary Deployment's name. */
  canaryService?: string;
  /** `canary-by-header`: requests with this header set to `always` (or headerValue) go to the canary. */
  header?: string;
  headerValue?: string;
  /** `canary-by-cookie`: requests with this cookie set to `always` go to the canary. */
  cookie?: string;
}

/** `router-config` of the `gateway-api` router (HTTPRoute backendRefs weights). */
export interface GatewayRouterConfig {
  kind: 'gateway-api';
  httpRoute: string;
  /** Rule names (`spec.rules[].name`); default: every rule with a backendRef to the stable Service. */
  rules?: string[];
  /** Default: the target's stable Service, else the stable Deployment's name. */
  stableService?: string;
  /** Default: the target's canary Service, else the canary Deployment's name. */
  canaryService?: string;
  apiVersion: string;
}

/** `router-config` of the `istio` router (VirtualService route weights). */
export interface IstioRouterConfig {
  kind: 'istio';
  virtualService: string;
  /** http route names; default: every http route with a destination to the stable host. */
  routes?: string[];
  /** Default: the target's stable Service, else the stable Deployment's name. */
  stableService?: string;
  /** Default: the target's canary Service, else the canary Deployment's name. */
  canaryService?: string;
  /** With subsets, stable and canary share one host and differ by DestinationRule subset. */
  stableSubset?: string;
  canarySubset?: string;
  /** networking.istio.io version; default: v1, then v1beta1. */
  apiVersion?: string;
}

/** `router-config` of the `smi` router (TrafficSplit backends). */
export interface SmiRouterConfig {
  kind: 'smi';
  trafficSplit: string;
  /** Default: the target's stable Service, else the stable Deployment's name. */
  stableService?: string;
  /** Default: the target's canary Service, else the canary Deployment's name. */
  canaryService?: string;
  /** split.smi-spec.io version; default v1alpha2. */
  apiVersion: string;
}

/** `router-config` of the `command` router: argument arrays with {{weight}}, {{canary}}, {{stable}}, {{namespace}}. */
export interface CommandRouterConfig {
  kind: 'command';
  setWeight: string[];
  /**
   * Default: set-weight with weight 0 with a cluster (the stable Deployment has taken the new version, so all
   * traffic goes back to it), 100 without one (no stable Deployment took the new version: 0 would send all
   * traffic back to the old one).
   */
  promote?: string[];
  /** Default: set-weight with weight 0. */
  abort?: string[];
  /** Run by validate(), e.g. a credentials check. */
  validate?: string[];
  timeoutMs: number;
}

export type RouterConfig =
  | ReplicasRouterConfig
  | ServiceRouterConfig
  | NginxRouterConfig
  | GatewayRouterConfig
  | IstioRouterConfig
  | SmiRouterConfig
  | CommandRouterConfig;
