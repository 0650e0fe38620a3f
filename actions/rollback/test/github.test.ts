/**
 * rollback `mode: github` end to end: a loopback GitHub REST server (real
 * socket) holding the environment's Deployments as canary-promote records
 * them, kube-sim with its controllers, one virtual clock. Asserts what a user
 * checks: the image on the Deployment is the last successful GitHub
 * Deployment's, the bad release got failure then inactive, and a new
 * Deployment was recorded with success for the restored version.
 */
import type { Deployment } from '@deploy-actions/core/kube';
import { type Cluster, startCluster } from '@deploy-actions/testkit/cluster';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeGitHub } from '../../../packages/core/test/github-fake';
import rollback from '../src/main';
import { parsed } from './outputs';

const NS = 'prod';
const TOKEN = 'ghs_R0llbackT0kenForTests0123456789';
const IMAGE = 'ghcr.io/acme/web';
let c: Cluster;
let gh: FakeGitHub;

/** `web` (app + proxy sidecar) released as v1.3.0, then v1.4.0: the bad one. */
async function releaseWeb() {
  await c.client.delete('Deployment', { namespace: NS, name: 'web' }).catch(() => {});
  await c.app('web', `${IMAGE}:v1.3.0`, {
    service: false,
    replicas: 3,
    progressDeadlineSeconds: null,
    sidecars: [{ name: 'proxy', image: 'envoy:1.30' }],
  });
  await c.setImage('web', 'app', `${IMAGE}:v1.4.0`);
}

const web = () => c.deployment('web') as Deployment;
const imageOf = (deployment: Deployment, container = 'app') =>
  deployment.spec?.template?.spec?.containers?.find((c) => c.name === container)?.image;

/** The environment's history, oldest first: v1.2.0, v1.3.0 (the one to return to), another app, v1.4.0 (active, bad). */
function seedHistory() {
  const old = gh.seed('production', { app: 'web', images: { app: `${IMAGE}:v1.2.0` } }, [
    'in_progress',
    'success',
    'inactive',
  ]);
  const good = gh.seed(
    'production',
    { app: 'web', namespace: NS, strategy: 'canary', images: { 'web/app': `${IMAGE}:v1.3.0` } },
    ['in_progress', 'success', 'inactive'],
    'c0ffee0000000000000000000000000000000013',
  );
  const otherApp = gh.seed('production', { app: 'api', images: { api: 'ghcr.io/acme/api:v7' } }, [
    'in_progress',
    'success',
  ]);
  const bad = gh.seed(
    'production',
    { app: 'web', namespace: NS, strategy: 'canary', images: { 'web/app': `${IMAGE}:v1.4.0` } },
    ['in_progress', 'success'],
    'bad0000000000000000000000000000000000014',
  );
  return { old, good, otherApp, bad };
}

const run = async (inputs: Record<string, string>) =>
  parsed(
    await c.run(
      { mode: 'github', environment: 'production', token: TOKEN, ...inputs },
      { env: { GITHUB_API_URL: gh.base } },
    ),
  );

beforeAll(async () => {
  c = await startCluster({
    namespace: NS,
    controllers: 'bare',
    readyAfter: '2s',
    namespaceInput: false,
    env: {
      GITHUB_ACTOR: 'octocat',
      GITHUB_REPOSITORY: 'acme/web',
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_RUN_ID: '77',
      GITHUB_SHA: 'feed000000000000000000000000000000000077',
    },
    action: rollback,
  });
});

afterAll(async () => {
  await c?.stop();
});

beforeEach(async () => {
  gh = new FakeGitHub(TOKEN);
  await gh.start();
  await releaseWeb();
});

afterEach(async () => {
  await gh.close();
});

