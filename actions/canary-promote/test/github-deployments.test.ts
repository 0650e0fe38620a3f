/**
 * canary-promote records each release as a GitHub Deployment. kube-sim runs
 * the cluster (virtual clock, controllers); a loopback server answering like
 * the GitHub REST API (a real socket, core/test/github-fake.ts) records every
 * request, so the tests assert exactly what GitHub would be told: the
 * deployment body and payload, the statuses in order, log and environment
 * URLs, and which earlier release became inactive.
 */
import { type Cluster, startCluster } from '@deploy-actions/testkit/cluster';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeGitHub } from '../../../packages/core/test/github-fake';
import canaryPromote from '../src/main';

const NS = 'shop';
const TOKEN = 'ghs_CanaryPromoteTestToken0123456789';
const SHA = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
const runUrl = (run: number) => `https://github.com/acme/web/actions/runs/${run}/attempts/1`;
let c: Cluster;
let gh: FakeGitHub;

const run = (inputs: Record<string, string>, runId = 4242) =>
  c.run(inputs, { env: { GITHUB_API_URL: gh.base, GITHUB_RUN_ID: String(runId) } });

/** The new deployment's id: the highest the fake handed out. */
const newest = () => Math.max(...gh.deployments.keys());
const statusPath = (id: number) => `/repos/acme/web/deployments/${id}/statuses`;

beforeAll(async () => {
  c = await startCluster({
    namespace: NS,
    controllers: 'bare',
    action: canaryPromote,
    env: {
      GITHUB_REPOSITORY: 'acme/web',
      GITHUB_SHA: SHA,
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_RUN_ATTEMPT: '1',
      GITHUB_ACTOR: 'octocat',
    },
  });
  for (const app of ['web', 'cart', 'auth', 'users'])
    await c.app(app, `ghcr.io/acme/${app}:v1`, { progressDeadlineSeconds: null });
});

afterAll(async () => {
  await c?.stop();
});

beforeEach(async () => {
  gh = new FakeGitHub(TOKEN);
  await gh.start();
});
afterEach(async () => {
  await gh.close();
});

const github = { token: TOKEN, environment: 'production', 'environment-url': 'https://shop.example.com' };

