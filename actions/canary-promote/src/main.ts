/**
 * canary-promote: progressive delivery from workflow steps. Canary and
 * blue-green run the state machine of @deploy-actions/core/rollout; rolling
 * and helm go to @deploy-actions/core/deploy. This adapter parses inputs,
 * validates everything before the cluster changes, holds the app's lease for
 * the run, and turns the outcome into outputs and the job summary.
 */

import { holdVirtualTime } from '@deploy-actions/core/clock';
import {
  type ChangePlan,
  type DeployOutcome,
  renderDeploySummary,
  runHelm,
  runRolling,
  toActionOutcome,
  undoCancelledDeploy,
} from '@deploy-actions/core/deploy';
import { InputError, UserError } from '@deploy-actions/core/errors';
import { loggedExec } from '@deploy-actions/core/exec';
import type { ReleaseContent, ReleaseTracker } from '@deploy-actions/core/github';
import { checkSpecInput, kubeServiceProxy, runChecks } from '@deploy-actions/core/http';
import {
  boolean,
  defineInputs,
  duration,
  filePath,
  keyValues,
  list,
  mapSource,
  parseDuration,
  percentage,
  string,
  structured,
  url,
} from '@deploy-actions/core/inputs';
import {
  type Deployment,
  findDeployments,
  KubeClient,
  kubeInputs,
  kubeSource,
  resolveNamespace,
} from '@deploy-actions/core/kube';
import { parseAnalysisSpec, secretsOf } from '@deploy-actions/core/metrics';
import {
  analysisDefaults,
  CommandRollout,
  checkImageReferences,
  imagesFor,
  NO_CLUSTER_NOTE,
  type PostPromotionPlan,
  parsePostPromotion,
  parseRouterChoice,
  parseSteps,
  parseTrafficPlan,
  postPromotionNote,
  Rollout,
  type RolloutOutcome,
  renderRolloutSummary,
  switchNote,
  trafficInputs,
  versionOf,
} from '@deploy-actions/core/rollout';
import {
  CommandRouter,
  type CommandRouterConfig,
  createRouter,
  type ExecFunction,
  parseRouterConfig,
  type RouterConfig,
  type RouterKind,
} from '@deploy-actions/core/routing';
import {
  type ActionDefinition,
  type ActionOutcome,
  commonInputs,
  failedWith,
  type Runtime,
} from '@deploy-actions/core/runtime';
import {
  githubRunEnded,
  IN_FLIGHT_PHASES,
  REDACTED,
  RecordStore,
  RolloutLease,
  type RolloutPlan,
  type RolloutRecord,
  readLease,
  readRolloutRecord,
  runIdentity,
} from '@deploy-actions/core/state';

export const inputs = defineInputs({
  strategy: string({ choices: ['canary', 'blue-green', 'rolling', 'helm'], default: 'canary' }),
  action: string({ choices: ['start', 'continue', 'promote', 'abort', 'finalize'], default: 'start' }),
  deployments: list({ example: 'auth-service, user-service' }),
  selector: string({ example: 'tier=api' }),
  app: string({ pattern: /^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$/, example: 'api-platform' }),
  images: keyValues({ example: 'web=ghcr.io/acme/web:v1.2.3' }),
  manifests: list({ example: 'k8s/production/' }),
  'values-file': filePath({ example: 'deploy/production.env' }),
  steps: structured({ default: '5,25,50,100', example: '5,25,50,100' }),
  ...trafficInputs,
  'pause-at': percentage({ min: 0, max: 100, example: '50' }),
  'router-config': structured({ example: '{ ingress: web }' }),
  baseline: boolean({ default: 'false' }),
  'on-step-failure': string({ choices: ['abort', 'previous-step'], default: 'abort' }),
  'post-promotion-analysis': duration({ example: '30m' }),
  'preview-checks': checkSpecInput({ example: '[{ name: health, request: { service: web-green:80/health } }]' }),
  // A duration, or `manual`: blue stays until a later finalize or abort.
  'scale-down-delay': string({ default: '30m', example: '30m' }),
  monitor: duration({ example: '10m' }),
  release: string({ example: 'api-platform' }),
  chart: string({ example: 'oci://ghcr.io/acme/charts/api' }),
  'helm-values': list({ example: 'values/production.yaml' }),
  'helm-set': keyValues({ example: 'image.tag=v1.2.3' }),
  'helm-lint': boolean({ default: 'false' }),
  'chart-version': string({ example: '1.4.2' }),
  'image-pull-secrets': list({ example: 'ghcr-pull' }),
  prune: boolean({ default: 'false' }),
  'environment-url': url({ example: 'https://shop.example.com' }),
  'on-cancel': string({ choices: ['abort', 'leave'], default: 'abort' }),
  'weight-rounding': string({ choices: ['exact', 'nearest'], default: 'exact' }),
  force: boolean({ default: 'false' }),
  'api-retry-budget': duration({ default: '2m', example: '2m' }),
  ...kubeInputs,
  ...commonInputs,
});

type Inputs = ReturnType<typeof inputs.parse>;
/** Inputs once the namespace is known (the input, else the kubeconfig context's, else `default`). */
type Resolved = Inputs & { namespace: string };

/** State names shared by the main and post phases. */
const STATE_APP = 'rollout-app';
const STATE_DONE = 'rollout-finished';
const STATE_DEPLOYMENT = 'github-deployment';
/** `command` when main ran the command router without a cluster: the post step runs the abort command. */
const STATE_MODE = 'rollout-mode';
/** Rolling / helm: the namespace the record is in (a manifest's own may differ from the input's). */
const STATE_NAMESPACE = 'deploy-namespace';

/** Secret names: DNS subdomains, as Kubernetes names them. */
const SECRET_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
/** A chart version or constraint (`1.4.2`, `~1.4`, `>=1.2.0 <2`): never something helm would read as a flag. */
const CHART_VERSION = /^[v0-9~^<>=*][-+.0-9A-Za-z~^<>=*|, ]*$/;

