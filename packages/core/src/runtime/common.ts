/* biome-ignore-all lint/suspicious/noTemplateCurlyInString: examples are workflow expressions, not JS templates */
import { boolean, duration, string, url } from '../inputs/scalars';

/**
 * Inputs every action has (README.md "What every action shares"), except the
 * Kubernetes ones (kubeconfig, context, namespace: `kubeInputs` in core/kube),
 * which actions that never touch a cluster leave out. Actions
 * spread this into their own schema: `defineInputs({ ...commonInputs, spec: structured() })`.
 * `executeAction` itself acts on `timeout` and `notify-webhook`.
 */
export const commonInputs = {
  token: string({ secret: true, example: '${{ github.token }}' }),
  environment: string({ example: 'production' }),
  'notify-webhook': url({ secret: true, example: '${{ secrets.SLACK_WEBHOOK_URL }}' }),
  'dry-run': boolean({ default: 'false' }),
  timeout: duration({ min: 1_000, default: '30m' }),
};

export const COMMON_INPUT_NAMES = Object.keys(commonInputs);
