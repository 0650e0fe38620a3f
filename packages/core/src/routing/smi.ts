import type { RouterDeps, RouterState, SmiRouterConfig, TrafficRouter, TrafficTarget } from './types';

export class SmiRouter implements TrafficRouter {
  readonly name = 'smi' as const;
  constructor(
    readonly config: SmiRouterConfig,
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
