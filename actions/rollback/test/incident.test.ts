/**
 * What a person on call reads after a rollback of several Deployments: the step's error line when it stopped
 * half-way, the incident summary (before/after table, timeline) and the `restored` output. On kube-sim with
 * its controllers, on a virtual clock.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Deployment } from '@deploy-actions/core/kube';
import { type Cluster, GITHUB_ENV, type RunResult, startCluster } from '@deploy-actions/testkit/cluster';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import rollback from '../src/main';

let c: Cluster;

async function release(name: string, images: string[]) {
  await c.app(name, images[0]!, { service: false, replicas: 2, progressDeadlineSeconds: 60 });
  for (const image of images.slice(1)) await c.setImage(name, 'app', image);
}

function now(name: string) {
  const object = c.sim.store.get('apps/v1/deployments', 'prod', name) as Deployment;
  return {
    image: object.spec?.template?.spec?.containers?.[0]?.image,
    revision: object.metadata?.annotations?.['deployment.kubernetes.io/revision'],
    rolledOut:
      object.status?.updatedReplicas === object.spec?.replicas &&
      object.status?.availableReplicas === object.spec?.replicas &&
      object.status?.replicas === object.spec?.replicas,
  };
}

const restored = (run: RunResult) => JSON.parse(run.outputs['restored'] ?? '{}');

/** The rows of the summary's markdown table that follows `heading` (header and separator left out). */
function tableAfter(summary: string, heading: string): string[][] {
  const lines = summary.slice(summary.indexOf(heading)).split('\n');
  const start = lines.findIndex((line) => line.startsWith('|'));
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .slice(1, -1)
        .split(' | ')
        .map((cell) => cell.trim()),
    );
  }
  return rows;
}

beforeAll(async () => {
  c = await startCluster({
    namespace: 'prod',
    controllers: 'bare',
    readyAfter: '2s',
    env: { GITHUB_ACTOR: 'octocat' },
    action: rollback,
  });
  await release('auth-service', ['auth:1.0', 'auth:1.1']);
  await release('user-service', ['user:1.0', 'user:1.1']);
  await release('org-service', ['org:1.0', 'org:1.1']);
});

afterAll(async () => {
  await c?.stop();
});

describe('rollback of several Deployments by name', () => {
  it('rolls back every one listed and tells the story in the summary: before/after table and timeline', async () => {
    const run = await c.run({
      deployments: 'auth-service, user-service, org-service',
      reason: 'login errors after 1.1',
    });
    expect(run.errors).toEqual([]);
    expect(run.code).toBe(0);
    for (const [name, image] of [
      ['auth-service', 'auth:1.0'],
      ['user-service', 'user:1.0'],
      ['org-service', 'org:1.0'],
    ] as const) {
      expect(now(name)).toEqual({ image, revision: '3', rolledOut: true });
    }

    expect(tableAfter(run.summary, '## Rolled back: 3 Deployment(s)').map((row) => row.slice(0, 6))).toEqual([
      ['deployment/auth-service', 'restored', '2', 'app=auth:1.1', '3', 'app=auth:1.0'],
      ['deployment/user-service', 'restored', '2', 'app=user:1.1', '3', 'app=user:1.0'],
      ['deployment/org-service', 'restored', '2', 'app=org:1.1', '3', 'app=org:1.0'],
    ]);

    const timeline = tableAfter(run.summary, '### Timeline');
    const times = timeline.map(([at]) => Date.parse(at ?? ''));
    expect(times.every((time) => Number.isFinite(time))).toBe(true);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    // Pods take 2 s to be Ready: the rollouts end after the patches, on the virtual clock.
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(2_000);
    const events = timeline.map(([, event]) => event ?? '');
    expect(events[0]).toBe('Rollback requested by octocat: login errors after 1.1');
    expect(events[1]).toBe('Planned 3 of 3 Deployment(s) to change');
    for (const [name, image] of [
      ['auth-service', 'auth:1.0'],
      ['user-service', 'user:1.0'],
      ['org-service', 'org:1.0'],
    ]) {
      const patched = events.indexOf(`Patched deployment/${name}: app=${image}`);
      const done = events.findIndex((event) => event.startsWith(`deployment/${name} rolled out in `));
      expect(patched).toBeGreaterThan(1);
      expect(done).toBeGreaterThan(patched);
    }
    expect(events).toHaveLength(2 + 3 + 3);
  });
});

