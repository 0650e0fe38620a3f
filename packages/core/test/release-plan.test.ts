/**
 * planRelease, table by table: the inputs of a job (and the record `start` left, for a later job) → the plan
 * the release engine carries out, or the input it refuses. No cluster: the function is pure.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineInputs, mapSource } from '@deploy-actions/core/inputs';
import { kubeInputs } from '@deploy-actions/core/kube';
import {
  planRelease,
  type ReleaseInputs,
  type ReleasePlan,
  type RolloutReleasePlan,
  releaseInputs,
} from '@deploy-actions/core/rollout';
import { commonInputs } from '@deploy-actions/core/runtime';
import type { RolloutPhase, RolloutRecord } from '@deploy-actions/core/state';
import { describe, expect, it } from 'vitest';

const schema = defineInputs({ ...releaseInputs, ...kubeInputs, ...commonInputs });
const workspace = mkdtempSync(join(tmpdir(), 'release-plan-'));
const inputsOf = (raw: Record<string, string>): ReleaseInputs => schema.parse(mapSource(raw), { workspace });

const RESTARTS = '{ name: restarts, provider: kubernetes, signal: restarts, max: 2 }';
const VS_STABLE =
  '{ name: errors-vs-stable, provider: web, url: "http://metrics/errors?version={{version}}", json-path: $.rate, compare: stable, max-increase: 50% }';
const BLUE_GREEN = '{ active-service: web, preview-service: web-preview }';
const WEB = { deployments: 'web', images: 'app=registry.local/web:v2' };

/** The record `start` with `raw` inputs leaves once it reached `weight` (the plan it recorded included). */
function recordOf(raw: Record<string, string>, phase: RolloutPhase = 'paused', weight = 25): RolloutRecord {
  const start = planRelease(inputsOf({ ...WEB, ...raw })) as RolloutReleasePlan;
  return {
    version: 1,
    app: 'web',
    namespace: 'shop',
    strategy: start.strategy,
    phase,
    stepIndex: start.traffic.steps.findIndex((step) => step.weight === weight),
    steps: start.traffic.steps.map((step) => step.weight),
    weight,
    router: { kind: start.router!.kind, config: start.router!.config },
    stableVersion: 'v1',
    canaryVersion: 'v2',
    workloads: [
      {
        stable: 'web',
        canary: 'web-canary',
        stableImages: { app: 'registry.local/web:v1' },
        canaryImages: { app: 'registry.local/web:v2' },
        configCopies: { configMaps: {}, secrets: {} },
      },
    ],
    verdicts: [],
    runUrl: 'https://github.com/acme/shop/actions/runs/4242',
    updatedAt: '2026-12-07T08:00:00.000Z',
    plan: start.recorded!,
  };
}

/** What a reader checks of a plan: its mode, action, steps, router and the analysis around them. */
function shape(plan: ReleasePlan) {
  if (plan.mode === 'in-place')
    return { mode: plan.mode, strategy: plan.strategy, analysis: plan.analysis?.length ?? 0 };
  return {
    mode: plan.mode,
    action: plan.action,
    steps: plan.traffic.steps.map((step) => `${step.weight}%/${step.pause / 1000}s/${step.analysis.length}`),
    router: plan.router?.kind,
    postPromotion: plan.postPromotion
      ? { minutes: plan.postPromotion.duration / 60_000, metrics: plan.postPromotion.metrics.map((m) => m.name) }
      : undefined,
    switchLeftOut: plan.traffic.switchLeftOut,
    notes: plan.notes.length,
    ...(plan.mode === 'rollout' ? { followsRecord: plan.followsRecord } : {}),
  };
}

