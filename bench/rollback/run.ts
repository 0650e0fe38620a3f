/**
 * bench/rollback: roll back 1 and 10 Deployments on kube-sim (real time, pods
 * Ready 1 s after start, 3 replicas, default 25% surge) with our rollback and
 * with what the runbooks do by hand — `kubectl rollout undo` for each, then
 * `kubectl rollout status` for each — in the same run, alternating who goes
 * first. Prints wall time, API requests (counted by kube-sim) and our own
 * overhead: wall time minus the span from our first patch to the last
 * rollout finishing, i.e. the time spent around the cluster's work.
 * Our rollback runs in-process (bundle start-up is bench/startup's number).
 *
 * Each line has the medians and, after them, the spread (min–max) of the wall times and of the per-round
 * ratio: with 2 rounds the 1-Deployment ratio swung around 1.0x, so the default is 5 rounds (about 2.5 min on a busy 2-core machine; ours varies by a few hundredths of a second, kubectl by tenths).
 *
 *   npx tsx bench/rollback/run.ts [rounds]
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../../packages/core/src/clock';
import { KubeClient } from '../../packages/core/src/kube/client';
import { type WorkloadRef, waitForRollouts } from '../../packages/core/src/kube/rollout-wait';
import { rollbackDeployments } from '../../packages/core/src/rollback';
import { createMemoryRuntime } from '../../packages/core/src/runtime';
import { KubeSim } from '../../packages/kube-sim/src';
import { BehaviourTable } from '../../packages/kube-sim/src/behaviour';
import { startControllers } from '../../packages/kube-sim/src/controllers/start';
import { findKubectl, kubectlOk } from '../../packages/testkit/src/kubectl';
import {
  alternateRounds,
  comparisonLine,
  kubectlRolloutStatus,
  reportComparison,
  type Sample,
  seconds,
} from '../support';

const rounds = Number(process.argv[2] ?? 5);
const NAMESPACE = 'bench';
const work = mkdtempSync(join(tmpdir(), 'bench-rollback-'));

const sim = await KubeSim.start({ scenario: { namespaces: [NAMESPACE] } });
const behaviour = new BehaviourTable().set('*', { readyAfter: '1s' });
const controllers = startControllers(sim.store, systemClock, behaviour);
const kubeconfig = join(work, 'kubeconfig');
sim.writeKubeconfig(kubeconfig, { namespace: NAMESPACE });
const client = await KubeClient.connect({ kubeconfig, env: {}, workspace: work });
const kubectlBin = findKubectl();
let version = 0;

function refs(names: string[]): WorkloadRef[] {
  return names.map((name) => ({ kind: 'Deployment', namespace: NAMESPACE, name }));
}

/** A new revision with a fresh image on every Deployment, awaited: the "bad release" to roll back from. */
async function release(names: string[]): Promise<void> {
  version++;
  await Promise.all(
    names.map((name) =>
      client.patch(
        'Deployment',
        { namespace: NAMESPACE, name },
        { spec: { template: { spec: { containers: [{ name: 'app', image: `${name}:${version}` }] } } } },
        'strategic',
      ),
    ),
  );
  await waitForRollouts(client, refs(names), { clock: systemClock, timeoutMs: 300_000 });
}

async function setUp(count: number): Promise<string[]> {
  const names = Array.from({ length: count }, (_, i) => `svc${count}-${i}`);
  for (const name of names) {
    await client.create('Deployment', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: NAMESPACE },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: `${name}:0` }] } },
      },
    });
  }
  await waitForRollouts(client, refs(names), { clock: systemClock, timeoutMs: 300_000 });
  return names;
}

async function ours(names: string[]): Promise<Sample> {
  const rt = createMemoryRuntime({ clock: systemClock, workspace: work });
  const before = sim.stats.total;
  const started = performance.now();
  const runClient = await KubeClient.connect({ kubeconfig, env: {}, workspace: work });
  const report = await rollbackDeployments(rt, runClient, {
    mode: 'kubernetes',
    namespace: NAMESPACE,
    deployments: names,
    dryRun: false,
    timeoutMs: 300_000,
  });
  const wallMs = performance.now() - started;
  if (report.result !== 'rolled-back') throw new Error(`rollback ended ${report.result}`);
  const times = report.timeline.map((entry) => ({ at: Date.parse(entry.at), event: entry.event }));
  const firstPatch = times.find((entry) => entry.event.startsWith('Patched'))!.at;
  const lastDone = Math.max(...times.filter((entry) => entry.event.includes('rolled out')).map((entry) => entry.at));
  return { wallMs, requests: sim.stats.total - before, overheadMs: wallMs - (lastDone - firstPatch) };
}

/** min–max of the wall times, and of ours/kubectl per round (the rounds pair up: same release before each). */
function spread(samples: { ours: Sample[]; kubectl: Sample[] }): string {
  const range = (values: number[], format: (value: number) => string) =>
    `${format(Math.min(...values))}–${format(Math.max(...values))}`;
  const wall = (list: Sample[]) =>
    range(
      list.map((sample) => sample.wallMs),
      (ms) => seconds(ms).replace(' s', ''),
    );
  const parts = [`spread: ours ${wall(samples.ours)} s`];
  if (samples.kubectl.length > 0) {
    const ratios = samples.ours.map((sample, round) => sample.wallMs / (samples.kubectl[round]?.wallMs ?? Number.NaN));
    parts.push(
      `kubectl ${wall(samples.kubectl)} s`,
      `ratio per round ${range(ratios, (ratio) => `${ratio.toFixed(2)}x`)}`,
    );
  }
  return parts.join(', ');
}

async function byHand(names: string[]): Promise<Sample> {
  const before = sim.stats.total;
  const started = performance.now();
  for (const name of names) await kubectlOk(['rollout', 'undo', `deployment/${name}`], { kubeconfig });
  await kubectlRolloutStatus(names, kubeconfig);
  return { wallMs: performance.now() - started, requests: sim.stats.total - before };
}

const benchStarted = performance.now();
try {
  if (!kubectlBin) console.log('kubectl not found: measuring ours only');
  else console.log(`kubectl: ${kubectlBin}`);
  console.log(`rounds: ${rounds}, pods Ready 1 s after start, 3 replicas per Deployment\n`);
  const rows: string[] = [];
  for (const count of [1, 10]) {
    const names = await setUp(count);
    const samples = await alternateRounds(
      rounds,
      kubectlBin !== undefined,
      () => release(names),
      () => ours(names),
      () => byHand(names),
    );
    rows.push(
      `${comparisonLine(`${String(count).padStart(2)} Deployment(s)`, 'kubectl', samples)} | ${spread(samples)}`,
    );
    console.log(rows.at(-1));
    reportComparison(`rollback of ${count} Deployment(s), wall time`, 'kubectl rollout undo + status', samples, 1.0);
  }
  writeFileSync(join(work, 'result.txt'), `${rows.join('\n')}\n`);
  console.log(`total ${seconds(performance.now() - benchStarted)}`);
} finally {
  controllers.stop();
  await sim.stop();
}
