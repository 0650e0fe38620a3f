/**
 * The Summit platform runbook (workflows-examples/summit-release.yml), end to end against real parts (see
 * ./support.ts): the canary job versions and promotes the staging digest, gates, backs up and migrates, and
 * stops the canary at 5% of the Ingress with the runbook's checks (error rate under 1%, p99 within 10% of
 * production, both as the real Prometheus measures the simulated apps); the production job continues it
 * to 100%, smoke-tests it and writes the release. On a bad day the canary's p99 is five times production's:
 * the canary is aborted at 5%, production never had less than 95%, the production job does not run.
 */
import type { Deployment, KubeObject } from '@deploy-actions/core/kube';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  changelogSection,
  digestOf,
  expectCleanInputs,
  images,
  migrationHistory,
  previousDatabase,
  pushStagingImage,
  releaseRepo,
  rolledOut,
  runExample,
  type Stack,
  sampleServing,
  stackMissing,
  startStack,
  step,
  trace,
} from './support';

const missing = stackMissing();
const FILE = 'summit-release.yml';
const NS = 'summit-production';
const APP = 'intelgraph-server';
const CHANGES = ['fix: graph queries time out after 30 s', 'fix: cases keep their priority'];
const vars = { CANARY_PAUSE: '6s', ANALYSIS_INTERVAL: '2s' };

