/** Istio: weights of the stable and canary destinations in a VirtualService's http routes (by host or subset). */
import { UserError } from '../errors';
import type { ResourceType } from '../kube/resources';
import type { KubeObject } from '../kube/types';
import { canaryServiceOf, hostMatches, pinStableService, stableServiceOf, unpinStableService } from './common';
import type { IstioRouterConfig, RouterDeps, TrafficTarget } from './types';
import { type Entry, type WeightedAdapter, type WeightedList, WeightedRouter } from './weighted';

const vs = (version: string): ResourceType => ({
  group: 'networking.istio.io',
  version,
  plural: 'virtualservices',
  namespaced: true,
});

export class IstioRouter extends WeightedRouter {
  readonly name = 'istio' as const;

  constructor(
    private readonly config: IstioRouterConfig,
    target: TrafficTarget,
    deps: RouterDeps,
  ) {
    super(target, deps);
  }

  /**
   * Host-based routing: the stable host's Service must not select the canary pods too (see pinStableService).
   * With subsets both versions sit behind the one Service and the DestinationRule's subsets tell them
   * apart: pinning it would take the canary subset's endpoints away, so it is left alone.
   */
  async isolateStable(): Promise<void> {
    if (this.config.stableSubset !== undefined) return;
    await pinStableService(this.deps, this.target, stableServiceOf(this.target, this.config.stableService));
  }

  async releaseStable(): Promise<void> {
    if (this.config.stableSubset !== undefined) return;
    await unpinStableService(this.deps, this.target, stableServiceOf(this.target, this.config.stableService));
  }

  protected adapter(): WeightedAdapter {
    const { namespace } = this.target;
    const stable = stableServiceOf(this.target, this.config.stableService);
    const subsets = this.config.stableSubset !== undefined;
    // With subsets both destinations use the stable host and differ by subset (DestinationRule).
    const canary = subsets ? stable : canaryServiceOf(this.target, this.config.canaryService);
    const name = this.config.virtualService;
    const destination = (e: Entry) => (e.destination ?? {}) as { host?: string; subset?: string };
    const matches = (e: Entry, host: string, subset: string | undefined) =>
      hostMatches(destination(e).host, host, namespace) && (subset === undefined || destination(e).subset === subset);
    const isStable = (e: Entry) => matches(e, stable, this.config.stableSubset);
    const label = (host: string, subset?: string) => (subset ? `${host}/${subset}` : host);
    return {
      kindName: 'VirtualService',
      objectName: name,
      howToCreate: `create a VirtualService named ${name} with an http route to the stable host, e.g. spec: { hosts: [${stable}], http: [{ name: primary, route: [{ destination: { host: ${stable} }, weight: 100 }] }] }`,
      resources: this.config.apiVersion ? [vs(this.config.apiVersion)] : [vs('v1'), vs('v1beta1')],
      stableLabel: label(stable, this.config.stableSubset),
      canaryLabel: label(canary, this.config.canarySubset),
      // With subsets the canary shares the stable's host: no Service of its own to check.
      ...(subsets ? {} : { canaryService: canary }),
      isStable,
      isCanary: (e) => matches(e, canary, this.config.canarySubset) && !isStable(e),
      canaryEntry: (s) => ({
        ...s,
        destination: {
          ...destination(s),
          host: subsets ? destination(s).host : canary,
          ...(subsets ? { subset: this.config.canarySubset } : {}),
        },
      }),
      lists: (object: KubeObject): WeightedList[] => {
        const http = ((object.spec as { http?: Array<{ name?: string; route?: Entry[] }> } | undefined)?.http ??
          []) as Array<{ name?: string; route?: Entry[] }>;
        const wanted = this.config.routes;
        if (wanted) {
          const missing = wanted.filter((n) => !http.some((r) => r.name === n));
          if (missing.length > 0)
            throw new UserError(
              `VirtualService '${name}' has no http route named ${missing.join(', ')} (routes: ${http.map((r, i) => r.name ?? `#${i} unnamed`).join(', ') || 'none'}).`,
              { hint: `name the route in spec.http[].name, or drop 'routes' from router-config` },
            );
        }
        const lists: WeightedList[] = [];
        http.forEach((route, index) => {
          if (wanted && !wanted.includes(route.name ?? '')) return;
          const destinations = route.route ?? [];
          if (!destinations.some(isStable)) {
            if (wanted)
              throw new UserError(
                `VirtualService '${name}' route '${route.name}' has no destination ${label(stable, this.config.stableSubset)}.`,
                {
                  hint: `add route: [{ destination: { host: ${stable} }, weight: 100 }]`,
                },
              );
            return;
          }
          route.route = destinations;
          lists.push({ label: route.name ? `route "${route.name}"` : `http[${index}]`, entries: destinations });
        });
        if (lists.length === 0)
          throw new UserError(
            `VirtualService '${name}' has no http route to ${label(stable, this.config.stableSubset)}.`,
            {
              hint: `add http: [{ route: [{ destination: { host: ${stable} } }] }], or set stable-service / stable-subset in router-config`,
            },
          );
        return lists;
      },
    };
  }
}
