/**
 * rollback: put the last good version back. Modes kubernetes and image (core/rollback), github (the last
 * successful GitHub Deployment, core/rollback/github), staged (a reverse canary, core/rollback/staged),
 * in-flight (abort canary-promote's rollout by its state record) and helm. Every input is checked before
 * the cluster or GitHub changes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { holdVirtualTime } from '@deploy-actions/core/clock';
import { parseRestoreSpec } from '@deploy-actions/core/db';
import { InputError } from '@deploy-actions/core/errors';
import { loggedExec } from '@deploy-actions/core/exec';
import { HelmCli } from '@deploy-actions/core/helm';
import { type ChecksResult, checkSpecInput, renderChecksSummary } from '@deploy-actions/core/http';
import { boolean, defineInputs, integer, list, string, structured } from '@deploy-actions/core/inputs';
import {
  type Deployment,
  findDeployments,
  KubeClient,
  kubeInputs,
  kubeSource,
  loadKubeConfig,
  resolveNamespace,
} from '@deploy-actions/core/kube';
import { type MetricSpec, parseAnalysisSpec, secretsOf } from '@deploy-actions/core/metrics';
import {
  hasRolloutInFlight,
  inFlightApps,
  needsServiceProxy,
  nothingToRollBack,
  type RollbackReport,
  rollbackGitHub,
  rollbackHelm,
  rollbackInFlight,
  rollbackStaged,
  rollback as rollbackWorkloads,
  verify,
} from '@deploy-actions/core/rollback';
import {
  analysisDefaults,
  checkPausesFitTimeout,
  checkTag,
  parseSteps,
  trafficInputs,
} from '@deploy-actions/core/rollout';
import {
  createRouter,
  parseRouterConfig,
  parseRouterKind,
  type RouterConfig,
  type RouterKind,
} from '@deploy-actions/core/routing';
import { type ActionDefinition, commonInputs, type Runtime } from '@deploy-actions/core/runtime';
import { ROLE_LABEL } from '@deploy-actions/core/state';
import { triggeredBy } from './triggered-by';

export const inputs = defineInputs({
  mode: string({ choices: ['auto', 'kubernetes', 'image', 'in-flight', 'helm', 'github', 'staged'], default: 'auto' }),
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

/** Steps, analysis and router of `mode: staged`, parsed before the cluster is touched. */
function parseStagedPlan(values: Inputs) {
  const analysis: MetricSpec[] =
    values.analysis === undefined ? [] : parseAnalysisSpec(values.analysis, analysisDefaults(values));
  const steps = parseSteps(values.steps ?? '25,50,100', {
    pause: values.pause,
    analysis,
    analysisInterval: values['analysis-interval'],
    onNoData: analysisDefaults(values).defaultOnNoData,
  });
  // The reverse canary's pauses must fit in timeout, or it stops half-way with traffic split.
  checkPausesFitTimeout(steps, values.timeout, { stepsGiven: typeof values.steps === 'object' });
  const kind: RouterKind = parseRouterKind(values.router);
  const config = parseRouterConfig(kind, values['router-config']);
  return { analysis, steps, kind, config };
}

/** Inputs that belong to other modes are refused rather than ignored, so a run never does something else than asked. */
function refuseOthers(values: Inputs, mode: string, names: Array<keyof Inputs>) {
  for (const name of names) {
    if (values[name] !== undefined) {
      throw new InputError(
        String(name),
        `is not used by mode: ${mode}`,
        String(values[name]),
        `(remove it, or use another mode)`,
      );
    }
  }
}