describe('a rollback that stops half-way', () => {
  it('waits for the ones patched, says which are and are not rolled back, and what to run next', async () => {
    await release('cart', ['cart:1', 'cart:2']);
    await release('pay', ['pay:1', 'pay:2']);
    // Every PATCH of pay fails, retries included.
    const off = c.sim.faults.add({ verb: 'patch', resource: 'deployments', name: 'pay', status: 500 });
    let run: RunResult;
    try {
      run = await c.run({ deployments: 'cart, pay', reason: 'payment errors' });
    } finally {
      off();
    }
    expect(run.code).toBe(1);
    // cart went back and its rollout finished; pay still runs the release being undone.
    expect(now('cart')).toEqual({ image: 'cart:1', revision: '3', rolledOut: true });
    expect(now('pay')).toMatchObject({ image: 'pay:2', revision: '2' });

    const error = run.errors.join('\n');
    expect(error).toContain('Rollback did not finish for deployment/pay: not rolled back: PATCH');
    expect(error).toContain('Rolled back: deployment/cart.');
    expect(error).toContain('Not rolled back (still on the version before): deployment/pay.');
    // Only pay: undoing cart again would put the bad version back.
    expect(error).toContain('Next: run this step again with mode: kubernetes, deployments: pay (only those).');
    expect(error).not.toContain('failed unexpectedly');

    expect(restored(run)).toMatchObject({
      cart: { outcome: 'restored', before: { revision: 2 }, after: { revision: 3, images: { app: 'cart:1' } } },
      pay: { outcome: 'unpatched', before: { revision: 2 }, after: { revision: 2, images: { app: 'pay:2' } } },
    });
    expect(JSON.parse(run.outputs['result'] ?? '{}').verdict).toBe('failed');
    expect(run.summary).toContain('## Rollback did not finish: 2 Deployment(s) in `prod`');
    expect(run.summary).toContain('**Left half-way:** Rolled back: deployment/cart.');
    const rows = tableAfter(run.summary, '## Rollback did not finish').map((row) => row.slice(0, 6));
    expect(rows).toEqual([
      ['deployment/cart', 'restored', '2', 'app=cart:2', '3', 'app=cart:1'],
      ['deployment/pay', 'unpatched', '2', 'app=pay:2', '2', 'app=pay:2'],
    ]);
    const events = tableAfter(run.summary, '### Timeline').map(([, event]) => event ?? '');
    expect(events.some((event) => event.startsWith('Could not patch deployment/pay, it still runs app=pay:2'))).toBe(
      true,
    );
    expect(events.some((event) => event.startsWith('deployment/cart rolled out in'))).toBe(true);

    // The run the error line suggests finishes the job.
    const again = await c.run({ mode: 'kubernetes', deployments: 'pay' });
    expect(again.code).toBe(0);
    expect(now('pay')).toEqual({ image: 'pay:1', revision: '3', rolledOut: true });
    expect(now('cart').image).toBe('cart:1');
  });
});

describe('the notify-webhook message', () => {
  it('carries the verdict, reason, who triggered it, environment and before → after per workload', async () => {
    await release('search', ['search:1', 'search:2']);
    await release('index', ['index:1', 'index:2']);
    const bodies: string[] = [];
    const hook = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        bodies.push(body);
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/services/T0/B0/secret`;
      const run = await c.run(
        {
          deployments: 'search, index',
          environment: 'production',
          reason: 'search timeouts after 2',
          'notify-webhook': url,
        },
        { env: { ...GITHUB_ENV, GITHUB_ACTOR: 'octocat', GITHUB_TRIGGERING_ACTOR: 'hubot' } },
      );
      expect(run.code).toBe(0);
      expect(bodies).toHaveLength(1);
      const message = JSON.parse(bodies[0]!);
      expect(message.text).toBe('rollback: rolled-back in acme/shop');
      const fields = Object.fromEntries(
        message.attachments[0].fields.map((field: { title: string; value: string }) => [field.title, field.value]),
      );
      expect(fields.summary).toBe(
        'Rolled back in production (namespace prod), triggered by hubot (re-running a run octocat started): search timeouts after 2',
      );
      expect(fields['restored-images']).toBe(
        'search: rev 2 app=search:2 → rev 3 app=search:1; index: rev 2 app=index:2 → rev 3 app=index:1',
      );
      expect(fields.run).toBe('https://github.com/acme/shop/actions/runs/4242');
      expect(run.outputs['summary']).toBe(fields.summary);
      expect(run.summary).toContain('**Triggered by:** hubot (re-running a run octocat started)');
    } finally {
      await new Promise<void>((resolve) => hook.close(() => resolve()));
    }
  });
});
