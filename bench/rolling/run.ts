/**
 * bench/rolling: apply and wait for 1 and 30 Deployments on kube-sim (real
 * time, pods Ready 300 ms after start, 3 replicas, default 25% surge) with
 * strategy rolling, and with what the runbooks do by hand — `kubectl apply -f`
 * of the same manifest file, then `kubectl rollout status` for each
 * Deployment — in the same run, alternating who goes first. Every round
 * releases a new image tag to every Deployment. Prints wall time and API
 * requests (counted by kube-sim), and the ratio ours/kubectl.
 * Ours runs in-process (bundle start-up is bench/startup's number).
 *
 *   npx tsx bench/rolling/run.ts [rounds]
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../../packages/core/src/clock';
import { runRolling } from '../../packages/core/src/deploy';
import { KubeClient } from '../../packages/core/src/kube/client';
import { createMemoryRuntime } from '../../packages/core/src/runtime';
import { KubeSim } from '../../packages/kube-sim/src';
import { BehaviourTable } from '../../packages/kube-sim/src/behaviour';
import { startControllers } from '../../packages/kube-sim/src/controllers/start';
import { findKubectl, kubectlOk } from '../../packages/testkit/src/kubectl';
import { alternateRounds, comparisonLine, kubectlRolloutStatus, reportComparison, type Sample } from '../support';

const rounds = Number(process.argv[2] ?? 3);
const NAMESPACE = 'bench';
const work = mkdtempSync(join(tmpdir(), 'bench-rolling-'));

const sim = await KubeSim.start({ scenario: { namespaces: [NAMESPACE] } });
const behaviour = new BehaviourTable().set('*', { readyAfter: '300ms' });
const controllers = startControllers(sim.store, systemClock, behaviour);
const kubeconfig = join(work, 'kubeconfig');
sim.writeKubeconfig(kubeconfig, { namespace: NAMESPACE });
const kubectlBin = findKubectl();
let version = 0;

function manifest(names: string[], tag: number): string {
  return names
    .map(
      (name) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: ${NAMESPACE}
spec:
  replicas: 3
  selector:
    matchLabels: { app: ${name} }
  template:
    metadata:
      labels: { app: ${name} }
    spec:
      containers:
        - name: app
          image: registry.local/${name}:${tag}
`,
    )
    .join('---\n');
}

/** A manifest file with a fresh image tag for every Deployment. */
function release(names: string[]): string {
  version++;
  const file = join(work, `release-${names.length}-${version}.yaml`);
  writeFileSync(file, manifest(names, version));
  return file;
}

async function ours(names: string[], file: string): Promise<Sample> {
  const rt = createMemoryRuntime({ clock: systemClock, workspace: work });
  const before = sim.stats.total;
  const started = performance.now();
  const client = await KubeClient.connect({ kubeconfig, env: {}, workspace: work });
  const outcome = await runRolling(rt, { client, namespace: NAMESPACE, manifests: [file], timeoutMs: 300_000 });
  const wallMs = performance.now() - started;
  if (outcome.verdict !== 'deployed') throw new Error(`rolling ended ${outcome.verdict}: ${outcome.failure}`);
  if (outcome.workloads.length !== names.length) throw new Error(`awaited ${outcome.workloads.length} workloads`);
  return { wallMs, requests: sim.stats.total - before };
}

async function byHand(names: string[], file: string): Promise<Sample> {
  const before = sim.stats.total;
  const started = performance.now();
  await kubectlOk(['apply', '-f', file], { kubeconfig, timeoutMs: 120_000 });
  await kubectlRolloutStatus(names, kubeconfig);
  return { wallMs: performance.now() - started, requests: sim.stats.total - before };
}

try {
  if (!kubectlBin) console.log('kubectl not found: measuring ours only');
  else console.log(`kubectl: ${kubectlBin}`);
  console.log(`rounds: ${rounds}, pods Ready 300 ms after start, 3 replicas per Deployment\n`);
  const rows: string[] = [];
  for (const count of [1, 30]) {
    const names = Array.from({ length: count }, (_, i) => `svc${count}-${i}`);
    await ours(names, release(names)); // create them: not measured
    // Each run applies a fresh image to every Deployment (release() writes the manifest file).
    let file = '';
    const samples = await alternateRounds(
      rounds,
      kubectlBin !== undefined,
      async () => {
        file = release(names);
      },
      () => ours(names, file),
      () => byHand(names, file),
    );
    rows.push(comparisonLine(`${String(count).padStart(2)} Deployment(s)`, 'kubectl apply + rollout status', samples));
    console.log(rows.at(-1));
    reportComparison(
      `rolling deploy of ${count} Deployment(s), wall time`,
      'kubectl apply + rollout status',
      samples,
      1.0,
    );
  }
  writeFileSync(join(work, 'result.txt'), `${rows.join('\n')}\n`);
} finally {
  controllers.stop();
  await sim.stop();
}