const rollback: ActionDefinition<Inputs> = {
  name: 'rollback',
  inputs,
  async run(rt, values) {
    // The step's deadline starts about now (the timeout input's timer started just before this run).
    const startedAt = rt.clock.now();
    if (values['database-restore'] !== undefined && !values['confirm-database-restore']) {
      throw new InputError('confirm-database-restore', 'must be true to restore a database', 'false', 'true');
    }
    if (values.mode === 'helm' || values.mode === 'in-flight') refuseDatabaseRestore(values, values.mode);
    if (values.mode === 'helm') return helmMode(rt, values);
    if (values.mode === 'image' && !values['to-version']) {
      throw new InputError('to-version', 'is required with mode: image', undefined, 'v0.9.5');
    }
    if (values['to-version'] !== undefined) checkTag('to-version', values['to-version'], 'v0.9.5');
    if (values.mode === 'github') {
      if (!values.environment)
        throw new InputError(
          'environment',
          'is required with mode: github (whose history to read)',
          undefined,
          'production',
        );
      if (!values.token)
        throw new InputError('token', 'is required with mode: github', undefined, '${{ github.token }}');
      refuseOthers(values, 'github', ['to-revision', 'to-version', 'database-restore']);
    }
    const staged = values.mode === 'staged' ? parseStagedPlan(values) : undefined;
    if (staged) refuseOthers(values, 'staged', ['to-version', 'database-restore']);
    const appAlone = values.app !== undefined && ['auto', 'in-flight', 'github'].includes(values.mode);
    if (!values.deployments?.length && !values.selector && !appAlone) {
      throw new InputError(
        'deployments',
        'name the Deployments to roll back (or give a selector)',
        undefined,
        'auth-service, user-service',
      );
    }
    const databaseRestore =
      values['database-restore'] === undefined
        ? undefined
        : parseRestoreSpec(values['database-restore'], { workspace: rt.workspace, env: rt.env });
    const client = await KubeClient.connect(kubeSource(rt, values), {
      clock: rt.clock,
      signal: rt.signal,
      onRetry: (message) => rt.log.warning(message),
    });
    if (values.mode === 'github') return githubMode(rt, client, values);
    const namespace = resolveNamespace(values.namespace, client.contextNamespace);
    if (staged) {
      for (const secret of secretsOf([...staged.analysis, ...staged.steps.flatMap((step) => step.analysis)]))
        rt.mask(secret);
      const app = values.app ?? (await selected(client, namespace, values))[0] ?? '';
      const report = await rollbackStaged(rt, client, {
        namespace,
        deployments: values.deployments,
        selector: values.selector,
        app,
        toRevision: values['to-revision'],
        steps: staged.steps,
        analysis: staged.analysis,
        router: { kind: staged.kind, config: staged.config },
        makeRouter: (target) =>
          createRouter(staged.kind, staged.config as RouterConfig, target, {
            client,
            exec: loggedExec(rt),
            log: rt.log,
          }),
        reason: values.reason,
        triggeredBy: triggeredBy(rt.env),
        dryRun: values['dry-run'],
        timeoutMs: values.timeout,
        verify: values.verify,
      });
      return toOutcome(report, client, values.environment, { app });
    }
    let mode = values.mode;
    const app = mode === 'auto' || mode === 'in-flight' ? await inFlightApp(client, namespace, values) : '';
    if (mode === 'auto') {
      mode = (await hasRolloutInFlight(client, namespace, app))
        ? 'in-flight'
        : values['to-version']
          ? 'image'
          : 'kubernetes';
      rt.log.info(`mode auto: ${mode}${mode === 'in-flight' ? ` (a rollout of ${app} is in flight)` : ''}`);
      if (mode === 'in-flight')
        refuseDatabaseRestore(values, `in-flight (mode auto found a rollout of ${app} in flight)`);
      // canary-promote aborted the release and the stable it never touched still serves: undo nothing.
      const nothing =
        mode === 'kubernetes'
          ? await nothingToRollBack(rt, client, { namespace, app, reason: values.reason })
          : undefined;
      if (nothing) {
        refuseDatabaseRestore(
          values,
          `auto here (the release of ${app} was ${nothing.record.phase}: nothing to roll back)`,
        );
        const { record, ...report } = nothing;
        const restored = Object.fromEntries(
          Object.entries(nothing.workloads).map(([name, images]) => [
            name,
            { before: { images }, after: { images }, outcome: 'skipped' },
          ]),
        );
        const who = { namespace, reason: values.reason, triggeredBy: triggeredBy(rt.env) };
        const done = 'Nothing to roll back (the version from before the release still serves)';
        const checked = await verifyAfter(rt, client, namespace, values.verify, done);
        return {
          result: { verdict: nothing.result, mode: 'auto', ...report, phase: record.phase, ...checked.result },
          outputs: { ...textOutputs(nothing.result, { ...who, environment: values.environment }, restored), restored },
          ...checked.failure,
        };
      }
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
    const report = await rollbackWorkloads(rt, client, {
      mode,
      namespace,
      deployments: values.deployments,
      selector: values.selector,
      toRevision: values['to-revision'],
      toVersion: values['to-version'],
      reason: values.reason,
      triggeredBy: triggeredBy(rt.env),
      dryRun: values['dry-run'],
      timeoutMs: values.timeout,
      verify: values.verify,
      databaseRestore,
    });
    return toOutcome(report, client, values.environment);
  },
};

interface RestoredState {
  revision?: number | undefined;
  images?: Record<string, string>;
  chart?: string;
  appVersion?: string;
}

const HEADLINES: Record<string, string> = {
  'rolled-back': 'Rolled back',
  failed: 'Rollback did not finish',
  planned: 'Rollback planned (dry run, nothing changed)',
  skipped: 'Nothing to roll back (already at the target)',
  'nothing-to-roll-back': 'Nothing to roll back',
  aborted: 'Staged rollback aborted (the current version still serves)',
};

/**
 * The string outputs `summary` and `restored-images`: what the notify-webhook message carries (it sends string
 * outputs, at most 200 characters each, so the reason goes last in `summary` and only changed containers are
 * listed), and what a later step can echo.
 */
function textOutputs(
  verdict: string,
  context: {
    namespace: string;
    environment?: string | undefined;
    reason?: string | undefined;
    triggeredBy?: string | undefined;
  },
  restored: Record<string, { before: RestoredState; after: RestoredState; outcome: string }>,
) {
  const where = context.environment
    ? `${context.environment} (namespace ${context.namespace})`
    : `namespace ${context.namespace}`;
  const summary = `${HEADLINES[verdict] ?? verdict} in ${where}, triggered by ${context.triggeredBy ?? 'unknown'}: ${context.reason ?? 'no reason given'}`;
  const describe = (state: RestoredState, other: RestoredState) => {
    const images = Object.entries(state.images ?? {});
    const changed = images.filter(([container, image]) => other.images?.[container] !== image);
    return [
      state.revision === undefined ? '' : `rev ${state.revision}`,
      state.chart ? `${state.chart}${state.appVersion ? ` (app ${state.appVersion})` : ''}` : '',
      (changed.length > 0 ? changed : images).map(([container, image]) => `${container}=${image}`).join(', '),
    ]
      .filter(Boolean)
      .join(' ');
  };
  const restoredImages = Object.entries(restored)
    .map(
      ([name, { before, after, outcome }]) =>
        `${name}: ${describe(before, after)} → ${describe(after, before)}${outcome === 'restored' ? '' : ` (${outcome})`}`,
    )
    .join('; ');
  return { summary, 'restored-images': restoredImages };
}

/** The Deployments the inputs name (the temporary ones of a rollout left out), names sorted as listed. */
async function selected(client: KubeClient, namespace: string, values: Inputs): Promise<string[]> {
  if (!values.deployments?.length && !values.selector) return [];
  const found = await findDeployments(client, { namespace, names: values.deployments, selector: values.selector });
  return found
    .filter((deployment: Deployment) => deployment.metadata?.labels?.[ROLE_LABEL] === undefined)
    .map((deployment) => deployment.metadata?.name ?? '');
}

/**
 * The record key of the rollout to act on: the `app` input; else the one in-flight rollout moving one of the
 * selected Deployments (a canary started with a selector or its own app); else the first Deployment's name
 * (canary-promote's default).
 */
async function inFlightApp(client: KubeClient, namespace: string, values: Inputs): Promise<string> {
  if (values.app) return values.app;
  const names = await selected(client, namespace, values);
  const apps = await inFlightApps(client, namespace, names);
  if (apps.length > 1) {
    throw new InputError(
      'app',
      `rollouts of several apps moving these Deployments are in flight (${apps.join(', ')}): name the one to roll back`,
      undefined,
      apps[0]!,
    );
  }
  return apps[0] ?? names[0] ?? '';
}

/** Outputs, result and failure of the modes that report per workload (kubernetes, image, github, staged). */
function toOutcome(
  report: RollbackReport,
  client: KubeClient,
  environment: string | undefined,
  extra: Record<string, unknown> = {},
) {
  const restored = Object.fromEntries(
    report.workloads.map((workload) => [
      workload.name,
      { before: workload.before, after: workload.after, outcome: workload.outcome },
    ]),
  );
  const failed = report.workloads.filter((workload) => workload.outcome === 'failed');
  const notDone = report.workloads.filter(
    (workload) => workload.outcome === 'failed' || workload.outcome === 'unpatched',
  );
  const githubError = (report as { github?: { error?: string } }).github?.error;
  const failure =
    report.result === 'aborted'
      ? `Staged rollback aborted, the current version still serves: ${failed[0]?.message.replace(/^aborted: /, '') ?? 'stopped'}`
      : failed.length > 0 || report.incomplete
        ? incompleteLine(notDone, report.incomplete)
        : verificationFailure(report.verification)
          ? verificationFailure(report.verification)
          : githubError
            ? `Rolled back in the cluster, but the GitHub Deployments could not be updated: ${githubError}`
            : undefined;
  return {
    result: { verdict: report.result, ...extra, ...report, apiRequests: client.requests },
    outputs: { ...textOutputs(report.result, { ...report, environment }, restored), restored },
    ...(failure ? { failure } : {}),
  };
}

/**
 * database-restore where the rollback is not a change of Deployments we make: refused before anything changes.
 * helm: the release's workloads are Helm's (scaling them to 0 and back is not ours to do); in-flight: aborting
 * puts traffic back on the stable, which the release never changed.
 */
function refuseDatabaseRestore(values: Inputs, mode: string) {
  if (values['database-restore'] === undefined) return;
  const why = mode.startsWith('helm')
    ? "the release's workloads are Helm's to scale, not ours, so the app cannot be stopped around the restore"
    : 'aborting a rollout puts traffic back on the stable version, which it never changed, so no app is stopped and restarted around a restore';
  throw new InputError(
    'database-restore',
    `is not supported with mode: ${mode}: ${why}. Restore the data in its own step first (e.g. a Job from your restore CronJob), or use mode: kubernetes, which stops the app around the restore`,
    values['database-restore'],
    '{ cronjob: db-restore }  (with mode: kubernetes)',
  );
}

/** The `verify` checks after a rollback that is not a change of Deployments (helm, in-flight, nothing to roll back). */
async function verifyAfter(
  rt: Runtime,
  client: KubeClient | undefined,
  namespace: string,
  spec: Inputs['verify'],
  done?: string,
): Promise<{ result?: { verification: ChecksResult }; failure?: { failure: string } }> {
  if (!spec) return {};
  const verification = await verify(rt, client, { namespace }, spec, (event) => rt.log.info(event));
  rt.summary.append(renderChecksSummary(verification, 'Verification after the rollback'));
  const failure = verificationFailure(verification, done);
  return { result: { verification }, ...(failure ? { failure: { failure } } : {}) };
}

function verificationFailure(verification: ChecksResult | undefined, done = 'Rolled back'): string | undefined {
  if (!verification || verification.passed) return undefined;
  return `${done}, but verification failed: ${verification.checks
    .filter((check) => check.outcome === 'failed')
    .map((check) => `${check.name}: ${check.error ?? 'failed'}`)
    .join('; ')}`;
}

/** The error line of a rollback that stopped half-way: the first problem, then what state it left and what next. */
function incompleteLine(notDone: RollbackReport['workloads'], incomplete: string | undefined): string {
  const [first = 'stopped', ...why] = (notDone[0]?.message ?? '').split('\n');
  const names = notDone.map((workload) => `deployment/${workload.name}`).join(', ');
  return [`Rollback did not finish for ${names}: ${first.replace(/\.$/, '')}. ${incomplete ?? ''}`.trim(), ...why].join(
    '\n',
  );
}

/**
 * Mode github: the last successful GitHub Deployment of the environment (for the app: the `app` input, else the
 * first Deployment's name, as canary-promote records it) and its payload's images. The namespace is the input's,
 * else the payload's, else the kubeconfig context's; the Deployments are the inputs', else those the payload's
 * `deployment/container` keys name, else the app's own.
 */
async function githubMode(rt: Runtime, client: KubeClient, values: Inputs) {
  const { createDeploymentRecorder } = await holdVirtualTime(import('@deploy-actions/core/github'));
  const recorder = createDeploymentRecorder(rt, values.token!);
  const environment = values.environment!;
  let app = values.app ?? values.deployments?.[0];
  if (app === undefined && values.selector) {
    const namespace = resolveNamespace(values.namespace, client.contextNamespace);
    app = (await selected(client, namespace, values))[0];
  }
  const found = await recorder.findRollbackTarget(environment, { app });
  const payloadNamespace =
    typeof found.target.payload['namespace'] === 'string' ? found.target.payload['namespace'] : undefined;
  const namespace = resolveNamespace(values.namespace ?? payloadNamespace, client.contextNamespace);
  let deployments = values.deployments;
  if (!deployments?.length && !values.selector) {
    const scoped = [
      ...new Set(
        Object.keys(found.images)
          .filter((key) => key.includes('/'))
          .map((key) => key.slice(0, key.indexOf('/'))),
      ),
    ];
    deployments = scoped.length > 0 ? scoped : app !== undefined ? [app] : undefined;
  }
  rt.log.info(
    `Returning to GitHub Deployment #${found.target.id} of ${environment} (${found.target.ref}, ${found.target.sha.slice(0, 7)})` +
      (found.bad ? `; undoing #${found.bad.id}` : ''),
  );
  const report = await rollbackGitHub(rt, client, recorder, found, {
    environment,
    namespace,
    deployments,
    selector: values.selector,
    reason: values.reason,
    triggeredBy: triggeredBy(rt.env),
    dryRun: values['dry-run'],
    timeoutMs: values.timeout,
    verify: values.verify,
  });
  return toOutcome(report, client, environment, { mode: 'github' });
}

/** Left for the step's own wrap-up when a wait gets the rest of the step's time: its error, which says where things stand, comes before the step's timeout. */
const WAIT_MARGIN_MS = 15_000;

async function inFlightMode(
  rt: Runtime,
  client: KubeClient,
  values: Inputs & { namespace: string },
  app: string,
  startedAt: number,
) {
  if (values['dry-run']) {
    const inFlight = await hasRolloutInFlight(client, values.namespace, app);
    const message = inFlight
      ? `would abort the rollout of ${app} in flight (dry run, nothing changed)`
      : `no rollout of ${app} is in flight: nothing to abort`;
    rt.summary.append(`## Rollback planned: ${message}\n`);
    return { result: { verdict: 'planned', mode: 'in-flight', app, message } };
  }
  const named = [...(values.deployments ?? []), ...(values.selector ? [`selector ${values.selector}`] : [])];
  const outcome = await rollbackInFlight(rt, client, {
    namespace: values.namespace,
    app,
    chosen: values.app
      ? 'the app input'
      : `canary-promote's default, the first Deployment's name: no in-flight record moves ${named.join(', ')}`,
    reason: values.reason,
    triggeredBy: triggeredBy(rt.env),
    force: values.force,
    // Each wait gets what is left of the step's timeout, less a margin, so the wait's own error comes first.
    timeoutMs:
      values.timeout === undefined
        ? undefined
        : Math.max(1_000, startedAt + values.timeout - WAIT_MARGIN_MS - rt.clock.now()),
  });
  const restored = Object.fromEntries(
    (outcome.record?.workloads ?? []).map((workload) => [
      workload.stable,
      { before: { images: workload.canaryImages }, after: { images: workload.stableImages }, outcome: 'restored' },
    ]),
  );
  const who = { namespace: values.namespace, reason: values.reason, triggeredBy: triggeredBy(rt.env) };
  const checked = await verifyAfter(rt, client, values.namespace, values.verify);
  return {
    result: {
      verdict: 'rolled-back',
      mode: 'in-flight',
      app,
      reason: outcome.reason,
      record: outcome.record,
      ...checked.result,
    },
    outputs: { ...textOutputs('rolled-back', { ...who, environment: values.environment }, restored), restored },
    ...checked.failure,
  };
}

async function helmMode(rt: Runtime, values: Inputs) {
  if (!values.release) throw new InputError('release', 'is required with mode: helm', undefined, 'api-platform');
  // Helm reads a kubeconfig file: inline kubeconfig content is written to a private temp file for it.
  let kubeconfigDir: string | undefined;
  let kubeconfigPath: string | undefined;
  let contextNamespace: string | undefined;
  if (values.kubeconfig) {
    const { config } = await loadKubeConfig(kubeSource(rt, values));
    contextNamespace = config.getContextObject(config.getCurrentContext())?.namespace;
    kubeconfigDir = mkdtempSync(join(rt.env['RUNNER_TEMP'] || tmpdir(), 'deploy-actions-helm-'));
    kubeconfigPath = join(kubeconfigDir, 'kubeconfig');
    writeFileSync(kubeconfigPath, config.exportConfig(), { mode: 0o600 });
  }
  try {
    const namespace = resolveNamespace(values.namespace, contextNamespace);
    // Checks through a Service need the API server; connecting first means a bad kubeconfig changes nothing.
    const client =
      values.verify && needsServiceProxy(values.verify)
        ? await KubeClient.connect(kubeSource(rt, values), {
            clock: rt.clock,
            signal: rt.signal,
            onRetry: (message) => rt.log.warning(message),
          })
        : undefined;
    const helm = new HelmCli({ kubeconfigPath, context: values.context, exec: loggedExec(rt) });
    const report = await rollbackHelm(rt, helm, {
      release: values.release,
      namespace,
      toRevision: values['to-revision'],
      reason: values.reason,
      triggeredBy: triggeredBy(rt.env),
      dryRun: values['dry-run'],
      timeoutMs: values.timeout,
    });
    const restored = {
      [values.release]: {
        before: { revision: report.from.revision, chart: report.from.chart, appVersion: report.from.app_version },
        after: report.created
          ? { revision: report.created.revision, chart: report.created.chart, appVersion: report.created.app_version }
          : { revision: report.to.revision, chart: report.to.chart, appVersion: report.to.app_version },
        outcome: report.result === 'planned' ? 'planned' : 'restored',
      },
    };
    const text = textOutputs(report.result, { ...report, environment: values.environment }, restored);
    // `helm rollback --wait` returned: the release's resources are ready, so the checks can run.
    const checked = report.result === 'planned' ? {} : await verifyAfter(rt, client, namespace, values.verify);
    return {
      result: { verdict: report.result, mode: 'helm', ...report, ...checked.result },
      outputs: { ...text, restored },
      ...checked.failure,
    };
  } finally {
    if (kubeconfigDir) rmSync(kubeconfigDir, { recursive: true, force: true });
  }
}

export default rollback;
