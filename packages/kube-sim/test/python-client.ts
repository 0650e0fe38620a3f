/**
 * The official Kubernetes Python client (Debian's python3-kubernetes) for tests. It lives in the system
 * Python (`/usr/bin/python3`); the `python3` first on PATH may be another one without it. `$KUBE_PYTHON`
 * names another interpreter. Tests skip with `pythonClientMissing` when none imports `kubernetes`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll } from 'vitest';
import { installControllers } from '../src/defaults';
import { KubeSim } from '../src/index';

const candidates = [process.env.KUBE_PYTHON, '/usr/bin/python3', 'python3'].filter((p): p is string => !!p);

let found: string | null | undefined;

export function findPythonClient(): string | undefined {
  if (found === undefined) {
    found =
      candidates.find((bin) => spawnSync(bin, ['-c', 'import kubernetes'], { stdio: 'ignore' }).status === 0) ?? null;
  }
  return found ?? undefined;
}

export const pythonClientMissing =
  'no Python with the official kubernetes client (apt-get install python3-kubernetes, or set KUBE_PYTHON)';

/**
 * Runs `script` with the client loaded against `kubeconfig` (`v1`, `apps`, `dyn`, `client`, `watch` and
 * `ApiException` are in scope) and returns what it printed as JSON on its last line. A Python exception fails
 * with its traceback.
 */
export function runPython(script: string, kubeconfig: string, timeoutMs = 30_000): Promise<unknown> {
  const bin = findPythonClient();
  if (!bin) return Promise.reject(new Error(pythonClientMissing));
  const prelude = [
    'import json, sys',
    'from kubernetes import client, config, watch, dynamic',
    'from kubernetes.client.rest import ApiException',
    `config.load_kube_config(${JSON.stringify(kubeconfig)})`,
    'v1 = client.CoreV1Api()',
    'apps = client.AppsV1Api()',
    'dyn = dynamic.DynamicClient(client.ApiClient())',
    'def out(value): print(json.dumps(value, default=str))',
    'def status_of(e): return {"status": e.status, "body": json.loads(e.body)}',
  ].join('\n');
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['-c', `${prelude}\n${script}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      const last = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0) reject(new Error(`python exited ${code}: ${stderr || stdout}`));
      else resolve(JSON.parse(last));
    });
  });
}

/**
 * A kube-sim for tests that talk to it through real clients: started before the file's tests (with the
 * controllers when asked), its kubeconfig written to a temporary file for kubectl and Python and loaded for
 * client-node, all removed after.
 */
export function simForClients(options: { controllers?: boolean } = {}) {
  const state = {} as { sim: KubeSim; dir: string; kubeconfig: string; kc: k8s.KubeConfig };
  beforeAll(async () => {
    state.sim = await KubeSim.start();
    if (options.controllers) installControllers(state.sim);
    state.dir = mkdtempSync(join(tmpdir(), 'kube-sim-clients-'));
    state.kubeconfig = join(state.dir, 'kubeconfig.yaml');
    state.sim.writeKubeconfig(state.kubeconfig);
    state.kc = new k8s.KubeConfig();
    state.kc.loadFromString(state.sim.kubeconfig());
  });
  afterAll(async () => {
    await state.sim?.stop();
    if (state.dir) rmSync(state.dir, { recursive: true, force: true });
  });
  return state;
}
