/** preflight: gates that must pass before a release starts. Inputs only until its issue lands. */
import { defineInputs, string, structured } from '@deploy-actions/core/inputs';
import { kubeInputs } from '@deploy-actions/core/kube';
import { type ActionDefinition, commonInputs } from '@deploy-actions/core/runtime';
import { inputsOnlyOutcome } from '@deploy-actions/core/scaffold';

export const inputs = defineInputs({
  checks: structured({ example: '[{ kube: nodes-ready }, { http: { url: https://api/health } }]' }),
  'prometheus-address': string({ pattern: /^https?:\/\/\S+$/, example: 'http://prometheus:9090' }),
  'fail-on': string({ choices: ['error', 'warning'], default: 'error' }),
  ...kubeInputs,
  ...commonInputs,
});

type Inputs = ReturnType<typeof inputs.parse>;

const preflight: ActionDefinition<Inputs> = {
  name: 'preflight',
  inputs,
  async run(rt, values) {
    return inputsOnlyOutcome(rt, 'preflight', 'a later issue', inputs, values);
  },
};

export default preflight;
