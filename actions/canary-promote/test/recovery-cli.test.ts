/**
 * The CLI has no post step: on SIGINT, SIGTERM or its `timeout` it does what the post step does on GitHub
 * (abort the release, hand the Lease back) and says so. Run in process through runCli with the interrupt
 * given as a signal; the action's own clock is the system's, kube-sim's the virtual one (pods Ready at once).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../packages/dispatch/src/cli';
import { type Cluster, NS, startCluster } from './cluster';

let c: Cluster;

beforeAll(async () => {
  c = await startCluster(181);
});

afterAll(async () => {
  await c?.stop();
});

async function cli(name: string, flags: string[], interruptWhen?: (record: { weight: number }) => boolean) {
  const out: string[] = [];
  const err: string[] = [];
  const interrupt = new AbortController();
  const stop = c.onRecord(name, (record) => {
    if (interruptWhen?.(record) && !interrupt.signal.aborted) interrupt.abort(new Error('Interrupted (SIGTERM)'));
  });
  const code = await runCli(
    [
      'canary-promote',
      '--kubeconfig',
      c.sim.kubeconfig(),
      '--namespace',
      NS,
      '--deployments',
      name,
      '--images',
      `app=ghcr.io/acme/${name}:v2`,
      '--router-config',
      `{ service: ${name} }`,
      ...flags,
    ],
    { out: (line) => out.push(line), err: (line) => err.push(line), env: {}, interrupt: interrupt.signal },
  );
  stop();
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('CLI interrupted', () => {
  it('SIGTERM at 50%: the release is aborted, the Lease handed back, and it says what it did', async () => {
    await c.app('cli-web', 'ghcr.io/acme/cli-web:v1', { replicas: 4 });
    const run = await cli('cli-web', ['--steps', '50,100', '--pause', '1m'], (record) => record.weight === 50);
    expect(run.code).not.toBe(0);
    expect(run.err).toContain('the step did not finish; running its clean-up');
    expect(run.err).toContain('Aborted by the post step');
    expect(run.out).toContain('Lease deploy-actions-cli-web handed back');
    expect(c.record('cli-web')).toMatchObject({ phase: 'aborted', weight: 0 });
    expect(c.find('coordination.k8s.io/v1/leases', 'deploy-actions-cli-web')).toBeUndefined();
    expect(c.replicas('cli-web-canary')).toBe(0);
    expect(c.replicas('cli-web')).toBe(4);
  }, 60_000);

  it('action abort that aborts does not claim the step did not finish', async () => {
    await c.app('cli-cart', 'ghcr.io/acme/cli-cart:v1', { replicas: 4 });
    const paused = await cli('cli-cart', ['--steps', '50,100', '--pause', '1s', '--pause-at', '50']);
    expect(c.record('cli-cart')).toMatchObject({ phase: 'paused', weight: 50 });
    expect(paused.code).toBe(0);
    const aborted = await cli('cli-cart', ['--action', 'abort']);
    expect(aborted.code).toBe(1);
    expect(c.record('cli-cart')).toMatchObject({ phase: 'aborted', weight: 0 });
    expect(aborted.err).not.toContain('did not finish');
    expect(aborted.err).toContain('the step ended with exit code 1; running its clean-up');
  }, 60_000);

  it("the CLI's timeout reached during a pause: the release is aborted, not left at its weight", async () => {
    await c.app('cli-shop', 'ghcr.io/acme/cli-shop:v1', { replicas: 4 });
    // The pause starts once the canary's pods are Ready (a few real ms in): the 2 s timeout ends inside it.
    const run = await cli('cli-shop', ['--steps', '50,100', '--pause', '2s', '--timeout', '2s']);
    expect(run.code).toBe(1);
    expect(run.err).toContain('Timed out after 2s');
    expect(run.err).toContain('Aborted by the post step');
    expect(c.record('cli-shop')).toMatchObject({ phase: 'aborted', weight: 0 });
    expect(c.find('coordination.k8s.io/v1/leases', 'deploy-actions-cli-shop')).toBeUndefined();
  }, 60_000);
});