describe('rollback mode github', () => {
  it('redeploys the last successful Deployment, marks the bad one failure then inactive, records the restored one', async () => {
    const { good, otherApp, bad } = seedHistory();
    const { code, result, restored, summary, rt } = await run({ app: 'web', reason: 'checkout 5xx after v1.4.0' });
    expect(rt.lines('error')).toEqual([]);
    expect(code).toBe(0);

    // The cluster: the image of the last good release (namespace and Deployment from its payload), sidecar untouched.
    expect(imageOf(web())).toBe(`${IMAGE}:v1.3.0`);
    expect(imageOf(web(), 'proxy')).toBe('envoy:1.30');
    expect(web().metadata?.annotations?.['deployment.kubernetes.io/revision']).toBe('3');
    expect(restored).toEqual({
      web: {
        before: { revision: 2, images: { app: `${IMAGE}:v1.4.0`, proxy: 'envoy:1.30' } },
        after: { revision: 3, images: { app: `${IMAGE}:v1.3.0`, proxy: 'envoy:1.30' } },
        outcome: 'restored',
      },
    });

    // GitHub: the bad release failure, then inactive; the other app's release untouched.
    expect(gh.states(bad)).toEqual(['inactive', 'failure', 'success', 'in_progress']);
    expect(gh.deployments.get(bad)?.statuses.at(-2)?.description).toBe(
      'Rolled back by octocat: checkout 5xx after v1.4.0',
    );
    expect(gh.states(otherApp)).toEqual(['success', 'in_progress']);
    expect(gh.states(good)).toEqual(['inactive', 'success', 'in_progress']);

    // A new Deployment for the restored version: its commit, its payload, in_progress before the patch, then success.
    const created = [...gh.deployments.values()].at(-1)!;
    expect(created.id).toBeGreaterThan(bad);
    expect(created.sha).toBe('c0ffee0000000000000000000000000000000013');
    expect(created.environment).toBe('production');
    expect(created.payload).toEqual({
      app: 'web',
      namespace: NS,
      strategy: 'canary',
      images: { 'web/app': `${IMAGE}:v1.3.0` },
      rollback: { restored: good, undone: bad },
    });
    expect(gh.states(created.id)).toEqual(['success', 'in_progress']);
    const writes = gh
      .writes()
      .map((write) => `${write.method} ${write.path} ${(write.body as { state?: string }).state ?? ''}`);
    expect(writes).toEqual([
      'POST /repos/acme/web/deployments ',
      `POST /repos/acme/web/deployments/${created.id}/statuses in_progress`,
      `POST /repos/acme/web/deployments/${bad}/statuses failure`,
      `POST /repos/acme/web/deployments/${bad}/statuses inactive`,
      `POST /repos/acme/web/deployments/${created.id}/statuses success`,
    ]);
    expect(gh.requests.every((request) => request.authorization === `token ${TOKEN}`)).toBe(true);

    // The incident summary and the result.
    expect(summary).toContain('## Rolled back: 1 Deployment(s) in `prod`');
    expect(summary).toContain('**Reason:** checkout 5xx after v1.4.0');
    expect(summary).toContain('**Triggered by:** octocat');
    expect(summary).toContain('**Mode:** github');
    expect(summary).toContain(`returned to Deployment #${good} (\`c0ffee0\``);
    expect(summary).toContain(`GitHub Deployment #${bad} (bad0000) marked failure, then inactive`);
    expect(summary).toContain(`GitHub Deployment #${created.id} marked success`);
    expect(summary).not.toContain(TOKEN);
    expect(result).toMatchObject({
      verdict: 'rolled-back',
      mode: 'github',
      github: { bad: { id: bad }, target: { id: good }, recorded: { id: created.id, state: 'success' } },
    });
  });

  it('rides out a GitHub 502 and a Kubernetes 503', async () => {
    const { bad } = seedHistory();
    gh.faults.push({ method: 'POST', pathEndsWith: '/statuses', status: 502 });
    c.sim.faults.add({ verb: 'patch', resource: 'deployments', status: 503, times: 1 });
    const { code, errors } = await run({ deployments: 'web', namespace: NS });
    expect(errors).toBe('');
    expect(code).toBe(0);
    expect(gh.faults).toEqual([]); // the 502 was answered, and the status posted again
    expect(imageOf(web())).toBe(`${IMAGE}:v1.3.0`);
    expect(gh.states(bad)).toEqual(['inactive', 'failure', 'success', 'in_progress']);
    const created = [...gh.deployments.values()].at(-1)!;
    expect(gh.states(created.id)).toEqual(['success', 'in_progress']);
  });

  it('plans on dry-run without changing the cluster or GitHub', async () => {
    const { bad, good } = seedHistory();
    const { code, result, summary } = await run({ app: 'web', 'dry-run': 'true' });
    expect(code).toBe(0);
    expect(result.verdict).toBe('planned');
    expect(imageOf(web())).toBe(`${IMAGE}:v1.4.0`);
    expect(gh.writes()).toEqual([]);
    expect(summary).toContain(`returned to Deployment #${good}`);
    expect(summary).toContain(`Would mark #${bad}`);
  });

  it('refuses bad input before anything changes: no environment, no images in the payload, a container the payload does not name', async () => {
    const before = web().metadata?.generation;

    const noEnvironment = await run({ app: 'web', environment: '' });
    expect(noEnvironment.code).toBe(1);
    expect(noEnvironment.errors).toContain("Input 'environment': is required with mode: github");
    expect(noEnvironment.errors).toContain('Example: environment: production');
    expect(gh.requests).toEqual([]);

    gh.seed('production', { app: 'web', images: {} }, ['in_progress', 'success', 'inactive']);
    gh.seed('production', { app: 'web', images: { app: `${IMAGE}:v1.4.0` } }, ['in_progress', 'success']);
    const noImages = await run({ app: 'web' });
    expect(noImages.code).toBe(1);
    expect(noImages.errors).toContain('has no images in its payload, so it cannot be redeployed');

    gh.seed('production', { app: 'web', images: { worker: `${IMAGE}:v1.3.0` } }, [
      'in_progress',
      'success',
      'inactive',
    ]);
    gh.seed('production', { app: 'web', images: { app: `${IMAGE}:v1.4.0` } }, ['in_progress', 'success']);
    const wrongContainer = await run({ deployments: 'web', namespace: NS });
    expect(wrongContainer.code).toBe(1);
    expect(wrongContainer.errors).toContain('name no container of deployment "web" (its containers: app, proxy)');

    const withRevision = await run({ app: 'web', 'to-revision': '1' });
    expect(withRevision.code).toBe(1);
    expect(withRevision.errors).toContain("Input 'to-revision': is not used by mode: github");

    expect(gh.writes()).toEqual([]);
    expect(web().metadata?.generation).toBe(before);
    expect(imageOf(web())).toBe(`${IMAGE}:v1.4.0`);
  });

  it('says so when there is no earlier successful Deployment to return to', async () => {
    gh.seed('production', { app: 'web', images: { app: `${IMAGE}:v1.4.0` } }, ['in_progress', 'success']);
    const { code, errors } = await run({ app: 'web' });
    expect(code).toBe(1);
    expect(errors).toContain('No earlier successful GitHub Deployment of environment production for app web');
    expect(gh.writes()).toEqual([]);
  });
});
