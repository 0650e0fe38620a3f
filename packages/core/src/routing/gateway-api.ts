/** Gateway API: weights of the stable and canary Services in an HTTPRoute's rules (backendRefs). */
import { UserError } from '../errors';
import type { KubeObject } from '../kube/types';
import { canaryServiceOf, pinStableService, stableServiceOf, unpinStableService } from './common';
import type { GatewayRouterConfig, RouterDeps, TrafficTarget } from './types';
import { type Entry, type WeightedAdapter, type WeightedList, WeightedRouter } from './weighted';

export class GatewayApiRouter extends WeightedRouter {
  readonly name = 'gateway-api' as const;

  constructor(
    private readonly config: GatewayRouterConfig,
    target: TrafficTarget,
    deps: RouterDeps,
  ) {
    super(target, deps);
  }

  async isolateStable(): Promise<void> {
    await pinStableService(this.deps, this.target, stableServiceOf(this.target, this.config.stableService));
  }

  async releaseStable(): Promise<void> {
    await unpinStableService(this.deps, this.target, stableServiceOf(this.target, this.config.stableService));
  }

  protected adapter(): WeightedAdapter {
    const stable = stableServiceOf(this.target, this.config.stableService);
    const canary = canaryServiceOf(this.target, this.config.canaryService);
    const { namespace } = this.target;
    const route = this.config.httpRoute;
    const isService = (e: Entry, name: string) =>
      e.name === name &&
      (e.kind === undefined || e.kind === 'Service') &&
      (e.group === undefined || e.group === '') &&
      (e.namespace === undefined || e.namespace === namespace);
    return {
      kindName: 'HTTPRoute',
      objectName: route,
      howToCreate: `create an HTTPRoute (gateway.networking.k8s.io/${this.config.apiVersion}) named ${route} whose rule sends traffic to the Service ${stable}, e.g. spec.rules: [{ backendRefs: [{ name: ${stable}, port: 80 }] }]`,
      resources: [
        { group: 'gateway.networking.k8s.io', version: this.config.apiVersion, plural: 'httproutes', namespaced: true },
      ],
      stableLabel: stable,
      canaryLabel: canary,
      canaryService: canary,
      isStable: (e) => isService(e, stable),
      isCanary: (e) => isService(e, canary),
      canaryEntry: (s) => ({ ...s, name: canary }),
      lists: (object: KubeObject): WeightedList[] => {
        const rules = ((object.spec as { rules?: Array<{ name?: string; backendRefs?: Entry[] }> } | undefined)
          ?.rules ?? []) as Array<{ name?: string; backendRefs?: Entry[] }>;
        const wanted = this.config.rules;
        if (wanted) {
          const missing = wanted.filter((n) => !rules.some((r) => r.name === n));
          if (missing.length > 0)
            throw new UserError(
              `HTTPRoute '${route}' has no rule named ${missing.join(', ')} (rules: ${rules.map((r, i) => r.name ?? `#${i} unnamed`).join(', ') || 'none'}).`,
              {
                hint: `name the rule in spec.rules[].name, or drop 'rules' from router-config to use every rule that sends traffic to ${stable}`,
              },
            );
        }
        const lists: WeightedList[] = [];
        rules.forEach((rule, index) => {
          if (wanted && !wanted.includes(rule.name ?? '')) return;
          const refs = rule.backendRefs ?? [];
          if (!refs.some((e) => isService(e, stable))) {
            if (wanted)
              throw new UserError(
                `HTTPRoute '${route}' rule '${rule.name}' has no backendRef to the stable Service '${stable}'.`,
                {
                  hint: `add backendRefs: [{ name: ${stable}, port: 80 }] to the rule`,
                },
              );
            return;
          }
          rule.backendRefs = refs;
          lists.push({ label: rule.name ? `rule "${rule.name}"` : `rule ${index}`, entries: refs });
        });
        if (lists.length === 0)
          throw new UserError(`HTTPRoute '${route}' has no rule with a backendRef to the stable Service '${stable}'.`, {
            hint: `add backendRefs: [{ name: ${stable}, port: 80 }] to a rule, or set stable-service in router-config`,
          });
        return lists;
      },
    };
  }
}
