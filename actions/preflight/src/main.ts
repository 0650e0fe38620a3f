/**
 * preflight: the runbook's pre-deployment checklist as gates (checks, approvals, window, cluster, workload,
 * image, manifests, references, backup, metrics, security, coverage, url) from a policy file or inputs, run
 * at the same time. The domain lives in `@deploy-actions/core/preflight`.
 */
import { defineInputs } from '@deploy-actions/core/inputs';
import { kubeInputs } from '@deploy-actions/core/kube';
import { preflightInputs, runPreflight } from '@deploy-actions/core/preflight';
import { type ActionDefinition, commonInputs } from '@deploy-actions/core/runtime';

export const inputs = defineInputs({
  ...preflightInputs,
  ...kubeInputs,
  ...commonInputs,
});

type Inputs = ReturnType<typeof inputs.parse>;

const preflight: ActionDefinition<Inputs> = {
  name: 'preflight',
  inputs,
  run: (rt, values) => runPreflight(rt, values),
};

export default preflight;
