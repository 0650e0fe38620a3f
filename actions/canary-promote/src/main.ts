/** canary-promote: progressive delivery (canary, blue-green, rolling, helm). Inputs only until issues #5 and #6 land. */
import { InputError } from '@deploy-actions/core/errors';
import {
  boolean,
  defineInputs,
  duration,
  filePath,
  keyValues,
  list,
  percentage,
  string,
  structured,
} from '@deploy-actions/core/inputs';
import { kubeInputs } from '@deploy-actions/core/kube';
import { type ActionDefinition, commonInputs } from '@deploy-actions/core/runtime';
import { inputsOnlyOutcome } from '@deploy-actions/core/scaffold';

export const inputs = defineInputs({
  strategy: string({ choices: ['canary', 'blue-green', 'rolling', 'helm'], default: 'canary' }),
  action: string({ choices: ['start', 'continue', 'promote', 'abort', 'finalize'], default: 'start' }),
  deployments: list({ example: 'auth-service, user-service' }),
  selector: string({ example: 'tier=api' }),
  images: keyValues({ example: 'web=ghcr.io/acme/web:v1.2.3' }),
  manifests: list({ example: 'k8s/production/' }),
  'values-file': filePath({ example: 'deploy/production.env' }),
  steps: structured({ default: '5,25,50,100', example: '5,25,50,100' }),
  pause: duration({ default: '5m' }),
  'pause-at': percentage({ min: 0, max: 100, example: '50' }),
  router: string({
    choices: ['replicas', 'service', 'nginx', 'gateway-api', 'istio', 'smi', 'command'],
    default: 'replicas',
  }),
  'router-config': structured({ example: '{ ingress: web }' }),
  analysis: structured({ example: '[{ name: restarts, provider: kubernetes, signal: restarts, max: 2 }]' }),
  'analysis-interval': duration({ default: '10s' }),
  baseline: boolean({ default: 'false' }),
  'on-step-failure': string({ choices: ['abort', 'previous-step'], default: 'abort' }),
  'post-promotion-analysis': duration({ example: '30m' }),
  'preview-checks': structured({ example: '[{ name: health, request: { service: web-preview:80/health } }]' }),
  'scale-down-delay': duration({ default: '30m' }),
  monitor: duration({ example: '10m' }),
  release: string({ example: 'api-platform' }),
  chart: string({ example: 'oci://ghcr.io/acme/charts/api' }),
  'helm-values': list({ example: 'values/production.yaml' }),
  'helm-set': keyValues({ example: 'image.tag=v1.2.3' }),
  'on-cancel': string({ choices: ['abort', 'leave'], default: 'abort' }),
  ...kubeInputs,
  ...commonInputs,
});

type Inputs = ReturnType<typeof inputs.parse>;

const canaryPromote: ActionDefinition<Inputs> = {
  name: 'canary-promote',
  inputs,
  async run(rt, values) {
    if (!values.deployments && !values.selector && !values.manifests && values.strategy !== 'helm') {
      throw new InputError('deployments', 'is required (or selector, or manifests)', undefined, 'web');
    }
    return inputsOnlyOutcome(rt, 'canary-promote', 'issues #5 and #6', inputs, values);
  },
};

export default canaryPromote;
