/**
 * ingress-nginx canary: a copy of the stable Ingress named `<ingress>-canary`
 * with `canary: "true"` and `canary-weight` annotations, its backends pointed
 * at the canary Service. ingress-nginx merges it into the stable Ingress'
 * server; deleting it sends all traffic back to stable.
 */
import { UserError } from '../errors';
import { deleteIfPresent, getOptional, getRequired } from '../kube/objects';
import type { Deployment, KubeObject } from '../kube/types';
import {
  canaryServiceOf,
  checkCanaryService,
  integerWeight,
  MANAGED_LABELS,
  pinStableService,
  requireReadyEndpoints,
  stableServiceOf,
  unpinStableService,
} from './common';
import type { NginxRouterConfig, RouterDeps, RouterState, TrafficRouter, TrafficTarget } from './types';

const PREFIX = 'nginx.ingress.kubernetes.io/';
export const CANARY_ANNOTATION = `${PREFIX}canary`;
export const WEIGHT_ANNOTATION = `${PREFIX}canary-weight`;

interface Backend {
  service?: { name?: string; port?: unknown };
  [field: string]: unknown;
}
interface IngressPath {
  path?: string;
  pathType?: string;
  backend?: Backend;
}
interface IngressSpec {
  ingressClassName?: string;
  defaultBackend?: Backend;
  rules?: Array<{ host?: string; http?: { paths?: IngressPath[] } }>;
}

export class NginxRouter implements TrafficRouter {
  readonly name = 'nginx' as const;
  private readonly stableService: string;
  private readonly canaryService: string;

  constructor(
    private readonly config: NginxRouterConfig,
    private readonly target: TrafficTarget,
    private readonly deps: RouterDeps,
  ) {
    this.stableService = stableServiceOf(target, config.stableService);
    this.canaryService = canaryServiceOf(target, config.canaryService);
  }

  get canaryIngressName(): string {
    // Object names stop at 253 characters.
    return `${this.config.ingress.slice(0, 246)}-canary`;
  }

  async validate(planned?: { canary?: Deployment | undefined }): Promise<void> {
    const stable = await this.stableIngress();
    if (stable.metadata?.annotations?.[CANARY_ANNOTATION] === 'true')
      throw new UserError(
        `Ingress '${this.config.ingress}' is itself a canary Ingress (${CANARY_ANNOTATION}: "true").`,
        {
          hint: 'set router-config ingress to the main Ingress of the app',
        },
      );
    this.canaryIngress(stable, 0);
    await getRequired(
      this.deps.client,
      'Service',
      this.target.namespace,
      this.stableService,
      'Service',
      this.serviceHint(this.stableService),
    );
    // Every object the router needs, before the canary Deployment is created.
    await checkCanaryService(
      this.deps.client,
      this.target.namespace,
      this.canaryService,
      planned?.canary,
      this.serviceHint(this.canaryService),
    );
  }

  async setWeight(weight: number): Promise<RouterState> {
    const w = integerWeight(weight);
    const stable = await this.stableIngress();
    const canaryService = await getOptional(this.deps.client, 'Service', this.target.namespace, this.canaryService);
    if (canaryService === undefined)
      throw new UserError(
        `Service '${this.canaryService}' (the canary Service) not found in namespace '${this.target.namespace}'.`,
        {
          hint: this.serviceHint(this.canaryService),
        },
      );
    // The canary's pods are Ready by now: weight goes to the canary Service only with them behind it.
    if (w > 0) await requireReadyEndpoints(this.deps.client, this.target.namespace, this.canaryService);
    await this.apply(this.canaryIngress(stable, w));
    return {
      weight,
      actualWeight: w,
      detail: `Ingress ${this.target.namespace}/${this.canaryIngressName} sends ${w}% to Service ${this.canaryService}`,
    };
  }

  async promote(): Promise<void> {
    await deleteIfPresent(this.deps.client, 'Ingress', this.target.namespace, this.canaryIngressName);
  }

  async abort(): Promise<void> {
    // One DELETE: ingress-nginx drops the canary upstream on its next sync.
    await deleteIfPresent(this.deps.client, 'Ingress', this.target.namespace, this.canaryIngressName);
  }

