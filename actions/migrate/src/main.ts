/** migrate: database migrations with a backup first. Inputs only until its issue lands. */
import { defineInputs, filePath, string, structured } from '@deploy-actions/core/inputs';
import { kubeInputs } from '@deploy-actions/core/kube';
import { type ActionDefinition, commonInputs } from '@deploy-actions/core/runtime';
import { inputsOnlyOutcome } from '@deploy-actions/core/scaffold';

export const inputs = defineInputs({
  runner: string({ choices: ['sql', 'command', 'job'], default: 'sql' }),
  'database-url': string({ secret: true, pattern: /^postgres(ql)?:\/\//, example: 'postgres://app@db:5432/app' }),
  migrations: filePath({ example: 'db/migrations' }),
  'migration-command': structured({ example: '["npm", "run", "db:migrate"]' }),
  job: structured({ example: 'k8s/migration-job.yml' }),
  backup: structured({ example: '{ pg-dump: backups/ }' }),
  ...kubeInputs,
  ...commonInputs,
});

type Inputs = ReturnType<typeof inputs.parse>;

const migrate: ActionDefinition<Inputs> = {
  name: 'migrate',
  inputs,
  async run(rt, values) {
    return inputsOnlyOutcome(rt, 'migrate', 'a later issue', inputs, values);
  },
};

export default migrate;