/** Inputs that belong to one strategy: refused with another, so nothing the user asked for is silently ignored. */
function checkStrategyInputs(values: Inputs): void {
  const only: Array<[keyof Inputs & string, Inputs['strategy'], boolean]> = [
    ['image-pull-secrets', 'rolling', (values['image-pull-secrets'] ?? []).length > 0],
    ['prune', 'rolling', values.prune],
    ['helm-lint', 'helm', values['helm-lint']],
    ['chart-version', 'helm', values['chart-version'] !== undefined],
  ];
  if (values.strategy === 'canary' || values.strategy === 'blue-green')
    for (const name of ['manifests', 'values-file'] as const) {
      const given = values[name];
      if (given === undefined || (Array.isArray(given) && given.length === 0)) continue;
      throw new InputError(
        name,
        `applies to strategy rolling only: ${values.strategy} makes the new version from the running Deployment (the images input, and copies of the ConfigMaps and Secrets its pods use now, named <name>-dav-<tag>), so ${name === 'manifests' ? 'manifests' : 'a values file for manifests'} would never be applied: leave it out and give the new images, or release a config change with strategy: rolling`,
        Array.isArray(given) ? given.join(', ') : String(given),
        name === 'manifests'
          ? 'k8s/production/ (with strategy: rolling)'
          : 'deploy/production.env (with strategy: rolling)',
      );
    }
  for (const [name, strategy, given] of only) {
    if (given && values.strategy !== strategy)
      throw new InputError(
        name,
        `applies to strategy ${strategy} only (strategy here: ${values.strategy}); remove it or set strategy: ${strategy}`,
        String(values[name]),
        `strategy: ${strategy}`,
      );
  }
  for (const secret of values['image-pull-secrets'] ?? []) {
    if (!SECRET_NAME.test(secret))
      throw new InputError(
        'image-pull-secrets',
        `"${secret}" is not a Secret name (lower-case letters, digits, '-' and '.')`,
        values['image-pull-secrets']!.join(', '),
        'ghcr-pull, dockerhub-pull',
      );
  }
  const version = values['chart-version'];
  if (version !== undefined && !CHART_VERSION.test(version))
    throw new InputError('chart-version', 'must be a chart version or a version constraint', version, '1.4.2 or ~1.4');
}

/**
 * The GitHub Deployment recorder for this run, or undefined (dry run, or no token / environment: a debug line).
 * The GitHub module is loaded only when a Deployment is to be recorded.
 */
async function releaseTracker(rt: Runtime, values: Inputs): Promise<ReleaseTracker | undefined> {
  if (values['dry-run']) return undefined;
  if (!values.token || !values.environment) {
    rt.log.debug(
      `No GitHub Deployment is recorded: ${values.token ? 'no environment' : 'no token'} input (both are needed)`,
    );
    return undefined;
  }
  const { ReleaseTracker } = await holdVirtualTime(import('@deploy-actions/core/github'));
  return ReleaseTracker.create(rt, {
    token: values.token,
    environment: values.environment,
    environmentUrl: values['environment-url'],
  });
}

/** The payload of a canary or blue-green release: per workload the images it will run. */
async function startRelease(
  rt: Runtime,
  tracker: ReleaseTracker,
  content: ReleaseContent,
  description: string,
): Promise<void> {
  const { releasePayload } = await holdVirtualTime(import('@deploy-actions/core/github'));
  await tracker.start(releasePayload(content), description);
  if (tracker.record) rt.state.save(STATE_DEPLOYMENT, String(tracker.record.id));
}

/** The Deployment a `start` of this release created: same app, namespace and new version, still in progress. */
function sameRelease(record: RolloutRecord) {
  return (payload: Record<string, unknown>) =>
    payload['app'] === record.app &&
    payload['namespace'] === record.namespace &&
    payload['strategy'] === record.strategy &&
    payload['version'] === record.canaryVersion;
}

/** promoted → success (the replaced release → inactive), paused → still in progress, aborted → failure. */
async function recordOutcome(tracker: ReleaseTracker | undefined, outcome: RolloutOutcome): Promise<void> {
  if (tracker?.record === undefined) return;
  if (outcome.result === 'promoted') await tracker.succeed(outcome.reason);
  // The reason says at which weight it stopped and how to go on.
  else if (outcome.result === 'paused') await tracker.progress(outcome.reason);
  else if (outcome.result === 'aborted' || outcome.result === 'rolled-back') await tracker.fail(outcome.reason);
}

/** Everything from the inputs that needs no cluster: steps, analysis, router config. Bad input fails here. */
function parsePlan(values: Inputs) {
  return { ...parseTraffic(values), ...parseRouter(values) };
}

/** Steps, analysis, post-promotion and scale-down: the part of the plan the record keeps. */
function parseTraffic(values: Inputs) {
  const traffic = parseTrafficPlan(values, {
    strategy: values.strategy as 'canary' | 'blue-green',
    defaultSteps: DEFAULT_STEPS,
    ...(values.action === 'start' ? { timeoutMs: values.timeout, pauseAt: values['pause-at'] } : {}),
  });
  return {
    ...traffic,
    // A later job's own post-promotion-analysis is compared with the record, not checked alone.
    postPromotion:
      values.action === 'start'
        ? parsePostPromotion(values['post-promotion-analysis'], traffic.analysis, traffic.steps)
        : undefined,
    scaleDownDelay: scaleDownDelayOf(values['scale-down-delay']),
  };
}

/** The `steps` default: what the runner fills in when the input is not given (the two cannot be told apart). */
const DEFAULT_STEPS = '5,25,50,100';

function parseRouter(values: Inputs) {
  const { kind, config } = parseRouterChoice(values, values.strategy as 'canary' | 'blue-green');
  return { kind, routerConfig: config };
}

function scaleDownDelayOf(text: string): number | 'manual' {
  if (text === 'manual') return 'manual';
  const ms = parseDuration(text);
  if (ms === undefined)
    throw new InputError(
      'scale-down-delay',
      'must be a duration (30s, 5m, 1h30m) or manual (blue stays until action: finalize or abort)',
      text,
      '30m',
    );
  return ms;
}

