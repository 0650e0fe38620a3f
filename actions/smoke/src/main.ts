/** smoke: HTTP smoke checks and a load gate. Inputs only until issue #4 lands. */
import { InputError } from '@deploy-actions/core/errors';
import { defineInputs, duration, integer, string, structured } from '@deploy-actions/core/inputs';
import { kubeInputs } from '@deploy-actions/core/kube';
import { type ActionDefinition, commonInputs } from '@deploy-actions/core/runtime';
import { inputsOnlyOutcome } from '@deploy-actions/core/scaffold';

export const inputs = defineInputs({
  spec: structured({ example: '[{ name: health, request: { url: https://api/health }, expect: { status: 200 } }]' }),
  url: string({ pattern: /^https?:\/\/\S+$/, example: 'https://api.example.com/health' }),
  'expect-status': string({
    default: '200',
    pattern: /^([1-5]\d\d|[1-5]xx)(\s*,\s*([1-5]\d\d|[1-5]xx))*$/,
    example: '200',
  }),
  retries: integer({ default: '0', min: 0, max: 1000 }),
  'retry-interval': duration({ default: '10s' }),
  load: structured({ example: '{ url: https://api/health, rate: 1000, duration: 30s }' }),
  ...kubeInputs,
  ...commonInputs,
});

type Inputs = ReturnType<typeof inputs.parse>;

const smoke: ActionDefinition<Inputs> = {
  name: 'smoke',
  inputs,
  async run(rt, values) {
    if (!values.spec && !values.url && !values.load) {
      throw new InputError(
        'spec',
        'is required (or url, or load)',
        undefined,
        '[{ name: health, request: { url: https://api/health } }]',
      );
    }
    return inputsOnlyOutcome(rt, 'smoke', 'issue #4', inputs, values);
  },
};

export default smoke;