describe('canary-promote records a GitHub Deployment', () => {
  it('promote in one run: in_progress, success with the URLs and auto_inactive false, the replaced release inactive', async () => {
    const previous = gh.seed('production', { app: 'web', images: { app: 'ghcr.io/acme/web:v1' } }, [
      'in_progress',
      'success',
    ]);
    const otherApp = gh.seed('production', { app: 'api', images: { api: 'ghcr.io/acme/api:v7' } }, ['success']);
    const { code, outputs, summary, rt } = await run({
      ...github,
      deployments: 'web',
      images: 'app=ghcr.io/acme/web:v2',
      steps: '50,100',
      pause: '1m',
    });
    expect(code).toBe(0);
    expect(outputs['result']).toBe('promoted');
    const id = newest();
    expect(gh.writes()).toEqual([
      {
        method: 'POST',
        path: '/repos/acme/web/deployments',
        body: {
          ref: SHA,
          task: 'deploy',
          auto_merge: false,
          required_contexts: [],
          payload: {
            app: 'web',
            namespace: NS,
            strategy: 'canary',
            version: 'v2',
            images: { app: 'ghcr.io/acme/web:v2' },
            workloads: [{ kind: 'Deployment', name: 'web', images: { app: 'ghcr.io/acme/web:v2' } }],
          },
          environment: 'production',
          description: 'canary of web v2',
          transient_environment: false,
          production_environment: true,
        },
      },
      {
        method: 'POST',
        path: statusPath(id),
        body: {
          state: 'in_progress',
          log_url: runUrl(4242),
          environment_url: 'https://shop.example.com',
          description: 'canary of web v2',
        },
      },
      {
        method: 'POST',
        path: statusPath(id),
        body: {
          state: 'success',
          log_url: runUrl(4242),
          environment_url: 'https://shop.example.com',
          description: 'Promoted v2 to 100%.',
          auto_inactive: false,
        },
      },
      {
        method: 'POST',
        path: statusPath(previous),
        body: { state: 'inactive', log_url: runUrl(4242), description: `Replaced by deployment #${id}` },
      },
    ]);
    expect(gh.states(previous)).toEqual(['inactive', 'success', 'in_progress']);
    expect(gh.states(otherApp)).toEqual(['success']); // another app of the environment stays active
    expect(summary).toContain('### GitHub Deployment');
    expect(summary).toContain(`| production | #${id} | ✅ success |`);
    expect(summary).toContain(`replaced #${previous}`);
    // The token went to GitHub only, and never into the logs or the summary.
    expect(rt.masked).toContain(TOKEN);
    expect(JSON.stringify(rt.logs) + summary).not.toContain(TOKEN);
  });

  it('pause-at, then continue in a second run: the same Deployment goes on, with the second run as its log', async () => {
    const first = await run({
      ...github,
      deployments: 'cart',
      images: 'app=ghcr.io/acme/cart:v2',
      steps: '25,50,100',
      pause: '1m',
      'pause-at': '25',
    });
    expect(first.code).toBe(0);
    expect(first.outputs['result']).toBe('paused');
    const id = newest();
    expect(gh.deployments.size).toBe(1);
    expect(gh.states(id)).toEqual(['in_progress', 'in_progress']);
    const paused = gh.writes().at(-1)!;
    expect(paused.body).toMatchObject({ state: 'in_progress', log_url: runUrl(4242) });
    expect((paused.body as { description: string }).description).toBe(
      'Paused at 25% (pause-at 25); continue with action: continue, or stop with action: abort.',
    );

    const before = gh.writes().length;
    const second = await run({ ...github, deployments: 'cart', action: 'continue' }, 5151);
    expect(second.code).toBe(0);
    expect(second.outputs['result']).toBe('promoted');
    // Found by its payload (app, namespace, strategy, version), not created again.
    expect(gh.deployments.size).toBe(1);
    expect(gh.writes().slice(before)).toEqual([
      {
        method: 'POST',
        path: statusPath(id),
        body: {
          state: 'in_progress',
          log_url: runUrl(5151),
          environment_url: 'https://shop.example.com',
          description: 'canary of cart v2',
        },
      },
      {
        method: 'POST',
        path: statusPath(id),
        body: {
          state: 'success',
          log_url: runUrl(5151),
          environment_url: 'https://shop.example.com',
          description: 'Promoted v2 to 100%.',
          auto_inactive: false,
        },
      },
    ]);
    expect(gh.states(id)).toEqual(['success', 'in_progress', 'in_progress', 'in_progress']);
  });

  it('abort in a second run: failure with the reason, and the release before stays active', async () => {
    const previous = gh.seed('production', { app: 'auth', images: { app: 'ghcr.io/acme/auth:v1' } }, ['success']);
    const first = await run({
      ...github,
      deployments: 'auth',
      images: 'app=ghcr.io/acme/auth:v2',
      steps: '25,100',
      pause: '1m',
      'pause-at': '25',
    });
    expect(first.outputs['result']).toBe('paused');
    const id = newest();
    const before = gh.writes().length;
    const second = await run({ ...github, deployments: 'auth', action: 'abort' }, 6161);
    expect(second.code).toBe(1);
    expect(second.outputs['result']).toBe('aborted');
    const writes = gh.writes().slice(before);
    expect(writes.map((write) => [write.path, (write.body as { state: string }).state])).toEqual([
      [statusPath(id), 'in_progress'],
      [statusPath(id), 'failure'],
    ]);
    expect(writes[1]!.body).toEqual({
      state: 'failure',
      log_url: runUrl(6161),
      environment_url: 'https://shop.example.com',
      description: 'Aborted by hand (octocat).',
    });
    expect(gh.states(previous)).toEqual(['success']);
    expect(second.summary).toContain(`| production | #${id} | ❌ failure |`);
  });

  it('rolling: the release is recorded before the images change and marked success after the rollout', async () => {
    const { code, outputs } = await run({
      ...github,
      strategy: 'rolling',
      deployments: 'users',
      images: 'app=ghcr.io/acme/users:v2',
    });
    expect(code).toBe(0);
    expect(outputs['result']).toBe('deployed');
    const id = newest();
    const [create, ...statuses] = gh.writes();
    expect(create!.body).toMatchObject({
      environment: 'production',
      description: 'rolling of users',
      payload: {
        app: 'users',
        namespace: NS,
        strategy: 'rolling',
        images: { app: 'ghcr.io/acme/users:v2' },
        workloads: [{ kind: 'Deployment', name: 'users', images: { app: 'ghcr.io/acme/users:v2' } }],
      },
    });
    expect(statuses.map((write) => [write.path, (write.body as { state: string }).state])).toEqual([
      [statusPath(id), 'in_progress'],
      [statusPath(id), 'success'],
    ]);
  });

  it('no token: nothing is sent to GitHub, a debug line says why', async () => {
    const { code, outputs, rt } = await run({
      environment: 'production',
      strategy: 'rolling',
      deployments: 'users',
      images: 'app=ghcr.io/acme/users:v3',
    });
    expect(code).toBe(0);
    expect(outputs['result']).toBe('deployed');
    expect(gh.requests).toEqual([]);
    expect(rt.lines('debug')).toContain('No GitHub Deployment is recorded: no token input (both are needed)');
  });

  it('a token that may not write Deployments: a warning, and the release still goes out', async () => {
    gh.readOnly = true;
    const { code, outputs, rt } = await run({
      ...github,
      strategy: 'rolling',
      deployments: 'users',
      images: 'app=ghcr.io/acme/users:v4',
    });
    expect(code).toBe(0);
    expect(outputs['result']).toBe('deployed');
    const warnings = rt.lines('warning');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /^Could not create the GitHub Deployment \(the release itself is not affected\): GitHub API POST \/repos\/acme\/web\/deployments answered 403: Resource not accessible by integration\. .*permissions: deployments: write/,
    );
    // Nothing else is attempted once the create failed.
    expect(gh.requests.filter((request) => request.method === 'POST')).toHaveLength(1);
  });
});