/** Inputs that make up the plan `start` records. */
const PLAN_INPUTS = [
  'steps',
  'pause',
  'analysis',
  'analysis-interval',
  'on-no-data',
  'on-step-failure',
  'baseline',
  'post-promotion-analysis',
  'scale-down-delay',
] as const;

/** `value` with every secret string replaced by REDACTED (the record is a ConfigMap anyone reading the namespace sees). */
function redact<T>(value: T, secrets: readonly string[]): T {
  const hidden = new Set(secrets.filter((secret) => secret !== ''));
  return JSON.parse(
    JSON.stringify(value, (_key, item) => (typeof item === 'string' && hidden.has(item) ? REDACTED : item)),
  ) as T;
}

function planSecrets(plan: ReturnType<typeof parseTraffic>): string[] {
  return secretsOf([
    ...plan.analysis,
    ...plan.steps.flatMap((s) => s.analysis),
    ...(plan.postPromotion?.metrics ?? []),
  ]);
}

/** What `start` saves in the record: the parsed plan and the inputs it came from, secrets redacted. */
function recordedPlan(values: Inputs, plan: ReturnType<typeof parsePlan>): RolloutPlan {
  const secrets = planSecrets(plan);
  return redact(
    {
      steps: plan.steps,
      onStepFailure: values['on-step-failure'] as 'abort' | 'previous-step',
      baseline: values.baseline,
      ...(plan.postPromotion
        ? { postPromotion: { duration: plan.postPromotion.duration, metrics: plan.postPromotion.metrics } }
        : {}),
      ...(values.strategy === 'blue-green' ? { scaleDownDelay: plan.scaleDownDelay } : {}),
      inputs: Object.fromEntries(PLAN_INPUTS.map((name) => [name, values[name] ?? null])),
    },
    secrets,
  );
}

/**
 * continue / promote / finalize follow the plan `start` recorded, not this job's inputs. An input left at
 * its default counts as not given (on GitHub the runner fills defaults in, so they cannot be told apart);
 * one given with another value than the record's is refused: to change the plan, abort and start again.
 * Secrets the record does not keep come from this job's inputs, which must then match the record.
 */
function planFromRecord(rt: Runtime, values: Inputs, record: RolloutRecord): Inputs {
  const saved = record.plan;
  if (saved === undefined) {
    rt.log.warning(
      `The record of ${record.app} was written before the plan was kept in it: this job's inputs (steps, pause, analysis) are used`,
    );
    return values;
  }
  const defaults = inputs.parse(mapSource({}), { workspace: rt.workspace });
  const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
  const given = (name: keyof Inputs & string) => !same(values[name], defaults[name]);
  const secrets = secretsOf([
    ...(values.analysis === undefined ? [] : parseAnalysisSpec(values.analysis, analysisDefaults(values))),
    ...parseSteps(values.steps, {
      pause: values.pause,
      analysis: [],
      analysisInterval: values['analysis-interval'],
    }).flatMap((s) => s.analysis),
  ]);
  const effective: Record<string, unknown> = { ...values };
  for (const name of PLAN_INPUTS) {
    const recorded = saved.inputs[name] ?? undefined;
    if (given(name) && !same(redact(values[name], secrets), recorded))
      throw new InputError(
        name,
        `differs from the plan the rollout of ${record.app} started with (run ${record.runUrl ?? record.runId ?? 'unknown'}); ${values.action} follows the recorded plan: leave ${name} out, give the same value, or abort and start again`,
        typeof values[name] === 'string' ? (values[name] as string) : JSON.stringify(values[name]),
        typeof recorded === 'string' ? recorded : JSON.stringify(recorded),
      );
    // Given and equal to the record: this job's value (it holds the secrets the record does not).
    if (!given(name)) effective[name] = recorded;
    if (JSON.stringify(effective[name] ?? null).includes(REDACTED))
      throw new InputError(
        name,
        `holds secrets (Datadog keys, credential headers) the rollout record does not keep: give ${name} again, the same as at start`,
        undefined,
        'the same analysis as the start job, with its secrets',
      );
  }
  if (
    given('router') &&
    values.router !== record.router.kind &&
    !(record.strategy === 'blue-green' && values.router === 'replicas')
  )
    throw new InputError(
      'router',
      `differs from the router the rollout of ${record.app} started with (${record.router.kind}); leave it out`,
      values.router,
      record.router.kind,
    );
  if (values['router-config'] !== undefined) {
    const config = parseRouterConfig(record.router.kind as RouterKind, values['router-config']);
    if (!same(config, record.router.config))
      throw new InputError(
        'router-config',
        `differs from the router config the rollout of ${record.app} started with; leave it out`,
        JSON.stringify(values['router-config']),
        JSON.stringify(record.router.config),
      );
  }
  // pause-at is this job's own stop, not part of the plan: it must lie ahead of the weight reached.
  const pauseAt = values['pause-at'];
  if (pauseAt !== undefined && values.action === 'continue' && pauseAt <= record.weight)
    throw new InputError(
      'pause-at',
      `must be above the weight the rollout of ${record.app} has reached (${record.weight}%): it is where this job stops`,
      String(pauseAt),
      String(record.steps.find((weight) => weight > record.weight && weight < 100) ?? 100),
    );
  return effective as Inputs;
}

async function connect(rt: Runtime, values: Inputs) {
  return KubeClient.connect(kubeSource(rt, values), {
    clock: rt.clock,
    signal: rt.signal,
    onRetry: (message) => rt.log.warning(message),
    retryBudgetMs: values['api-retry-budget'],
  });
}

