/** The router for the `router` input, from its parsed `router-config`. */
import { UserError } from '../errors';
import { CommandRouter } from './command';
import { GatewayApiRouter } from './gateway-api';
import { IstioRouter } from './istio';
import { NginxRouter } from './nginx';
import { ReplicasRouter } from './replicas';
import { ServiceRouter } from './service';
import { SmiRouter } from './smi';
import type { RouterConfig, RouterDeps, RouterKind, TrafficRouter, TrafficTarget } from './types';

export function createRouter(
  kind: RouterKind,
  config: RouterConfig,
  target: TrafficTarget,
  deps: RouterDeps,
): TrafficRouter {
  if (config.kind !== kind) throw new Error(`router-config was parsed for '${config.kind}', not '${kind}'`);
  switch (config.kind) {
    case 'replicas':
      return new ReplicasRouter(config, target, deps);
    case 'service':
      return new ServiceRouter(config, target, deps);
    case 'nginx':
      return new NginxRouter(config, target, deps);
    case 'gateway-api':
      return new GatewayApiRouter(config, target, deps);
    case 'istio':
      return new IstioRouter(config, target, deps);
    case 'smi':
      return new SmiRouter(config, target, deps);
    case 'command':
      if (deps.exec === undefined) throw new UserError('The command router needs a way to run commands (exec).');
      return new CommandRouter(config, target, { ...deps, exec: deps.exec });
  }
}
