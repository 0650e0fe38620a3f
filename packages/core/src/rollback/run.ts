/**
 * A rollback run from the action's inputs, every mode: the inputs checked before the cluster or GitHub
 * changes, then the mode's work (for `auto`, the mode chosen from the cluster), and one outcome for the
 * action to map onto its outputs.
 *
 * | mode | does | file |
 * | --- | --- | --- |
 * | kubernetes, image | `rollout undo` / redeploy a tag, every Deployment at once | deployments.ts |
 * | github | the images of the last good GitHub Deployment | github.ts |
 * | staged | a reverse canary back to the previous template | staged.ts |
 * | in-flight | abort canary-promote's rollout by its record | in-flight.ts |
 * | helm | `helm rollback --wait` | helm.ts |
 * | auto | one of in-flight, image, kubernetes, or nothing to roll back | mode.ts, nothing-to-roll-back.ts |
 */
import { parseRestoreSpec } from '../db/restore';
import { InputError } from '../errors';
import { loggedExec } from '../exec';
import { KubeClient } from '../kube/client';
import { kubeSource, resolveNamespace } from '../kube/inputs';
import { secretsOf } from '../metrics/engine';
import { createRouter } from '../routing';
import type { Runtime } from '../runtime/port';
import { rollbackDeployments } from './deployments';
import { githubMode } from './github';
import { helmMode } from './helm';
import { inFlightMode } from './in-flight';
import {
  checkRollbackInputs,
  checkWorkloadsNamed,
  commonRequest,
  type RollbackInputs,
  refuseDatabaseRestore,
  refuseOthers,
} from './inputs';
import { chooseAutoMode } from './mode';
import { nothingToRollBack, nothingToRollBackOutcome } from './nothing-to-roll-back';
import { outcomeOfReport, type RollbackOutcome } from './outcome';
import { inFlightApp, selectedDeployments } from './select';
import { rollbackStaged } from './staged';
import { parseStagedPlan, type StagedPlan } from './staged-plan';

export async function runRollback(rt: Runtime, values: RollbackInputs): Promise<RollbackOutcome> {
  // The step's deadline starts about now (the timeout input's timer started just before this run).
  const startedAt = rt.clock.now();
  checkRollbackInputs(values);
  if (values.mode === 'helm') return helmMode(rt, values);
  const staged = values.mode === 'staged' ? parseStagedPlan(values) : undefined;
  if (staged) refuseOthers(values, 'staged', ['to-version', 'database-restore']);
  checkWorkloadsNamed(values);
  const databaseRestore =
    values['database-restore'] === undefined
      ? undefined
      : parseRestoreSpec(values['database-restore'], { workspace: rt.workspace, env: rt.env });
  const client = await KubeClient.connect(kubeSource(rt, values), {
    clock: rt.clock,
    signal: rt.signal,
    onRetry: (message) => rt.log.warning(message),
  });
  if (values.mode === 'github')
    // checkRollbackInputs made sure mode github has both.
    return githubMode(rt, client, { ...values, environment: values.environment!, token: values.token! });
  const namespace = resolveNamespace(values.namespace, client.contextNamespace);
  if (staged) return stagedMode(rt, client, { ...values, namespace }, staged);

  let mode = values.mode;
  const app = mode === 'auto' || mode === 'in-flight' ? await inFlightApp(client, namespace, values) : '';
  if (mode === 'auto') {
    mode = await chooseAutoMode(rt, client, { namespace, app, toVersion: values['to-version'] });
    if (mode === 'in-flight')
      refuseDatabaseRestore(values, `in-flight (mode auto found a rollout of ${app} in flight)`);
    // canary-promote aborted the release and the stable it never touched still serves: undo nothing.
    const nothing =
      mode === 'kubernetes'
        ? await nothingToRollBack(rt, client, { namespace, app, reason: values.reason })
        : undefined;
    if (nothing) return nothingToRollBackOutcome(rt, client, nothing, { ...values, namespace });
  }
  if (mode === 'in-flight') return inFlightMode(rt, client, { ...values, namespace }, app, startedAt);
  if (mode !== 'kubernetes' && mode !== 'image') throw new Error(`unexpected mode ${mode}`);
  if (!values.deployments?.length && !values.selector) {
    throw new InputError(
      'deployments',
      `name the Deployments to roll back (or give a selector): no rollout of app ${app} is in flight`,
      undefined,
      'auth-service, user-service',
    );
  }
  const report = await rollbackDeployments(rt, client, {
    mode,
    namespace,
    deployments: values.deployments,
    selector: values.selector,
    toRevision: values['to-revision'],
    toVersion: values['to-version'],
    ...commonRequest(rt, values),
    databaseRestore,
  });
  return outcomeOfReport(report, client, values.environment);
}

/** `mode: staged`: the reverse canary through the router and steps the inputs give. */
async function stagedMode(
  rt: Runtime,
  client: KubeClient,
  values: RollbackInputs & { namespace: string },
  staged: StagedPlan,
): Promise<RollbackOutcome> {
  for (const secret of secretsOf([...staged.analysis, ...staged.steps.flatMap((step) => step.analysis)]))
    rt.mask(secret);
  const app = values.app ?? (await selectedDeployments(client, values.namespace, values))[0] ?? '';
  const report = await rollbackStaged(rt, client, {
    namespace: values.namespace,
    deployments: values.deployments,
    selector: values.selector,
    app,
    toRevision: values['to-revision'],
    steps: staged.steps,
    analysis: staged.analysis,
    router: { kind: staged.kind, config: staged.config },
    makeRouter: (target) =>
      createRouter(staged.kind, staged.config, target, { client, exec: loggedExec(rt), log: rt.log }),
    ...commonRequest(rt, values),
  });
  return outcomeOfReport(report, client, values.environment, { app });
}
