/**
 * The traffic-shifting inputs canary-promote and rollback's staged mode share, defined once so their names,
 * choices and defaults cannot drift apart (router-config keeps a per-action example).
 */
import { duration, string, structured } from '../inputs';
import type { NoDataPolicy, ParseOptions } from '../metrics/spec';
import { ROUTER_KINDS } from '../routing/types';

export const trafficInputs = {
  pause: duration({ default: '5m' }),
  router: string({ choices: [...ROUTER_KINDS], default: 'replicas' }),
  analysis: structured({ example: '[{ name: restarts, provider: kubernetes, signal: restarts, max: 2 }]' }),
  // A floor: at 0s the checks would run back to back (168 MB of log in two minutes).
  'analysis-interval': duration({ default: '10s', min: 1_000 }),
  // No default: a metric that does not say gets its kind's (pass for an upper limit only, else inconclusive).
  'on-no-data': string({ choices: ['pass', 'fail', 'inconclusive'] }),
};

/** The analysis-interval and on-no-data inputs: the defaults of every metric that gives neither. */
export function analysisDefaults(values: {
  'analysis-interval': number;
  'on-no-data'?: string | undefined;
}): ParseOptions & { defaultInterval: number } {
  return {
    defaultInterval: values['analysis-interval'],
    defaultOnNoData: values['on-no-data'] as NoDataPolicy | undefined,
  };
}