describe.skipIf(missing)(`${FILE}: the Summit platform end to end${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let stack: Stack;
  let IMAGE: string;
  beforeAll(async () => {
    stack = await startStack({ namespaces: [NS], appService: { namespace: NS, name: APP } });
    IMAGE = `${stack.registry.host}/summit/${APP}`;
    // Every version answers in 30 ms, no errors: production's p99 is a fixed number to compare with.
    stack.sim.behaviour.set('*', { readyAfter: '50ms', http: { errorRate: 0, latencyMs: 30 } });
    const service = (name: string, selector: Record<string, string>) =>
      stack.client.create('Service', {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name, namespace: NS },
        spec: { selector, ports: [{ port: 80, targetPort: 8080 }] },
      } as KubeObject);
    await service(APP, { app: APP });
    // What the cluster has for the nginx router: a canary Service, and the app's Ingress.
    await service(`${APP}-canary`, { app: APP, 'deploy-actions.dev/role': 'canary' });
    await stack.client.create('Ingress', {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: APP, namespace: NS },
      spec: {
        ingressClassName: 'nginx',
        rules: [
          {
            host: 'summit.example.com',
            http: {
              paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: APP, port: { number: 80 } } } }],
            },
          },
        ],
      },
    } as KubeObject);
    await stack.client.create('Deployment', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: APP, namespace: NS, labels: { app: APP } },
      spec: {
        replicas: 4,
        selector: { matchLabels: { app: APP } },
        template: {
          metadata: { labels: { app: APP } },
          spec: { containers: [{ name: APP, image: `${IMAGE}:4.0.4` }] },
        },
      },
    } satisfies Deployment);
    await rolledOut(stack, NS, APP);
    stack.sim.traffic.start({ service: APP, namespace: NS, rps: 200 });
    await stack.prometheus.waitForData(`http_requests_total{app="${APP}",version="4.0.4"}`);
  }, 60_000);
  afterAll(async () => stack?.stop());

  /** The repository and database as release `tag` left them (migration V1, some cases), `changes` since. */
  async function previousRelease(name: string, tag: string, changes: string[]) {
    const release = releaseRepo('summit', tag, changes);
    const database = await previousDatabase(
      stack,
      release,
      name,
      "INSERT INTO cases (title) VALUES ('first'), ('second')",
    );
    const staging = await pushStagingImage(stack, `summit/${APP}`, release.sha);
    return { release, database, staging };
  }

  it('a good release: 4.0.5 canary at 5% with the checks, then production to 100%, smoke, release notes', async () => {
    const { release, database, staging } = await previousRelease('summit_good', 'v4.0.4', CHANGES);
    const sampler = sampleServing(stack, NS, APP);
    const result = await runExample(stack, FILE, release, { secrets: { SUMMIT_DATABASE_URL: database }, vars });
    const samples = sampler.stop();
    expect(result.conclusion, trace(result)).toBe('success');
    expectCleanInputs(result);

    expect(step(result, 'canary', 'Version, and the staging image promoted').outputs).toMatchObject({
      version: '4.0.5',
      digest: staging.digest,
    });
    expect(await digestOf(stack, `summit/${APP}:4.0.5`)).toBe(staging.digest);
    expect(step(result, 'canary', 'Pre-deployment checklist').status).toBe('success');
    expect(migrationHistory(stack, database)).toEqual(['1 create cases', '2 cases priority']);
    expect(step(result, 'canary', 'Backup, then migrate').outputs['backup-path']).toMatch(/^backups\/.+\.dump$/);

    const canary = step(result, 'canary', 'Canary at 5%');
    expect(canary.outputs).toMatchObject({ result: 'paused', weight: '5' });
    expect(canary.summary).toContain('p99-vs-production');
    // The job's outputs reached the production job (needs.canary.outputs), as on GitHub.
    expect(result.jobs.find((job) => job.id === 'canary')!.outputs).toEqual({
      version: '4.0.5',
      digest: staging.digest,
    });
    const promote = step(result, 'production', 'Full production rollout');
    expect(promote.outputs['result'], promote.log.join('\n')).toBe('promoted');
    expect(images(stack, NS, APP)).toEqual([`${IMAGE}:4.0.5`]);
    expect(samples.at(-1)!.percent).toEqual({ '4.0.5': 100 });
    // The weights users saw went 5 → 10 → 50 → 100, never more than one step at a time.
    const canaryShares = [...new Set(samples.map((s) => s.percent['4.0.5'] ?? 0))];
    expect(canaryShares).toEqual(expect.arrayContaining([0, 5, 10, 50, 100]));
    expect(samples.filter((s) => s.percent['unavailable'])).toEqual([]);

    expect(step(result, 'production', 'Smoke tests').status).toBe('success');
    const section = changelogSection(release, '4.0.5');
    expect(section).toContain('graph queries time out after 30 s');
    const githubRelease = stack.github.releases.find((r) => r.tag_name === 'v4.0.5');
    expect(githubRelease?.body).toContain('cases keep their priority');
    expect(githubRelease?.body).toContain(staging.digest);
    expect(result.jobs.find((job) => job.id === 'production')!.summary).toMatch(/promoted/);
  }, 150_000);

  it("a bad day: the canary's p99 is 5x production's, the canary is aborted at 5% and production never runs", async () => {
    // 4.0.5 is production now; the next release, 4.0.6, answers in 120 ms.
    stack.sim.behaviour.set(`${IMAGE}:4.0.6`, { readyAfter: '50ms', http: { errorRate: 0, latencyMs: 120 } });
    const { release: badRelease, database } = await previousRelease('summit_bad', 'v4.0.5', CHANGES.slice(0, 1));
    const sampler = sampleServing(stack, NS, APP);
    const result = await runExample(stack, FILE, badRelease, { secrets: { SUMMIT_DATABASE_URL: database }, vars });
    const samples = sampler.stop();
    expect(result.conclusion, trace(result)).toBe('failure');

    const canary = step(result, 'canary', 'Canary at 5%');
    expect(canary.status).toBe('failure');
    expect(canary.outputs['result']).toBe('aborted');
    expect(canary.reason).toMatch(/p99-vs-production/);
    // Production kept at least 95% throughout, and 100% once aborted; its pods never changed.
    expect(samples.length).toBeGreaterThan(20);
    expect(samples.filter((s) => (s.percent['4.0.5'] ?? 0) < 95)).toEqual([]);
    expect(samples.at(-1)!.percent).toEqual({ '4.0.5': 100 });
    expect(images(stack, NS, APP)).toEqual([`${IMAGE}:4.0.5`]);
    expect(result.jobs.find((job) => job.id === 'production')).toMatchObject({ status: 'skipped' });
    expect(stack.github.releases.find((r) => r.tag_name === 'v4.0.6')).toBeUndefined();
    const summary = result.jobs.find((job) => job.id === 'canary')!.summary;
    expect(summary).toMatch(/aborted/i);
    expect(summary).toMatch(/p99-vs-production/);
  }, 150_000);
});
