/**
 * Every committed bundle, started exactly as a GitHub runner starts it. An ncc build can
 * succeed and still produce a bundle that fails on start (ESM-only packages), so only
 * running each one proves it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { KubeSim } from '@deploy-actions/kube-sim';
import { installControllers } from '@deploy-actions/kube-sim/defaults';
import { TestRepo } from '@deploy-actions/testkit/git-repo';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actionNames, manifest, root, rootManifest } from './support/repo';
import { runLikeRunner } from './support/runner';

// The actions that reach a cluster or a URL get real ones: kube-sim with a `web` Deployment that
// has two revisions, and a loopback HTTP server answering /health.
let sim: KubeSim;
let kubeconfig: string;
let app: Server;
let health: string;

beforeAll(async () => {
  sim = await KubeSim.start({ scenario: { namespaces: ['shop'] } });
  installControllers(sim, { seed: 1 });
  sim.behaviour.set('ghcr.io/acme/web:*', { readyAfter: '50ms' });
  kubeconfig = sim.kubeconfig({ namespace: 'shop' });
  const labels = { app: 'web' };
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop', labels },
    spec: {
      replicas: 2,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: 'web', image: 'ghcr.io/acme/web:v1' }] } },
    },
  };
  sim.store.create(deployment);
  sim.store.create({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'shop' },
    spec: { selector: labels, ports: [{ port: 80, targetPort: 8080 }] },
  });
  await revisionOne();
  const current = structuredClone(sim.store.get('apps/v1/deployments', 'shop', 'web')) as typeof deployment;
  current.spec.template.spec.containers[0]!.image = 'ghcr.io/acme/web:v2';
  sim.store.update(current);
  app = createServer((req, res) => res.writeHead(req.url === '/health' ? 200 : 404).end('ok'));
  await new Promise<void>((done) => app.listen(0, '127.0.0.1', done));
  health = `http://127.0.0.1:${(app.address() as AddressInfo).port}/health`;
});

/** Resolves once the Deployment controller has made web's first ReplicaSet (revision 1). */
function revisionOne(): Promise<void> {
  return new Promise((done) => {
    const stop = sim.store.watch('apps/v1/replicasets', 'shop', undefined, (event) => {
      if (event.object.metadata?.annotations?.['deployment.kubernetes.io/revision'] === '1') {
        stop();
        done();
      }
    });
  });
}

afterAll(async () => {
  await sim?.stop();
  await new Promise((done) => app?.close(done));
});

/** A checked-out repository with one commit, as actions/checkout leaves the workspace. */
function gitWorkspace(): string {
  const repo = new TestRepo('runner-workspace-');
  repo.commit('feat: first feature');
  return repo.dir;
}

/** Inputs that are valid for each action, and one bad input with the name its error must carry. */
function cases(): Record<string, { good: Record<string, string>; bad: [string, string] }> {
  const kube = { kubeconfig, namespace: 'shop' };
  return {
    preflight: { good: { window: '00:00-24:00 UTC' }, bad: ['gate-timeout', 'forever'] },
    'build-tag': { good: { images: 'ghcr.io/acme/web' }, bad: ['dry-run', 'perhaps'] },
    // No database here: the command runner with a command that succeeds, no backup.
    migrate: {
      good: {
        'database-url': 'postgres://app:s3cret@db:5432/app',
        runner: 'command',
        'migration-command': '["node", "-e", ""]',
        backup: 'none',
      },
      bad: ['runner', 'flyway'],
    },
    'canary-promote': {
      // web has 2 pods: the default steps are served as whole pods (weight-rounding: nearest).
      good: {
        ...kube,
        deployments: 'web',
        images: 'web=ghcr.io/acme/web:v3',
        'dry-run': 'true',
        'weight-rounding': 'nearest',
      },
      bad: ['pause', '5 minutes'],
    },
    smoke: { good: { url: health }, bad: ['retries', 'many'] },
    rollback: { good: { ...kube, deployments: 'web', reason: 'runner protocol test' }, bad: ['to-revision', 'latest'] },
    'release-notes': { good: { tag: 'v1.2.0' }, bad: ['timeout', 'forever'] },
  };
}

