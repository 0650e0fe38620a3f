/**
 * The inputs of a release (canary-promote's, besides the Kubernetes and common ones): declared here, next to
 * the engine that reads them, so the plan's defaults (what "left out" means for `continue`) cannot drift from
 * the action's declaration. The action spreads them into its schema with kubeInputs and commonInputs.
 */
import { InputError } from '../errors';
import { checkSpecInput } from '../http/inputs';
import {
  boolean,
  defineInputs,
  duration,
  filePath,
  type InputValues,
  keyValues,
  list,
  mapSource,
  percentage,
  string,
  structured,
  url,
} from '../inputs';
import type { kubeInputs } from '../kube/inputs';
import type { commonInputs } from '../runtime/common';
import { trafficInputs } from './inputs';

/** The `steps` default: what the runner fills in when the input is not given (the two cannot be told apart). */
export const DEFAULT_STEPS = '5,25,50,100';

export const releaseInputs = {
  strategy: string({ choices: ['canary', 'blue-green', 'rolling', 'helm'], default: 'canary' }),
  action: string({ choices: ['start', 'continue', 'promote', 'abort', 'finalize'], default: 'start' }),
  deployments: list({ example: 'auth-service, user-service' }),
  selector: string({ example: 'tier=api' }),
  app: string({ pattern: /^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$/, example: 'api-platform' }),
  images: keyValues({ example: 'web=ghcr.io/acme/web:v1.2.3' }),
  manifests: list({ example: 'k8s/production/' }),
  'values-file': filePath({ example: 'deploy/production.env' }),
  steps: structured({ default: DEFAULT_STEPS, example: DEFAULT_STEPS }),
  ...trafficInputs,
  'pause-at': percentage({ min: 0, max: 100, example: '50' }),
  'router-config': structured({ example: '{ ingress: web }' }),
  baseline: boolean({ default: 'false' }),
  'on-step-failure': string({ choices: ['abort', 'previous-step'], default: 'abort' }),
  'post-promotion-analysis': duration({ example: '30m' }),
  'preview-checks': checkSpecInput({ example: '[{ name: health, request: { service: web-green:80/health } }]' }),
  // A duration, or `manual`: blue stays until a later finalize or abort.
  'scale-down-delay': string({ default: '30m', example: '30m' }),
  monitor: duration({ example: '10m' }),
  release: string({ example: 'api-platform' }),
  chart: string({ example: 'oci://ghcr.io/acme/charts/api' }),
  'helm-values': list({ example: 'values/production.yaml' }),
  'helm-set': keyValues({ example: 'image.tag=v1.2.3' }),
  'helm-lint': boolean({ default: 'false' }),
  'chart-version': string({ example: '1.4.2' }),
  'image-pull-secrets': list({ example: 'ghcr-pull' }),
  prune: boolean({ default: 'false' }),
  'environment-url': url({ example: 'https://shop.example.com' }),
  'on-cancel': string({ choices: ['abort', 'leave'], default: 'abort' }),
  'weight-rounding': string({ choices: ['exact', 'nearest'], default: 'exact' }),
  force: boolean({ default: 'false' }),
  'api-retry-budget': duration({ default: '2m', example: '2m' }),
};

/** Every input a release reads: its own, the Kubernetes ones and the common ones, parsed. */
export type ReleaseInputs = InputValues<typeof releaseInputs & typeof kubeInputs & typeof commonInputs>;

export type ReleaseAction = ReleaseInputs['action'];

/** Inputs that make up the plan `start` records (later jobs follow the record, not their own). */
export const PLAN_INPUTS = [
  'steps',
  'pause',
  'analysis',
  'analysis-interval',
  'on-no-data',
  'on-step-failure',
  'baseline',
  'post-promotion-analysis',
  'scale-down-delay',
] as const;

let defaults: InputValues<typeof releaseInputs> | undefined;

/** The release inputs as the runner fills them in when a job leaves them out (none of their defaults is a file). */
export function releaseInputDefaults(): InputValues<typeof releaseInputs> {
  defaults ??= defineInputs(releaseInputs).parse(mapSource({}), { workspace: '.' });
  return defaults;
}

/** Secret names: DNS subdomains, as Kubernetes names them. */
const SECRET_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
/** A chart version or constraint (`1.4.2`, `~1.4`, `>=1.2.0 <2`): never something helm would read as a flag. */
const CHART_VERSION = /^[v0-9~^<>=*][-+.0-9A-Za-z~^<>=*|, ]*$/;

/** Inputs that belong to one strategy: refused with another, so nothing the user asked for is silently ignored. */
export function checkStrategyInputs(values: ReleaseInputs): void {
  const only: Array<[keyof ReleaseInputs & string, ReleaseInputs['strategy'], boolean]> = [
    ['image-pull-secrets', 'rolling', (values['image-pull-secrets'] ?? []).length > 0],
    ['prune', 'rolling', values.prune],
    ['helm-lint', 'helm', values['helm-lint']],
    ['chart-version', 'helm', values['chart-version'] !== undefined],
  ];
  if (values.strategy === 'canary' || values.strategy === 'blue-green')
    for (const name of ['manifests', 'values-file'] as const) {
      const given = values[name];
      if (given === undefined || (Array.isArray(given) && given.length === 0)) continue;
      throw new InputError(
        name,
        `applies to strategy rolling only: ${values.strategy} makes the new version from the running Deployment (the images input, and copies of the ConfigMaps and Secrets its pods use now, named <name>-dav-<tag>), so ${name === 'manifests' ? 'manifests' : 'a values file for manifests'} would never be applied: leave it out and give the new images, or release a config change with strategy: rolling`,
        Array.isArray(given) ? given.join(', ') : String(given),
        name === 'manifests'
          ? 'k8s/production/ (with strategy: rolling)'
          : 'deploy/production.env (with strategy: rolling)',
      );
    }
  for (const [name, strategy, given] of only) {
    if (given && values.strategy !== strategy)
      throw new InputError(
        name,
        `applies to strategy ${strategy} only (strategy here: ${values.strategy}); remove it or set strategy: ${strategy}`,
        String(values[name]),
        `strategy: ${strategy}`,
      );
  }
  for (const secret of values['image-pull-secrets'] ?? []) {
    if (!SECRET_NAME.test(secret))
      throw new InputError(
        'image-pull-secrets',
        `"${secret}" is not a Secret name (lower-case letters, digits, '-' and '.')`,
        values['image-pull-secrets']!.join(', '),
        'ghcr-pull, dockerhub-pull',
      );
  }
  const version = values['chart-version'];
  if (version !== undefined && !CHART_VERSION.test(version))
    throw new InputError('chart-version', 'must be a chart version or a version constraint', version, '1.4.2 or ~1.4');
}
