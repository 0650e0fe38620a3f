/**
 * The traffic-shifting inputs canary-promote and rollback's staged mode share, defined once so their names,
 * choices and defaults cannot drift apart (router-config keeps a per-action example).
 */
import { duration, string, structured } from '../inputs';
import { ROUTER_KINDS } from '../routing/types';

export const trafficInputs = {
  pause: duration({ default: '5m' }),
  router: string({ choices: [...ROUTER_KINDS], default: 'replicas' }),
  analysis: structured({ example: '[{ name: restarts, provider: kubernetes, signal: restarts, max: 2 }]' }),
  // A floor: at 0s the checks would run back to back (168 MB of log in two minutes).
  'analysis-interval': duration({ default: '10s', min: 1_000 }),
};