/** The Lease options of this run: holder, force, renewal tied to the run's signal, takeovers said in the log. */
function leaseOptions(rt: Runtime, values: Inputs, namespace: string, app: string, deployments: string[] = []) {
  return {
    namespace,
    app,
    ...runIdentity(rt.env),
    clock: rt.clock,
    deployments,
    force: values.force,
    signal: rt.signal,
    log: (line: string) => rt.log.warning(line),
    // With a token: a holder whose GitHub run GitHub reports completed or cancelled is taken over at once.
    ...(values.token && rt.env['GITHUB_REPOSITORY']
      ? {
          // Real HTTP (and a module loaded on first use): virtual time waits for it in tests.
          holderDead: (holder: string) =>
            holdVirtualTime(
              githubRunEnded(async () => {
                const { GitHubApi } = await import('@deploy-actions/core/github');
                return new GitHubApi(rt, {
                  token: values.token!,
                  apiUrl: rt.env['GITHUB_API_URL'] ?? 'https://api.github.com',
                  repository: rt.env['GITHUB_REPOSITORY']!,
                });
              }, rt.env['GITHUB_REPOSITORY']!)(holder),
            ),
        }
      : {}),
  };
}

function toOutcome(outcome: RolloutOutcome): ActionOutcome {
  const record = outcome.record;
  const images = (pick: 'stableImages' | 'canaryImages') =>
    (record?.workloads ?? [])
      .flatMap((w) => Object.entries(w[pick]).map(([container, image]) => `${w.stable}/${container}=${image}`))
      .join('\n');
  const analysis = outcome.analyses.map(({ step, weight, result }) => ({
    step: step + 1,
    weight,
    verdict: result.verdict,
    reason: result.reason,
    checks: result.measurements.map((m) => ({
      metric: m.metric,
      elapsedSeconds: Math.round(m.elapsed / 1000),
      value: m.value ?? null,
      control: m.control ?? null,
      threshold: m.threshold,
      outcome: m.outcome,
    })),
  }));
  const report = {
    verdict: outcome.result,
    reason: outcome.reason,
    phase: record?.phase,
    weight: record?.weight ?? 0,
    app: record?.app,
    stableVersion: record?.stableVersion,
    canaryVersion: record?.canaryVersion,
    steps: record?.verdicts ?? [],
    timeline: outcome.timeline,
    routing: outcome.routing,
    ...(outcome.plan ? { plan: outcome.plan } : {}),
  };
  return {
    result: report,
    outputs: {
      // README.md "What every action shares": `result` is the verdict word; the JSON document is in `report`.
      result: outcome.result,
      report: JSON.stringify(report),
      phase: record?.phase ?? '',
      weight: record?.weight ?? 0,
      'stable-image': images('stableImages'),
      'canary-image': images('canaryImages'),
      analysis: JSON.stringify(analysis),
    },
    // An abort or rollback is the rollout working as designed, but the release did not go out: fail the step.
    ...(outcome.result === 'aborted' || outcome.result === 'rolled-back' ? { failure: outcome.reason } : {}),
  };
}

async function progressive(rt: Runtime, values: Inputs): Promise<ActionOutcome> {
  const note: { text?: string } = {};
  const outcome = await progressiveRun(rt, values, note);
  if (note.text) rt.summary.append(`${note.text}\n`);
  return outcome;
}

/** `note.text`: what post-promotion analysis leaves out, said in the log here and in the summary after. */
async function progressiveRun(rt: Runtime, values: Inputs, note: { text?: string }): Promise<ActionOutcome> {
  const say = (post: PostPromotionPlan | undefined) => {
    const text = values.action === 'abort' ? undefined : postPromotionNote(post);
    if (text === undefined) return;
    note.text = text;
    rt.log.info(text);
  };
  const traffic = parseTraffic(values);
  say(traffic.postPromotion);
  const switched = values.action === 'start' ? switchNote(traffic) : undefined;
  if (switched !== undefined) {
    note.text = note.text ? `${note.text}\n\n${switched}` : switched;
    rt.log.info(switched);
  }
  for (const secret of planSecrets(traffic)) rt.mask(secret);
  if (withoutCluster(values)) return commandRelease(rt, values, { ...traffic, ...parseRouter(values) });
  // continue, promote, abort, finalize: the router is the record's (a different one given is refused there).
  const plan = {
    ...traffic,
    ...(values.action === 'start'
      ? parseRouter(values)
      : { kind: 'replicas' as RouterKind, routerConfig: {} as RouterConfig }),
  };
  const raw = await connect(rt, values);
  // Every write of the release is fenced by the Lease (once taken): a run that lost it changes nothing more.
  const held: { lease?: RolloutLease } = {};
  const client = raw.fenced(() => held.lease?.check() ?? Promise.resolve());
  const namespace = resolveNamespace(values.namespace, client.contextNamespace);
  const resolved: Resolved = { ...values, namespace };
  const stables =
    values.action === 'start' || values.deployments?.length || values.selector
      ? await findDeployments(client, { namespace, names: values.deployments, selector: values.selector })
      : [];
  const app = values.app ?? stables[0]?.metadata?.name;
  if (app === undefined)
    throw new InputError(
      'deployments',
      'name the Deployments (or give app) so the rollout record can be found',
      undefined,
      'web',
    );
  const store = await RecordStore.load(client, namespace, app);
  try {
    return await progressiveFor(rt, values, { plan, say, client, raw, held, namespace, resolved, stables, app, store });
  } catch (error) {
    // The `phase` output after a failure: the record's phase now (read again: the run may have moved it).
    const record = await readRolloutRecord(client, namespace, app).catch(() => store.record);
    throw record ? failedWith(error, { phase: record.phase, weight: record.weight }) : error;
  }
}

