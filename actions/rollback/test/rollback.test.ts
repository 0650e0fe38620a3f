/**
 * The rollback action end to end: its input schema and adapter, the core
 * rollback, and kube-sim's Deployment controller over HTTPS, all on one
 * virtual clock that jumps ahead whenever the process is idle.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Deployment } from '@deploy-actions/core/kube';
import { sideDeployment } from '@deploy-actions/core/rollout';
import { type Cluster, startCluster } from '@deploy-actions/testkit/cluster';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import rollback from '../src/main';
import { parsed } from './outputs';

const DEPLOYMENTS = 'apps/v1/deployments';
let c: Cluster;

/** Release `images` one after another, each fully rolled out: revisions 1..n. */
async function release(name: string, images: string[], labels: Record<string, string> = {}) {
  await c.app(name, images[0]!, {
    service: false,
    replicas: 3,
    progressDeadlineSeconds: 60,
    labels,
    sidecars: [{ name: 'proxy', image: 'envoy:1.30' }],
  });
  for (const image of images.slice(1)) await c.setImage(name, 'app', image);
}

function current(name: string) {
  const object = c.sim.store.get(DEPLOYMENTS, 'prod', name) as Deployment;
  return {
    images: object.spec?.template?.spec?.containers?.map((container) => container.image),
    revision: object.metadata?.annotations?.['deployment.kubernetes.io/revision'],
    generation: object.metadata?.generation,
  };
}

const run = async (inputs: Record<string, string>) => parsed(await c.run(inputs));

beforeAll(async () => {
  c = await startCluster({
    namespace: 'prod',
    controllers: 'bare',
    behaviour: { 'web:broken': { crashLoop: true } },
    env: { GITHUB_ACTOR: 'octocat' },
    action: rollback,
  });
  await release('web', ['web:1.0', 'web:1.1', 'web:1.2']);
  await release('auth', ['auth:1.0', 'auth:2.0'], { tier: 'api' });
  await release('users', ['users:1.0', 'users:2.0'], { tier: 'api' });
});

afterAll(async () => {
  await c?.stop();
});

describe('rollback action, mode kubernetes', () => {
  it('run off GitHub (the CLI, the demo), names the local user as who triggered it', async () => {
    const { code, summary } = parsed(
      await c.run(
        { deployments: 'web', 'dry-run': 'true', reason: 'drill' },
        { env: { GITHUB_ACTOR: '', USER: 'alice' } },
      ),
    );
    expect(code).toBe(0);
    expect(summary).toContain('**Triggered by:** alice (local run)');
  });

  it('puts the previous revision back and waits until it has rolled out', async () => {
    const { code, result, restored, summary } = await run({
      deployments: 'web',
      reason: 'error rate 7% after web:1.2',
    });
    expect(code).toBe(0);
    expect(result.verdict).toBe('rolled-back');
    // As `kubectl rollout undo`: revision 2's template comes back as the new revision 4.
    expect(current('web')).toMatchObject({ images: ['web:1.1', 'envoy:1.30'], revision: '4' });
    expect(restored.web).toMatchObject({
      outcome: 'restored',
      before: { revision: 3, images: { app: 'web:1.2', proxy: 'envoy:1.30' } },
      after: { revision: 4, images: { app: 'web:1.1', proxy: 'envoy:1.30' } },
    });
    const status = c.sim.store.get(DEPLOYMENTS, 'prod', 'web').status;
    expect(status).toMatchObject({ replicas: 3, updatedReplicas: 3, availableReplicas: 3 });
    expect(summary).toContain('## Rolled back: 1 Deployment(s) in `prod`');
    expect(summary).toContain('**Reason:** error rate 7% after web:1.2');
    expect(summary).toContain('**Triggered by:** octocat');
    expect(summary).toMatch(
      /\| deployment\/web \| restored \| 3 \| app=web:1.2, proxy=envoy:1.30 \| 4 \| app=web:1.1, proxy=envoy:1.30 \|/,
    );
  });

  it('restores a named revision of every Deployment a selector matches', async () => {
    const { code, restored } = await run({ selector: 'tier=api', 'to-revision': '1' });
    expect(code).toBe(0);
    expect(Object.keys(restored)).toEqual(['auth', 'users']);
    expect(current('auth').images).toEqual(['auth:1.0', 'envoy:1.30']);
    expect(current('users').images).toEqual(['users:1.0', 'envoy:1.30']);
  });

  it('changes nothing and lists the revisions when the one asked for does not exist', async () => {
    const before = current('web');
    const { code, rt } = await run({ deployments: 'web', 'to-revision': '9' });
    expect(code).toBe(1);
    expect(rt.lines('error').join('\n')).toMatch(/Revision 9 of deployment "web" does not exist; revisions: 1, 3, 4/);
    expect(current('web')).toEqual(before);
  });

  it('changes nothing when one of several Deployments does not exist', async () => {
    const before = current('auth');
    const { code, rt } = await run({ deployments: 'auth, billing' });
    expect(code).toBe(1);
    expect(rt.lines('error').join('\n')).toMatch(
      /Deployment not found in namespace "prod": billing \(Deployments there: auth, users, web\)/,
    );
    expect(current('auth')).toEqual(before);
  });

  it('refuses a canary Deployment a release left beside its stable, in kubernetes and image modes, naming the stable', async () => {
    const stable = c.sim.store.get(DEPLOYMENTS, 'prod', 'auth') as Deployment;
    const side = { role: 'canary' as const, name: 'auth-canary', version: '2.0', template: stable.spec!.template! };
    await c.client.create('Deployment', sideDeployment(stable, side, 'auth', 0));
    try {
      const before = [current('auth'), current('auth-canary')];
      for (const mode of ['kubernetes', 'image']) {
        const { code, rt } = await run({ mode, deployments: 'auth-canary', 'to-version': '1.0' });
        expect(code).toBe(1);
        expect(rt.lines('error')).toHaveLength(1);
        expect(rt.lines('error')[0]).toContain(
          "Input 'deployments': auth-canary is the canary Deployment deploy-actions created beside auth",
        );
        expect(rt.lines('error')[0]).toContain('Example: deployments: auth');
      }
      expect([current('auth'), current('auth-canary')]).toEqual(before);
    } finally {
      await c.client.delete('Deployment', { namespace: 'prod', name: 'auth-canary' });
    }
  });

  it('says so when a selector matches nothing', async () => {
    const { code, rt } = await run({ selector: 'tier=batch' });
    expect(code).toBe(1);
    // What is there, and an example from the Deployments' own labels (tier=api is on auth and users).
    expect(rt.lines('error').join('\n')).toContain(
      'No Deployment in namespace "prod" matches the selector "tier=batch" (Deployments there: auth, users, web). ' +
        "A selector matches the Deployments' own labels (metadata.labels), not their pods'. " +
        'Example: selector: tier=api (matches auth, users), or deployments: auth, users',
    );
  });

  it('plans without changing anything on dry-run', async () => {
    const before = current('web');
    const { code, result, summary } = await run({ deployments: 'web', 'dry-run': 'true' });
    expect(code).toBe(0);
    expect(result.verdict).toBe('planned');
    expect(summary).toContain('Rollback planned (dry run, nothing changed)');
    expect(current('web')).toEqual(before);
  });

  it('rides out API faults: a 503 on the patch and watches the server drops', async () => {
    const failPatch = c.sim.faults.add({ verb: 'patch', resource: 'deployments', status: 503, times: 1 });
    const dropWatch = c.sim.faults.add({ verb: 'watch', resource: 'deployments', dropWatchAfterEvents: 1, times: 2 });
    const before = current('web');
    const { code, restored, rt } = await run({ deployments: 'web' });
    failPatch();
    dropWatch();
    expect(code).toBe(0);
    expect(restored.web.outcome).toBe('restored');
    expect(current('web').images).not.toEqual(before.images);
    expect(current('web').generation).toBe((before.generation ?? 0) + 1);
    expect(rt.lines('warning').join('\n')).toMatch(/PATCH .*deployments\/web failed \(attempt 1\).*503/);
  });
});

