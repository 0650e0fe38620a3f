/**
 * rollback: put the last good version back. Modes kubernetes and image (redeploy a revision or a tag), github
 * (the last successful GitHub Deployment), staged (a reverse canary), in-flight (abort canary-promote's rollout
 * by its state record), helm, and auto (chosen from the cluster). The adapter declares the inputs and maps
 * core's outcome onto the outputs; the rollback itself is `runRollback` (packages/core/src/rollback/run.ts),
 * which checks every input before the cluster or GitHub changes.
 */
import { checkSpecInput } from '@deploy-actions/core/http';
import { boolean, defineInputs, integer, list, string, structured } from '@deploy-actions/core/inputs';
import { kubeInputs } from '@deploy-actions/core/kube';
import { ROLLBACK_MODES, runRollback } from '@deploy-actions/core/rollback';
import { trafficInputs } from '@deploy-actions/core/rollout';
import { type ActionDefinition, commonInputs } from '@deploy-actions/core/runtime';

export const inputs = defineInputs({
  mode: string({ choices: ROLLBACK_MODES, default: 'auto' }),
  deployments: list({ example: 'auth-service, user-service, org-service' }),
  selector: string({ example: 'tier=api' }),
  app: string({ pattern: /^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$/, example: 'api-platform' }),
  'to-revision': integer({ min: 1, example: '2' }),
  'to-version': string({ example: 'v0.9.5' }),
  release: string({ example: 'api-platform' }),
  steps: structured({ example: '25,50,100' }),
  ...trafficInputs,
  'router-config': structured({ example: '{ service: web }' }),
  verify: checkSpecInput({
    example: '[{ name: health, request: { url: https://api/health }, expect: { status: 200 } }]',
  }),
  reason: string({ example: 'error rate above 5% after v1.4.0' }),
  'database-restore': structured({ example: '{ pg-dump: backups/pre-v1.4.0.dump }' }),
  'confirm-database-restore': boolean({ default: 'false' }),
  force: boolean({ default: 'false' }),
  ...kubeInputs,
  ...commonInputs,
});

type Inputs = ReturnType<typeof inputs.parse>;

const rollback: ActionDefinition<Inputs> = {
  name: 'rollback',
  inputs,
  async run(rt, values) {
    const { result, restored, failure } = await runRollback(rt, values);
    return {
      result,
      // summary and restored-images are strings a notify-webhook message can carry; restored is the JSON.
      ...(restored
        ? { outputs: { summary: restored.summary, 'restored-images': restored.images, restored: restored.byName } }
        : {}),
      ...(failure ? { failure } : {}),
    };
  },
};

export default rollback;