async function progressiveFor(
  rt: Runtime,
  values: Inputs,
  context: {
    plan: ReturnType<typeof parsePlan>;
    say: (postPromotion: ReturnType<typeof parseTraffic>['postPromotion']) => void;
    client: KubeClient;
    /** The client without the Lease's fence: the Lease's own requests. */
    raw: KubeClient;
    held: { lease?: RolloutLease };
    namespace: string;
    resolved: Resolved;
    stables: Deployment[];
    app: string;
    store: RecordStore;
  },
): Promise<ActionOutcome> {
  const { plan, say, client, raw, held, namespace, resolved, stables, app, store } = context;
  // The Deployments the release touches: a live release of another app on one of them refuses this one.
  const touched = [
    ...new Set([
      ...stables.map((stable) => stable.metadata?.name ?? ''),
      ...(store.record?.workloads ?? []).map((w) => w.stable),
    ]),
  ].filter((name) => name !== '');
  const lease = () => RolloutLease.acquire(raw, leaseOptions(rt, values, namespace, app, touched));
  const settingsFor = (
    routerKind: string,
    routerConfig: unknown,
    v: Inputs = values,
    p: ReturnType<typeof parsePlan> = plan,
  ) => ({
    strategy: v.strategy as 'canary' | 'blue-green',
    namespace,
    steps: p.steps,
    pauseAt: v['pause-at'],
    onStepFailure: v['on-step-failure'] as 'abort' | 'previous-step',
    baseline: v.baseline,
    postPromotion: p.postPromotion,
    scaleDownDelay: p.scaleDownDelay,
    ...(v.action === 'start' ? { plan: recordedPlan(v, p) } : {}),
    previewChecks: v['preview-checks'] ? previewChecks(rt, resolved) : undefined,
    previewCheckNames: v['preview-checks']?.checks.map((check) => check.name),
    router: { kind: routerKind, config: routerConfig },
    makeRouter: (target: Parameters<typeof createRouter>[2]) =>
      createRouter(routerKind as RouterKind, routerConfig as RouterConfig, target, {
        client,
        exec: loggedExec(rt),
        log: rt.log,
      }),
    rolloutTimeoutMs: values.timeout,
    weightRounding: v['weight-rounding'] as 'exact' | 'nearest',
    holdLease: (ms: number) => held.lease?.hold(ms) ?? Promise.resolve(),
  });

  // start again for a release a run left promoting or aborting (a re-run after the runner died), with its images:
  // finish the promotion, or the abort (never promote an aborting release).
  const previous = store.record;
  if (values.action === 'start' && previous && (previous.phase === 'promoting' || previous.phase === 'aborting')) {
    const recorded = new Set(previous.workloads.flatMap((workload) => Object.values(workload.canaryImages)));
    const given = Object.values(values.images ?? {});
    if (given.length > 0 && given.every((image) => recorded.has(image)))
      return progressiveFor(rt, { ...values, action: previous.phase === 'promoting' ? 'promote' : 'abort' }, context);
  }
  if (values.action === 'start') {
    const rollout = new Rollout(rt, client, store, settingsFor(plan.kind, plan.routerConfig));
    await rt.log.group('Check the inputs against the cluster', () => rollout.prepare(stables, values.images ?? {}));
    if (values['dry-run']) return finish(rt, await rollout.plan());
    const tracker = await releaseTracker(rt, values);
    const perWorkload = imagesFor(stables, values.images ?? {});
    // The rollout's version: the one new tag, or the Deployments' different tags joined (v1.5+v3.3).
    const version = rollout.current.canaryVersion;
    return withLease(rt, lease, tracker, held, async () => {
      if (tracker) {
        const previous = store.record;
        // `start` again after a run died half-way resumes that rollout, so it keeps that run's Deployment too.
        if (previous && IN_FLIGHT_PHASES.includes(previous.phase) && previous.canaryVersion === version)
          await tracker.resume(sameRelease(previous));
        if (tracker.record === undefined)
          await startRelease(
            rt,
            tracker,
            {
              app,
              namespace,
              strategy: values.strategy,
              version,
              workloads: stables.map((stable, index) => ({
                kind: 'Deployment',
                name: stable.metadata?.name ?? '',
                images: perWorkload[index]!,
              })),
            },
            `${values.strategy} of ${app} ${version}`,
          );
        else rt.state.save(STATE_DEPLOYMENT, String(tracker.record.id));
      }
      return rollout.start();
    });
  }
  const record = store.record;
  if (!record)
    throw new UserError(
      `No rollout of "${app}" in namespace "${namespace}" to ${values.action}: the record ConfigMap deploy-actions-${app} does not exist (start one with action: start)`,
    );
  // The plan and router the rollout started with, whatever this job's inputs say (differences are refused).
  const followed = planFromRecord(rt, { ...values, strategy: record.strategy }, record);
  // The recorded plan, parsed as start parsed it (its post-promotion analysis included); the router is the record's.
  const recorded = {
    ...parseTraffic({ ...followed, action: 'start' }),
    kind: record.router.kind as RouterKind,
    routerConfig: record.router.config as RouterConfig,
  };
  for (const secret of planSecrets(recorded)) rt.mask(secret);
  say(recorded.postPromotion);
  const rollout = new Rollout(rt, client, store, {
    ...settingsFor(record.router.kind, record.router.config, followed, recorded),
    strategy: record.strategy,
  });
  await rollout.resume(record);
  if (values['dry-run'])
    return finish(
      rt,
      rollout.outcome(
        'planned',
        `Dry run: would ${values.action} the rollout (phase ${record.phase}, ${record.weight}%).`,
      ),
    );
  const tracker = await releaseTracker(rt, values);
  return withLease(rt, lease, tracker, held, async () => {
    // The Deployment `start` created, in whichever job that ran; a finished rollout has none in progress.
    if (tracker && IN_FLIGHT_PHASES.includes(record.phase)) {
      await tracker.resume(sameRelease(record));
      if (tracker.record) rt.state.save(STATE_DEPLOYMENT, String(tracker.record.id));
    }
    switch (values.action) {
      case 'continue':
        return rollout.continue();
      case 'promote':
        if (!IN_FLIGHT_PHASES.includes(record.phase))
          throw new UserError(`The rollout of "${app}" is ${record.phase}: nothing to promote`);
        return rollout.promote();
      case 'abort':
        if (record.phase === 'aborting') return rollout.finishAbort();
        return rollout.abort(`Aborted by hand${rt.env['GITHUB_ACTOR'] ? ` (${rt.env['GITHUB_ACTOR']})` : ''}.`);
      default:
        return rollout.finalize();
    }
  });
}

/**
 * Hold the app's lease for the run; the post step learns from rt.state whether main finished. The GitHub
 * Deployment (if any) follows the outcome; an error after it started marks it failed.
 */