describe('rollback action, verify', () => {
  let app: Server;
  let base: string;
  beforeAll(async () => {
    // The restored app: healthy, but its /version says which build answers.
    app = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(req.url === '/version' ? { version: '1.0' } : { status: 'ok' }));
    });
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => app.close(() => resolve())));

  it('runs the checks after the rollout and reports them', async () => {
    const verify = `[{ name: health, request: { url: "${base}/healthz" }, expect: { status: 200, json: { "$.status": { equals: ok } } } }]`;
    // By number: auth was rolled back from 2.0 above, so "the previous revision" would refuse (rolled back from).
    const { code, summary, result } = await run({ deployments: 'auth', 'to-revision': '2', verify });
    expect(code).toBe(0);
    expect(result.verification.passed).toBe(true);
    expect(summary).toContain('Verification after the rollback: 1 passed, 0 failed');
  });

  it('fails the step when the restored version does not pass them', async () => {
    const verify = `[{ name: version, request: { url: "${base}/version" }, expect: { json: { "$.version": { equals: "2.0" } } } }]`;
    const { code, rt } = await run({ deployments: 'auth', 'to-revision': '3', verify });
    expect(code).toBe(1);
    expect(rt.lines('error').join('\n')).toMatch(/Rolled back, but verification failed: version: /);
  });

  it('refuses a spec it cannot parse before changing anything', async () => {
    const before = current('auth');
    const { code, rt } = await run({ deployments: 'auth', verify: '[{ name: x, request: { url: 42 } }]' });
    expect(code).toBe(1);
    expect(rt.lines('error').join('\n')).toContain("Input 'verify'");
    expect(current('auth')).toEqual(before);
  });
});

describe('rollback action, mode image', () => {
  it('redeploys a tag to the containers the last release changed, leaving sidecars alone', async () => {
    const { code, restored } = await run({ mode: 'image', deployments: 'web', 'to-version': '0.9.5' });
    expect(code).toBe(0);
    expect(current('web').images).toEqual(['web:0.9.5', 'envoy:1.30']);
    expect(restored.web.after.images).toEqual({ app: 'web:0.9.5', proxy: 'envoy:1.30' });
  });

  it('fails, saying which Deployment did not finish, when the restored version never becomes ready', async () => {
    const { code, rt, result, summary } = await run({ mode: 'image', deployments: 'web', 'to-version': 'broken' });
    expect(code).toBe(1);
    expect(result.verdict).toBe('failed');
    expect(rt.lines('error').join('\n')).toMatch(
      /Rollback did not finish for deployment\/web: .*exceeded its progress deadline/,
    );
    // The summary says why, from the pods: the restored image crash-loops.
    expect(summary).toMatch(
      /pod web-[a-z0-9]+-[a-z0-9]+: container app CrashLoopBackOff \(restarts \d+, last exit code 1/,
    );
  });
});