  async isolateStable(): Promise<void> {
    await pinStableService(this.deps, this.target, this.stableService);
  }

  async releaseStable(): Promise<void> {
    await unpinStableService(this.deps, this.target, this.stableService);
  }

  async plan(weight: number): Promise<string[]> {
    const w = integerWeight(weight);
    const object = this.canaryIngress(await this.stableIngress(), w);
    await this.apply(object, true);
    return [
      `apply Ingress ${this.target.namespace}/${this.canaryIngressName}: ${CANARY_ANNOTATION}="true", ${WEIGHT_ANNOTATION}="${w}", backend Service ${this.canaryService} (server dry run passed)`,
    ];
  }

  private async stableIngress(): Promise<KubeObject> {
    return getRequired(
      this.deps.client,
      'Ingress',
      this.target.namespace,
      this.config.ingress,
      'Ingress',
      `create the app's Ingress (networking.k8s.io/v1, ingressClassName: nginx) with a rule whose backend is the Service ${this.stableService}, or set router-config ingress`,
    );
  }

  private serviceHint(name: string): string {
    return `create a Service named ${name} selecting the ${name === this.canaryService ? 'canary' : 'stable'} pods, or set router-config ${name === this.canaryService ? 'canary' : 'stable'}-service`;
  }

  /** The canary Ingress: the stable one's paths that reach the stable Service, pointed at the canary Service. */
  canaryIngress(stable: KubeObject, weight: number): KubeObject {
    const spec = (stable.spec ?? {}) as IngressSpec;
    const toCanary = (backend: Backend | undefined): Backend | undefined =>
      backend?.service?.name === this.stableService
        ? { ...backend, service: { ...backend.service, name: this.canaryService } }
        : undefined;
    const rules = (spec.rules ?? [])
      .map((rule) => {
        const paths = (rule.http?.paths ?? [])
          .map((p) => ({ ...p, backend: toCanary(p.backend) }))
          .filter((p) => p.backend !== undefined);
        return paths.length > 0 ? { ...rule, http: { paths } } : undefined;
      })
      .filter((r) => r !== undefined);
    const defaultBackend = toCanary(spec.defaultBackend);
    if (rules.length === 0 && defaultBackend === undefined)
      throw new UserError(
        `Ingress '${this.config.ingress}' has no path whose backend is the Service '${this.stableService}'.`,
        {
          hint: `point a path at service: { name: ${this.stableService}, port: { number: 80 } }, or set router-config stable-service`,
        },
      );
    // The main Ingress' nginx settings (rewrite-target...) must hold for the canary too; its canary ones must not.
    const annotations: Record<string, string> = {};
    for (const [key, value] of Object.entries(stable.metadata?.annotations ?? {})) {
      if ((key.startsWith(PREFIX) && !key.startsWith(`${PREFIX}canary`)) || key === 'kubernetes.io/ingress.class')
        annotations[key] = value;
    }
    annotations[CANARY_ANNOTATION] = 'true';
    annotations[WEIGHT_ANNOTATION] = String(weight);
    if (this.config.header) annotations[`${PREFIX}canary-by-header`] = this.config.header;
    if (this.config.headerValue) annotations[`${PREFIX}canary-by-header-value`] = this.config.headerValue;
    if (this.config.cookie) annotations[`${PREFIX}canary-by-cookie`] = this.config.cookie;
    return {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: {
        name: this.canaryIngressName,
        namespace: this.target.namespace,
        labels: { ...MANAGED_LABELS, 'deploy-actions.dev/app': this.target.app },
        annotations,
      },
      spec: {
        ...(spec.ingressClassName ? { ingressClassName: spec.ingressClassName } : {}),
        ...(defaultBackend ? { defaultBackend } : {}),
        ...(rules.length > 0 ? { rules } : {}),
      },
    };
  }

  private async apply(object: KubeObject, dryRun = false): Promise<void> {
    await this.deps.client.patch(
      'Ingress',
      { namespace: this.target.namespace, name: this.canaryIngressName },
      object,
      'apply',
      { force: true, dryRun },
    );
  }
}