async function withLease(
  rt: Runtime,
  take: () => Promise<RolloutLease>,
  tracker: ReleaseTracker | undefined,
  held: { lease?: RolloutLease },
  fn: () => Promise<RolloutOutcome>,
): Promise<ActionOutcome> {
  // Renewed every 10 s while this run works; every write of the release checks it is still ours.
  const lease = await take();
  held.lease = lease;
  const app = lease.app;
  rt.state.save(STATE_APP, app);
  rt.state.save(STATE_DONE, 'false');
  try {
    let outcome: RolloutOutcome;
    try {
      outcome = await fn();
    } catch (error) {
      // A cancelled job leaves the Deployment to the post step, which aborts the rollout first.
      if (!rt.signal.aborted) await tracker?.fail((error as Error).message);
      throw error;
    }
    rt.state.save(STATE_DONE, 'true');
    await recordOutcome(tracker, outcome);
    return finish(rt, outcome, tracker);
  } finally {
    // Cancelled or timed out: the rollout is still in flight and the post step (post-if: always()) takes it over
    // under the same holder, aborting it or, with on-cancel: leave, keeping the lease until it expires. Handing
    // the lease back here would let another run in before it (it stops being renewed and lapses in 30 s).
    if (!rt.signal.aborted) await lease.release();
    else lease.stop();
  }
}

function finish(rt: Runtime, outcome: RolloutOutcome, tracker?: ReleaseTracker): ActionOutcome {
  const deployment = tracker?.summary() ?? '';
  rt.summary.append(`## canary-promote\n\n${renderRolloutSummary(outcome)}${deployment ? `\n${deployment}` : ''}`);
  return toOutcome(outcome);
}

function previewChecks(rt: Runtime, values: Resolved) {
  return async (green: string) => {
    const { loadKubeConfig } = await holdVirtualTime(import('@deploy-actions/core/kube'));
    const { config } = await loadKubeConfig(kubeSource(rt, values));
    const result = await runChecks(values['preview-checks']!, {
      clock: rt.clock,
      log: rt.log,
      mask: (secret) => rt.mask(secret),
      signal: rt.signal,
      serviceProxy: await kubeServiceProxy(config, values.namespace),
      variables: { green },
    });
    if (!result.passed) {
      const failed = result.checks
        .filter((check) => check.outcome === 'failed')
        .map((check) => `${check.name}: ${check.error ?? 'failed'}`);
      throw new UserError(`${failed.length} preview check(s) failed: ${failed.join(', ')}`);
    }
  };
}

const canaryPromote: ActionDefinition<Inputs> = {
  name: 'canary-promote',
  inputs,
  // `result` is promoted|aborted|...; a run that fails says `failed` (and `phase` the record's), the JSON is in report.
  verdictResult: true,
  async run(rt, values) {
    checkStrategyInputs(values);
    checkImageReferences('images', values.images ?? {}, 'web=ghcr.io/acme/web:v1.2.3');
    if (values.strategy === 'rolling' || values.strategy === 'helm') return plainDeploy(rt, values);
    return progressive(rt, values);
  },
  /** When the main step did not finish (cancelled, runner lost, crashed), put traffic back on stable. */
  async post(rt, values) {
    const app = rt.state.get(STATE_APP);
    if (!app || rt.state.get(STATE_DONE) === 'true') return;
    if (rt.state.get(STATE_MODE) === 'command') return commandPost(rt, values, app);
    if (rt.state.get(STATE_MODE) === 'rolling' || rt.state.get(STATE_MODE) === 'helm')
      return plainPost(rt, values, app);
    const client = await connect(rt, values);
    const namespace = resolveNamespace(values.namespace, client.contextNamespace);
    const { holder } = runIdentity(rt.env);
    if (values['on-cancel'] === 'leave') {
      const held = await leaseHeldNote(client, namespace, app, holder);
      rt.log.warning(
        `The rollout of ${app} did not finish; on-cancel: leave keeps it as it is (see its record)${held}`,
      );
      return;
    }
    // The same run's holder identity: the lease the cancelled main step still holds is ours to take and release.
    let lease: RolloutLease;
    try {
      // Never forced here: a Lease another run took since is that run's.
      lease = await RolloutLease.acquire(client, { ...leaseOptions(rt, values, namespace, app), force: false });
    } catch (error) {
      // Another run took over after our lease expired: the app is its to change now.
      rt.log.warning(`The rollout of ${app} was not aborted: ${(error as Error).message}`);
      return;
    }
    try {
      await abortAfterCancel(rt, values, lease.fence(client), namespace, app);
    } finally {
      await lease.release();
      rt.log.info(`Lease deploy-actions-${app} handed back: another run (or action: abort) may go on at once.`);
    }
  },
};

/** The post step's abort of a rollout whose main step did not finish (the caller holds the lease). */
async function abortAfterCancel(rt: Runtime, values: Inputs, client: KubeClient, namespace: string, app: string) {
  const store = await RecordStore.load(client, namespace, app);
  const record = store.record;
  if (!record || !IN_FLIGHT_PHASES.includes(record.phase)) return;
  const rollout = new Rollout(rt, client, store, {
    strategy: record.strategy,
    namespace: record.namespace,
    steps: [],
    onStepFailure: 'abort',
    baseline: false,
    router: record.router,
    makeRouter: (target) =>
      createRouter(record.router.kind as RouterKind, record.router.config as RouterConfig, target, {
        client,
        exec: loggedExec(rt),
        log: rt.log,
      }),
    rolloutTimeoutMs: values.timeout,
  });
  await rollout.resume(record);
  const outcome = await rollout.abort(
    'Aborted by the post step: the job was cancelled or failed before the rollout finished.',
  );
  await reportPostAbort(rt, values, outcome);
}

/**
 * `router: command` with no `deployments` or `selector`: the platform is outside Kubernetes, so no
 * kubeconfig is read and nothing in a cluster is touched (see NO_CLUSTER_NOTE for what is kept instead).
 */
function withoutCluster(values: Inputs): boolean {
  return values.router === 'command' && !values.deployments?.length && !values.selector;
}

