import type { RouterDeps, RouterState, ServiceRouterConfig, TrafficRouter, TrafficTarget } from './types';

export class ServiceRouter implements TrafficRouter {
  readonly name = 'service' as const;
  constructor(
    readonly config: ServiceRouterConfig,
    readonly target: TrafficTarget,
    readonly deps: RouterDeps,
  ) {}
  async validate(): Promise<void> {
    throw new Error('not implemented yet');
  }
  async setWeight(_weight: number): Promise<RouterState> {
    throw new Error('not implemented yet');
  }
  async promote(): Promise<void> {
    throw new Error('not implemented yet');
  }
  async abort(): Promise<void> {
    throw new Error('not implemented yet');
  }
  async plan(_weight: number): Promise<string[]> {
    throw new Error('not implemented yet');
  }
}