describe('planRelease: a start job plans from its inputs', () => {
  it.each([
    [
      'default steps: 5, 25, 50, 100 with the pause input, the replicas router',
      {},
      { steps: ['5%/300s/0', '25%/300s/0', '50%/300s/0', '100%/300s/0'], router: 'replicas' },
    ],
    [
      'explicit steps with their own pauses and analysis',
      { steps: `[{ weight: 10, pause: 1m, analysis: [${RESTARTS}] }, { weight: 60, pause: 2m }, { weight: 100 }]` },
      { steps: ['10%/60s/1', '60%/120s/0', '100%/300s/0'] },
    ],
    [
      'the analysis input applies to every step without its own',
      { steps: '20,100', pause: '1m', analysis: `[${RESTARTS}]` },
      { steps: ['20%/60s/1', '100%/60s/1'] },
    ],
    [
      'blue-green at its default steps: one switch at 100 with the pause input; router replicas means service',
      { strategy: 'blue-green', pause: '2m', 'router-config': BLUE_GREEN },
      { steps: ['100%/120s/0'], router: 'service', switchLeftOut: [] },
    ],
    [
      'blue-green leaves comparisons out of the analysis after the switch, and says so',
      { strategy: 'blue-green', analysis: `[${RESTARTS}, ${VS_STABLE}]`, 'router-config': BLUE_GREEN },
      { steps: ['100%/300s/1'], switchLeftOut: ['errors-vs-stable'], notes: 1 },
    ],
    [
      'post-promotion analysis: the analysis input without its comparisons, and a note',
      { analysis: `[${RESTARTS}, ${VS_STABLE}]`, 'post-promotion-analysis': '30m' },
      { postPromotion: { minutes: 30, metrics: ['restarts'] }, notes: 1 },
    ],
    [
      "post-promotion analysis falls back on the last step's own analysis",
      {
        steps: `[{ weight: 50, pause: 1m, analysis: [${RESTARTS}] }, { weight: 100 }]`,
        'post-promotion-analysis': '10m',
      },
      { postPromotion: { minutes: 10, metrics: ['restarts'] }, notes: 0 },
    ],
    [
      'router command without deployments or selector runs without a cluster',
      { deployments: '', router: 'command', 'router-config': '{ set-weight: [./weight, "{{weight}}"] }' },
      { mode: 'no-cluster', router: 'command' },
    ],
  ])('%s', (_name, raw: Record<string, string>, expected) => {
    const plan = planRelease(inputsOf({ ...WEB, ...raw }));
    expect(shape(plan)).toMatchObject({ mode: 'rollout', action: 'start', ...expected });
  });

  it('records the plan and the inputs it came from, secrets redacted', () => {
    const withKey =
      '[{ name: errors, provider: datadog, api-key: dd-secret-key, application-key: dd-app-key, query: "sum:errors{*}", max: 1 }]';
    const plan = planRelease(inputsOf({ ...WEB, steps: '10,100', analysis: withKey })) as RolloutReleasePlan;
    expect(plan.secrets).toEqual(expect.arrayContaining(['dd-secret-key', 'dd-app-key']));
    expect(plan.recorded).toMatchObject({ onStepFailure: 'abort', baseline: false, inputs: { steps: '10,100' } });
    expect(JSON.stringify(plan.recorded)).not.toContain('dd-secret-key');
  });

  it('rolling and helm deploy in place, their analysis parsed before anything changes', () => {
    expect(shape(planRelease(inputsOf({ ...WEB, strategy: 'rolling', analysis: `[${RESTARTS}]` })))).toEqual({
      mode: 'in-place',
      strategy: 'rolling',
      analysis: 1,
    });
    expect(shape(planRelease(inputsOf({ strategy: 'helm', release: 'web', chart: './chart' })))).toEqual({
      mode: 'in-place',
      strategy: 'helm',
      analysis: 0,
    });
  });
});

describe('planRelease refuses bad input, naming it', () => {
  it.each([
    ['blue-green weights below 100', { strategy: 'blue-green', steps: '50,100' }, 'steps'],
    ['blue-green with only comparisons', { strategy: 'blue-green', analysis: `[${VS_STABLE}]` }, 'analysis'],
    ['blue-green with a weighted router', { strategy: 'blue-green', router: 'nginx' }, 'router'],
    ['a canary on the service router', { router: 'service' }, 'router'],
    ['post-promotion analysis with nothing to check', { 'post-promotion-analysis': '30m' }, 'post-promotion-analysis'],
    [
      'post-promotion analysis with only comparisons',
      { analysis: `[${VS_STABLE}]`, 'post-promotion-analysis': '30m' },
      'post-promotion-analysis',
    ],
    ['pauses longer than the timeout', { pause: '20m', timeout: '30m' }, 'pause'],
    [
      'a scale-down delay that is no duration',
      { strategy: 'blue-green', 'scale-down-delay': 'later' },
      'scale-down-delay',
    ],
    ['a rolling-only input on a canary', { prune: 'true' }, 'prune'],
    ['manifests for a canary', { manifests: 'k8s/' }, 'manifests'],
    ['an image reference in upper case', { images: 'app=registry.local/Web:v2' }, 'images'],
    ['no cluster: a baseline', { deployments: '', router: 'command', baseline: 'true' }, 'baseline'],
    ['no cluster: continue', { deployments: '', router: 'command', action: 'continue' }, 'action'],
    ['no cluster: blue-green', { deployments: '', router: 'command', strategy: 'blue-green' }, 'router'],
  ])('%s', (_name, raw: Record<string, string>, input) => {
    const config: Record<string, string> =
      raw.router === 'command' ? { 'router-config': '{ set-weight: [./weight, "{{weight}}"] }' } : {};
    expect(() => planRelease(inputsOf({ ...WEB, ...config, ...raw }))).toThrow(new RegExp(`^Input '${input}'`));
  });
});