/** Commands run with the step's environment (its PATH finds the program), never through a shell. */
function execIn(rt: Runtime): ExecFunction {
  const exec = loggedExec(rt);
  return (file, args, options) => exec(file, args, { ...options, env: rt.env });
}

/** The rollout's key without Deployments: the `app` input, else the repository's name. */
function commandApp(rt: Runtime, values: Inputs): string {
  if (values.app) return values.app;
  const repo = (rt.env['GITHUB_REPOSITORY'] ?? '').split('/').pop() ?? '';
  const name = repo
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .slice(0, 42)
    .replace(/^-+|-+$/g, '');
  if (!name)
    throw new InputError('app', 'names the release when router command runs without deployments', undefined, 'market');
  return name;
}

/** The new version (`{{canary}}` in queries): the images' tag, else the tag the run is for, else the commit. */
function commandVersion(rt: Runtime, values: Inputs): string {
  if (values.images && Object.keys(values.images).length > 0) return versionOf(values.images, 'canary');
  const { GITHUB_REF_TYPE: type, GITHUB_REF_NAME: name, GITHUB_REF: ref, GITHUB_SHA: sha } = rt.env;
  if (type === 'tag' && name) return name;
  if (ref?.startsWith('refs/tags/')) return ref.slice('refs/tags/'.length);
  if (sha) return sha.slice(0, 7);
  throw new InputError(
    'images',
    "gives the new version ({{canary}} in queries); without a cluster it is the images' tag, else the run's tag or commit",
    undefined,
    'market=ghcr.io/nextgen/market:v2.1.0',
  );
}

function commandRouterFor(rt: Runtime, values: Inputs, config: RouterConfig, app: string): CommandRouter {
  const namespace = values.namespace ?? 'default';
  return new CommandRouter(
    config as CommandRouterConfig,
    { namespace, app, stable: { deployment: app }, canary: { deployment: `${app}-canary` } },
    { exec: execIn(rt), log: rt.log },
  );
}

async function commandRelease(rt: Runtime, values: Inputs, plan: ReturnType<typeof parsePlan>): Promise<ActionOutcome> {
  const refuse = (name: keyof Inputs & string, given: boolean, why: string) => {
    if (given)
      throw new InputError(
        name,
        `${why}: router command without deployments or selector runs without a cluster`,
        String(values[name]),
        'remove it, or name the deployments',
      );
  };
  refuse('strategy', values.strategy !== 'canary', 'only strategy canary applies');
  refuse('pause-at', values['pause-at'] !== undefined, 'there is no state record to continue from');
  refuse('baseline', values.baseline, 'a baseline is a Deployment');
  refuse('post-promotion-analysis', values['post-promotion-analysis'] !== undefined, 'nothing could be rolled back');
  refuse('preview-checks', values['preview-checks'] !== undefined, 'preview checks belong to blue-green');
  refuse(
    'action',
    values.action === 'continue' || values.action === 'finalize',
    `${values.action} needs the state record a cluster keeps`,
  );
  const app = commandApp(rt, values);
  const version = commandVersion(rt, values);
  const router = commandRouterFor(rt, values, plan.routerConfig, app);
  const rollout = new CommandRollout(rt, {
    app,
    namespace: values.namespace ?? 'default',
    version,
    steps: plan.steps,
    onStepFailure: values['on-step-failure'] as 'abort' | 'previous-step',
    router,
  });
  const finishNoCluster = (outcome: RolloutOutcome, tracker?: ReleaseTracker) => {
    const result = finish(rt, outcome, tracker);
    // Said in the summary (not in the reason: an abort's reason is the step's one error line).
    rt.summary.append(`${NO_CLUSTER_NOTE}\n`);
    return result;
  };
  if (values.action === 'start') {
    await rt.log.group('Check the inputs (no cluster)', () => rollout.prepare());
    if (values['dry-run'])
      return finishNoCluster(rollout.outcome('planned', 'Dry run: nothing was run.', await rollout.plan()));
  }
  const tracker = await releaseTracker(rt, values);
  rt.state.save(STATE_APP, app);
  rt.state.save(STATE_MODE, 'command');
  rt.state.save(STATE_DONE, 'false');
  let outcome: RolloutOutcome;
  try {
    if (values.action === 'start') {
      if (tracker)
        await startRelease(
          rt,
          tracker,
          {
            app,
            namespace: values.namespace ?? '',
            strategy: 'canary',
            version,
            workloads: values.images ? [{ kind: 'command', name: app, images: values.images }] : [],
          },
          `canary of ${app} ${version} (router command)`,
        );
      outcome = await rollout.start();
    } else {
      // abort / promote of a release a start left paused: the same app and version, still in progress.
      await tracker?.resume((payload) => payload['app'] === app && payload['version'] === version);
      outcome =
        values.action === 'promote'
          ? await rollout.promote()
          : await rollout.abort(`Aborted by hand${rt.env['GITHUB_ACTOR'] ? ` (${rt.env['GITHUB_ACTOR']})` : ''}.`);
    }
  } catch (error) {
    // A cancelled job leaves the Deployment to the post step, which runs the abort command first.
    if (!rt.signal.aborted) {
      rt.state.save(STATE_DONE, 'true');
      await tracker?.fail((error as Error).message);
    }
    throw error;
  }
  rt.state.save(STATE_DONE, 'true');
  await recordOutcome(tracker, outcome);
  return finishNoCluster(outcome, tracker);
}

/** Post step of a cancelled command-router run without a cluster: the abort command, unless on-cancel: leave. */
async function commandPost(rt: Runtime, values: Inputs, app: string): Promise<void> {
  if (values['on-cancel'] === 'leave') {
    rt.log.warning(
      `The release of ${app} did not finish; on-cancel: leave keeps the weight where the commands left it (no cluster: nothing else is held)`,
    );
    return;
  }
  const config = parseRouterConfig('command', values['router-config']);
  const rollout = new CommandRollout(rt, {
    app,
    namespace: values.namespace ?? 'default',
    version: commandVersion(rt, values),
    steps: [],
    onStepFailure: 'abort',
    router: commandRouterFor(rt, values, config, app),
  });
  const outcome = await rollout.abort(
    'Aborted by the post step: the job was cancelled or failed before the release finished; the abort command ran.',
  );
  await reportPostAbort(rt, values, outcome, `\n${NO_CLUSTER_NOTE}\n`);
}