describe.each(actionNames)('dist bundle of %s', (action) => {
  const m = manifest(action);
  const entry = resolve(root, 'actions', action, m.runs.main);

  it('runs with valid inputs: exit 0, result output, job summary', async () => {
    // release-notes reads the history: its workspace is a repository with a commit.
    const workspace = action === 'release-notes' ? { workspace: gitWorkspace() } : {};
    const run = await runLikeRunner(entry, m, cases()[action]!.good, workspace);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    if (action === 'canary-promote') {
      // Its `result` is the verdict word (README.md, "What every action shares"); the JSON document is `report`.
      expect(run.outputs.result).toBe('planned');
      expect(JSON.parse(run.outputs.report ?? '{}').plan).toContain(
        'create Deployment web-canary (web=ghcr.io/acme/web:v3)',
      );
    } else {
      expect(JSON.parse(run.outputs.result ?? '{}').action).toBe(action);
    }
    expect(run.summary).toMatch(/^## /m);
    if (action === 'rollback') {
      const web = sim.store.get('apps/v1/deployments', 'shop', 'web') as {
        spec: { template: { spec: { containers: { image: string }[] } } };
      };
      expect(web.spec.template.spec.containers[0]!.image).toBe('ghcr.io/acme/web:v1');
    }
  });

  it('refuses a bad input with one ::error:: line naming it, exit 1', async () => {
    const { good, bad } = cases()[action]!;
    const [input, value] = bad;
    const run = await runLikeRunner(entry, m, { ...good, [input]: value });
    expect(run.code).toBe(1);
    const errors = run.stdout.split('\n').filter((line) => line.startsWith('::error'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(`Input '${input}'`);
    expect(errors[0]).toContain(JSON.stringify(value));
    expect(errors[0]).toContain('Example:');
    expect(run.outputs).toEqual({});
  });
});

describe('post step', () => {
  it('after a main step that refused its inputs: says nothing more, exit 0 (the error is reported once)', async () => {
    const m = manifest('canary-promote');
    expect(m.runs.post).toBeDefined();
    const { good, bad } = cases()['canary-promote']!;
    // The runner starts the post entry with the state main saved (isPost, as @actions/core's convention).
    const run = await runLikeRunner(
      resolve(root, 'actions', 'canary-promote', m.runs.post!),
      m,
      { ...good, [bad[0]]: bad[1] },
      { state: { isPost: 'true' } },
    );
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n').filter((line) => line.startsWith('::error'))).toEqual([]);
  });
});

describe('namespace', () => {
  it("defaults to the kubeconfig context's namespace, as kubectl does", async () => {
    const m = manifest('canary-promote');
    const run = await runLikeRunner(resolve(root, 'actions', 'canary-promote', m.runs.main), m, {
      kubeconfig, // its context's namespace is `shop`; no namespace input
      deployments: 'web',
      images: 'web=ghcr.io/acme/web:v3',
      'dry-run': 'true',
      'weight-rounding': 'nearest',
    });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.outputs.report ?? '{}').plan.join('\n')).toContain('scale Deployment shop/web-canary');
  });
});

describe('umbrella action (dist/main)', () => {
  const entry = join(root, rootManifest().runs.main);

  it('dispatches by command', async () => {
    const run = await runLikeRunner(entry, rootManifest(), { command: 'smoke', url: health });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.outputs.result ?? '{}').action).toBe('smoke');
  });

  it('refuses an unknown command, listing the valid ones', async () => {
    const run = await runLikeRunner(entry, rootManifest(), { command: 'deploy-everything' });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      /::error::Input 'command': unknown command "deploy-everything"\. Valid: .*canary-promote/,
    );
  });

  it('masks secrets given as inputs in everything it writes', async () => {
    const run = await runLikeRunner(entry, rootManifest(), {
      ...cases().migrate!.good,
      command: 'migrate',
      'database-url': 'postgres://app:s3cret-pw@db:5432/app',
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('::add-mask::');
    expect(run.summary).not.toContain('s3cret-pw');
    expect(run.outputs.result).not.toContain('s3cret-pw');
  });
});
