/** SMI: weights of the stable and canary Services in a TrafficSplit's backends. */
import { UserError } from '../errors';
import type { KubeObject } from '../kube/types';
import { canaryServiceOf, pinStableService, stableServiceOf, unpinStableService } from './common';
import type { RouterDeps, SmiRouterConfig, TrafficTarget } from './types';
import { type Entry, type WeightedAdapter, WeightedRouter } from './weighted';

export class SmiRouter extends WeightedRouter {
  readonly name = 'smi' as const;

  constructor(
    private readonly config: SmiRouterConfig,
    target: TrafficTarget,
    deps: RouterDeps,
  ) {
    super(target, deps);
  }

  /** The stable backend Service must not select the canary pods too (see pinStableService). */
  async isolateStable(): Promise<void> {
    await pinStableService(this.deps, this.target, stableServiceOf(this.target, this.config.stableService));
  }

  async releaseStable(): Promise<void> {
    await unpinStableService(this.deps, this.target, stableServiceOf(this.target, this.config.stableService));
  }

  protected adapter(): WeightedAdapter {
    const stable = stableServiceOf(this.target, this.config.stableService);
    const canary = canaryServiceOf(this.target, this.config.canaryService);
    const split = this.config.trafficSplit;
    return {
      kindName: 'TrafficSplit',
      objectName: split,
      howToCreate: `create a TrafficSplit (split.smi-spec.io/${this.config.apiVersion}) named ${split}, e.g. spec: { service: ${stable}-root, backends: [{ service: ${stable}, weight: 100 }] }`,
      resources: [
        { group: 'split.smi-spec.io', version: this.config.apiVersion, plural: 'trafficsplits', namespaced: true },
      ],
      stableLabel: stable,
      canaryLabel: canary,
      canaryService: canary,
      isStable: (e) => e.service === stable,
      isCanary: (e) => e.service === canary,
      canaryEntry: (s) => ({ ...s, service: canary }),
      lists: (object: KubeObject) => {
        const spec = (object.spec ?? {}) as { backends?: Entry[] };
        const backends = spec.backends ?? [];
        if (!backends.some((e) => e.service === stable))
          throw new UserError(`TrafficSplit '${split}' has no backend for the stable Service '${stable}'.`, {
            hint: `add spec.backends: [{ service: ${stable}, weight: 100 }], or set stable-service in router-config`,
          });
        spec.backends = backends;
        object.spec = spec;
        return [{ label: 'backends', entries: backends }];
      },
    };
  }
}