/** After the post step aborted: the warning, the GitHub Deployment's failure status and the summary. */
async function reportPostAbort(rt: Runtime, values: Inputs, outcome: RolloutOutcome, note = '') {
  rt.log.warning(outcome.reason);
  const id = Number(rt.state.get(STATE_DEPLOYMENT));
  const tracker = Number.isInteger(id) && id > 0 ? await releaseTracker(rt, values) : undefined;
  await tracker?.resume(() => true, { id, quiet: true });
  await recordOutcome(tracker, outcome);
  const deployment = tracker?.summary() ?? '';
  rt.summary.append(
    `## canary-promote (post)\n\n${renderRolloutSummary(outcome)}${deployment ? `\n${deployment}` : ''}${note}`,
  );
}

async function plainDeploy(rt: Runtime, values: Inputs): Promise<ActionOutcome> {
  const client = await connect(rt, values);
  const analysis =
    values.analysis === undefined ? undefined : parseAnalysisSpec(values.analysis, analysisDefaults(values));
  const tracker = await releaseTracker(rt, values);
  const common = {
    client,
    namespace: values.namespace,
    app: values.app,
    analysis,
    monitorMs: values.monitor,
    timeoutMs: values.timeout,
    dryRun: values['dry-run'],
    // The app's lease and record, as canaries keep them (taken before the first change).
    holder: runIdentity(rt.env),
    // Every input is checked by now: record the release on GitHub before the first change.
    onBeforeChange: async (plan: ChangePlan) => {
      // From here on a cancelled job's post step undoes the deploy (the record says what changed).
      rt.state.save(STATE_APP, plan.app);
      rt.state.save(STATE_MODE, plan.strategy);
      rt.state.save(STATE_NAMESPACE, plan.namespace);
      rt.state.save(STATE_DONE, 'false');
      if (tracker)
        await startRelease(rt, tracker, plan, `${plan.strategy} of ${plan.helm ? plan.helm.release : plan.app}`);
    },
  };
  let outcome: DeployOutcome;
  try {
    outcome =
      values.strategy === 'rolling'
        ? await runRolling(rt, {
            ...common,
            manifests: values.manifests,
            images: values.images,
            valuesFile: values['values-file'],
            environment: values.environment,
            deployments: values.deployments,
            selector: values.selector,
            imagePullSecrets: values['image-pull-secrets'],
            prune: values.prune,
          })
        : await runHelm(rt, {
            ...common,
            release: values.release ?? '',
            chart: values.chart ?? '',
            valuesFiles: values['helm-values'],
            set: values['helm-set'],
            lint: values['helm-lint'],
            version: values['chart-version'],
          });
  } catch (error) {
    // A cancelled job leaves the Deployment to the post step, which undoes the deploy first.
    if (!rt.signal.aborted) await tracker?.fail((error as Error).message);
    throw error;
  }
  rt.state.save(STATE_DONE, 'true');
  if (outcome.verdict === 'deployed') await tracker?.succeed(`Deployed ${outcome.app}`);
  else if (outcome.verdict !== 'planned') await tracker?.fail(outcome.failure?.split('\n')[0] ?? outcome.verdict);
  const deployment = tracker?.summary() ?? '';
  rt.summary.append(`${renderDeploySummary(outcome)}${deployment ? `\n${deployment}` : ''}`);
  return toActionOutcome(outcome);
}

/** Post step of a rolling or helm deploy that did not finish: undo it (on-cancel: abort) or say what stays (leave). */
/**
 * on-cancel: leave — the cancelled main step could not hand its lease back: the words that say how long it
 * keeps other runs out (empty when this run does not hold it).
 */
async function leaseHeldNote(client: KubeClient, namespace: string, app: string, holder: string): Promise<string> {
  const lease = await readLease(client, namespace, app).catch(() => undefined);
  return lease?.holder === holder && lease.expiresAt
    ? `; its lease deploy-actions-${app} stays held by this run (${holder}) until ${lease.expiresAt.toISOString()}, then expires`
    : '';
}

async function plainPost(rt: Runtime, values: Inputs, app: string): Promise<void> {
  const client = await connect(rt, values);
  // Where main kept the record: a manifest may have named another namespace than the input.
  const namespace = rt.state.get(STATE_NAMESPACE) || resolveNamespace(values.namespace, client.contextNamespace);
  const { holder } = runIdentity(rt.env);
  if (values['on-cancel'] === 'leave') {
    const held = await leaseHeldNote(client, namespace, app, holder);
    rt.log.warning(
      `The ${rt.state.get(STATE_MODE)} deploy of ${app} did not finish; on-cancel: leave keeps the new version as it is, not undone (record deploy-actions-${app} says how far it got)${held}`,
    );
    return;
  }
  let outcome: DeployOutcome | undefined;
  try {
    outcome = await undoCancelledDeploy(rt, {
      client,
      namespace,
      app,
      holder: runIdentity(rt.env),
      timeoutMs: values.timeout,
    });
  } catch (error) {
    // Another run took the lease after ours expired: the app is its to change now.
    rt.log.warning(`The deploy of ${app} was not undone: ${(error as Error).message}`);
    return;
  }
  if (outcome === undefined) return;
  rt.log.warning(outcome.failure ?? outcome.verdict);
  const id = Number(rt.state.get(STATE_DEPLOYMENT));
  const tracker = Number.isInteger(id) && id > 0 ? await releaseTracker(rt, values) : undefined;
  await tracker?.resume(() => true, { id, quiet: true });
  await tracker?.fail(outcome.failure?.split('\n')[0] ?? outcome.verdict);
  const deployment = tracker?.summary() ?? '';
  rt.summary.append(
    `## canary-promote (post)\n\n${renderDeploySummary(outcome)}${deployment ? `\n${deployment}` : ''}`,
  );
}

export default canaryPromote;
