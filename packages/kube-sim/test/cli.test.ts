// The standalone CLI: spawned as a user would run it, it prints its address, writes a kubeconfig that
// client-node accepts, creates the scenario's objects, and stops on SIGTERM.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const bin = resolve(here, '../bin/kube-sim.js');
let child: ChildProcess | undefined;
let dir: string | undefined;

afterEach(() => {
  child?.kill('SIGKILL');
  child = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function firstLines(proc: ChildProcess, count: number): Promise<string[]> {
  return new Promise((resolvePromise, reject) => {
    let text = '';
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      text += d;
      const lines = text.split('\n').filter(Boolean);
      if (lines.length >= count) resolvePromise(lines.slice(0, count));
    });
    proc.on('exit', (code) => reject(new Error(`kube-sim exited ${code} before printing ${count} lines: ${text}`)));
  });
}

describe('kube-sim CLI', () => {
  it('prints the address, writes a 0600 kubeconfig and creates the scenario objects', async () => {
    dir = mkdtempSync(join(tmpdir(), 'kube-sim-cli-'));
    const scenario = join(dir, 'scenario.yaml');
    writeFileSync(
      scenario,
      'namespaces: [shop]\nobjects:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: flags, namespace: shop}\n  data: {beta: "on"}\n',
    );
    const kubeconfig = join(dir, 'kubeconfig.yaml');
    child = spawn(process.execPath, [bin, '--port', '0', '--kubeconfig', kubeconfig, '--scenario', scenario], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const [listening, written] = await firstLines(child, 2);
    expect(listening).toMatch(/^kube-sim listening on https:\/\/127\.0\.0\.1:\d+$/);
    expect(written).toBe(`kubeconfig written to ${kubeconfig}`);
    expect(statSync(kubeconfig).mode & 0o777).toBe(0o600);

    const kc = new k8s.KubeConfig();
    kc.loadFromFile(kubeconfig);
    const cm = await kc.makeApiClient(k8s.CoreV1Api).readNamespacedConfigMap({ name: 'flags', namespace: 'shop' });
    expect(cm.data).toEqual({ beta: 'on' });
    // The controllers run by default: a Deployment gets its ReplicaSet.
    await kc.makeApiClient(k8s.AppsV1Api).createNamespacedDeployment({
      namespace: 'shop',
      body: {
        metadata: { name: 'cart' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'cart' } },
          template: {
            metadata: { labels: { app: 'cart' } },
            spec: { containers: [{ name: 'cart', image: 'cart:1' }] },
          },
        },
      },
    });
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    await expect
      .poll(async () => (await apps.listNamespacedReplicaSet({ namespace: 'shop' })).items.length, { timeout: 10_000 })
      .toBe(1);

    const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('rejects unknown options with the usage and exit code 2', async () => {
    child = spawn(process.execPath, [bin, '--prot', '8080'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const code = await new Promise<number | null>((r) => child!.once('exit', (c) => r(c)));
    expect(code).toBe(2);
    expect(stderr).toContain("Unknown option '--prot'");
    expect(stderr).toContain('Usage: kube-sim');
  });
});