describe('planRelease: a later job follows the record start left', () => {
  const started = { steps: '10,40,100', pause: '1m', analysis: `[${RESTARTS}]`, 'post-promotion-analysis': '15m' };

  it.each([
    ['continue with the plan inputs left out', { action: 'continue' }, 'continue'],
    ['promote giving the same steps again', { action: 'promote', steps: '10,40,100' }, 'promote'],
    ['finalize', { action: 'finalize' }, 'finalize'],
  ])('%s: steps, pauses, analysis and router are the recorded ones', (_name, raw: Record<string, string>, action) => {
    const plan = planRelease(
      inputsOf({ ...WEB, ...raw }),
      recordOf({ ...started, router: 'nginx', 'router-config': '{ ingress: web }' }),
    );
    expect(shape(plan)).toEqual({
      mode: 'rollout',
      action,
      steps: ['10%/60s/1', '40%/60s/1', '100%/60s/1'],
      router: 'nginx',
      postPromotion: { minutes: 15, metrics: ['restarts'] },
      switchLeftOut: [],
      notes: 0,
      followsRecord: true,
    });
  });

  it('abort follows the record too, and says nothing about post-promotion analysis', () => {
    const plan = planRelease(
      inputsOf({ ...WEB, action: 'abort' }),
      recordOf({ analysis: `[${RESTARTS}, ${VS_STABLE}]`, 'post-promotion-analysis': '15m' }),
    );
    expect(shape(plan)).toMatchObject({ action: 'abort', notes: 0, followsRecord: true });
  });

  it.each([
    ['other steps', { action: 'continue', steps: '20,100' }, 'steps'],
    ['another pause', { action: 'continue', pause: '2m' }, 'pause'],
    ['another router', { action: 'continue', router: 'istio' }, 'router'],
    ['another router config', { action: 'promote', 'router-config': '{ ingress: other }' }, 'router-config'],
    ['pause-at below the weight reached', { action: 'continue', 'pause-at': '25' }, 'pause-at'],
  ])('refuses %s than the record', (_name, raw: Record<string, string>, input) => {
    const record = recordOf({ ...started, router: 'nginx', 'router-config': '{ ingress: web }' }, 'paused', 40);
    expect(() => planRelease(inputsOf({ ...WEB, ...raw }), record)).toThrow(
      new RegExp(`^Input '${input}': (differs from the|must be above)`),
    );
  });

  it.each([
    ['promoting', 'promote'],
    ['aborting', 'abort'],
  ] as const)('start again with the same images over a record left %s finishes it: %s', (phase, action) => {
    const plan = planRelease(inputsOf({ ...WEB, ...started }), recordOf(started, phase));
    expect(shape(plan)).toMatchObject({ action, steps: ['10%/60s/1', '40%/60s/1', '100%/60s/1'], followsRecord: true });
  });

  it('start with other images, or over a record still progressing, plans from its own inputs', () => {
    const other = planRelease(
      inputsOf({ ...WEB, images: 'app=registry.local/web:v3' }),
      recordOf(started, 'promoting'),
    );
    expect(shape(other)).toMatchObject({
      action: 'start',
      steps: ['5%/300s/0', '25%/300s/0', '50%/300s/0', '100%/300s/0'],
      followsRecord: false,
    });
    const progressing = planRelease(inputsOf(WEB), recordOf(started, 'progressing'));
    expect(shape(progressing)).toMatchObject({ action: 'start', followsRecord: false });
  });

  it("a record written before plans were kept: this job's inputs, with a warning", () => {
    const { plan: _dropped, ...old } = recordOf(started);
    const plan = planRelease(inputsOf({ ...WEB, action: 'continue', steps: '10,40,100' }), old) as RolloutReleasePlan;
    expect(plan.warnings).toEqual([expect.stringMatching(/written before the plan was kept/)]);
    expect(shape(plan)).toMatchObject({ steps: ['10%/300s/0', '40%/300s/0', '100%/300s/0'], followsRecord: true });
  });

  it('a job that leaves out a secret the record redacted must give it again', () => {
    const withKey =
      '[{ name: errors, provider: datadog, api-key: dd-secret-key, application-key: dd-app-key, query: "sum:errors{*}", max: 1 }]';
    const record = recordOf({ analysis: withKey });
    expect(() => planRelease(inputsOf({ ...WEB, action: 'continue' }), record)).toThrow(
      /^Input 'analysis': holds secrets/,
    );
    const plan = planRelease(inputsOf({ ...WEB, action: 'continue', analysis: withKey }), record) as RolloutReleasePlan;
    expect(plan.secrets).toEqual(expect.arrayContaining(['dd-secret-key']));
  });
});
