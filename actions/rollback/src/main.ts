/** rollback: put the last good version back. Inputs only until issue #7 lands. */
import { InputError } from '@deploy-actions/core/errors';
import { boolean, defineInputs, integer, list, numberList, string, structured } from '@deploy-actions/core/inputs';
import { kubeInputs } from '@deploy-actions/core/kube';
import { type ActionDefinition, commonInputs } from '@deploy-actions/core/runtime';
import { inputsOnlyOutcome } from '@deploy-actions/core/scaffold';

export const inputs = defineInputs({
  mode: string({ choices: ['auto', 'kubernetes', 'image', 'in-flight', 'helm', 'github', 'staged'], default: 'auto' }),
  deployments: list({ example: 'auth-service, user-service, org-service' }),
  selector: string({ example: 'tier=api' }),
  'to-revision': integer({ min: 1, example: '2' }),
  'to-version': string({ example: 'v0.9.5' }),
  release: string({ example: 'api-platform' }),
  steps: numberList({ min: 1, max: 100, increasing: true, example: '25,50,100' }),
  verify: structured({ example: '[{ name: health, request: { url: https://api/health } }]' }),
  reason: string({ example: 'error rate above 5% after v1.4.0' }),
  'database-restore': structured({ example: '{ pg-dump: backups/pre-v1.4.0.dump }' }),
  'confirm-database-restore': boolean({ default: 'false' }),
  ...kubeInputs,
  ...commonInputs,
});

type Inputs = ReturnType<typeof inputs.parse>;

const rollback: ActionDefinition<Inputs> = {
  name: 'rollback',
  inputs,
  async run(rt, values) {
    if (values['database-restore'] !== undefined && !values['confirm-database-restore']) {
      throw new InputError('confirm-database-restore', 'must be true to restore a database', 'false', 'true');
    }
    return inputsOnlyOutcome(rt, 'rollback', 'issue #7', values, inputs.secrets);
  },
};

export default rollback;
