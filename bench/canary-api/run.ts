/**
 * bench/canary-api: Kubernetes API requests of a 4-step canary (5,25,50,100,
 * replicas router) of 1 and of 20 Deployments, with 1-minute and with
 * 10-minute pauses, in virtual time on kube-sim (3 pods per Deployment, Ready
 * 3 s after start): first with no metric analysis, then with a Kubernetes
 * signal (restarts, checked every 10 s). Waiting for pods uses watches and the
 * lease is held per step (not renewed on a timer), so without analysis the
 * requests grow with Deployments and steps, not with the minutes waited. With
 * the signal, the pod lists and watches tell whether its checks cost requests:
 * one list per Deployment per check when the canary lists its pods at every
 * check, one list and one watch per Deployment per analysed step when it reads
 * them through the metrics module's PodCache. Each table shows the
 * count per verb and resource for each run (kube-sim's `sim.stats`), and
 * which rows differ between the two pause lengths. Set-up requests (creating
 * the stable Deployments) are not counted.
 *
 *   npx tsx bench/canary-api/run.ts
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import canaryPromote from '../../actions/canary-promote/src/main';
import { VirtualClock } from '../../packages/core/src/clock';
import { KubeClient } from '../../packages/core/src/kube/client';
import { waitForRollouts } from '../../packages/core/src/kube/rollout-wait';
import { createMemoryRuntime, executeAction } from '../../packages/core/src/runtime';
import { KubeSim } from '../../packages/kube-sim/src';
import { installControllers } from '../../packages/kube-sim/src/defaults';
import { reportResult } from '../support';

const NAMESPACE = 'bench';
const LEASE = 'leases.coordination.k8s.io';
const work = mkdtempSync(join(tmpdir(), 'bench-canary-api-'));

interface Run {
  label: string;
  counts: Map<string, number>;
  total: number;
  virtualMinutes: number;
  wallMs: number;
}

const RESTARTS = '[{ name: restarts, provider: kubernetes, signal: restarts, max: 2, interval: 10s }]';

async function measure(deployments: number, pause: string, analysis: boolean): Promise<Run> {
  const clock = new VirtualClock();
  const sim = await KubeSim.start({ clock, scenario: { namespaces: [NAMESPACE] } });
  installControllers(sim);
  sim.behaviour.set('*', { readyAfter: '3s' });
  const auto = clock.startAutoAdvance();
  try {
    const client = await KubeClient.connect({ kubeconfig: sim.kubeconfig(), env: {}, workspace: work }, { clock });
    const names = Array.from({ length: deployments }, (_, i) => `svc-${i}`);
    for (const name of names)
      await client.create('Deployment', {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name, namespace: NAMESPACE, labels: { tier: 'bench' } },
        spec: {
          replicas: 3,
          selector: { matchLabels: { app: name } },
          template: {
            metadata: { labels: { app: name } },
            spec: { containers: [{ name: 'app', image: `ghcr.io/acme/${name}:v1` }] },
          },
        },
      });
    await waitForRollouts(
      client,
      names.map((name) => ({ kind: 'Deployment' as const, namespace: NAMESPACE, name })),
      { clock, timeoutMs: 600_000 },
    );
    sim.stats.reset();
    const rt = createMemoryRuntime({
      clock,
      workspace: work,
      env: { GITHUB_RUN_ID: '1' },
      inputs: {
        kubeconfig: sim.kubeconfig(),
        namespace: NAMESPACE,
        selector: 'tier=bench',
        app: 'bench',
        images: 'app=ghcr.io/acme/app:v2',
        steps: '5,25,50,100',
        // 5% of the bench's pods is a whole pod more: the nearest share, as before weight-rounding existed.
        'weight-rounding': 'nearest',
        pause,
        timeout: '2h',
        ...(analysis ? { analysis: RESTARTS } : {}),
      },
    });
    const started = clock.now();
    const wall = performance.now();
    const code = await executeAction(canaryPromote, rt);
    if (code !== 0 || rt.outputs['result'] !== 'promoted')
      throw new Error(`canary ended ${rt.outputs['result']}: ${rt.lines('error').join('; ')}`);
    return {
      label: `${deployments} × ${pause}`,
      counts: new Map(sim.stats.byVerbResource),
      total: sim.stats.total,
      virtualMinutes: (clock.now() - started) / 60_000,
      wallMs: performance.now() - wall,
    };
  } finally {
    auto.stop();
    await sim.stop();
  }
}

function report(title: string, runs: Run[]) {
  console.log(`\n${title}`);
  const keys = [...new Set(runs.flatMap((run) => [...run.counts.keys()]))].sort();
  const width = Math.max(...keys.map((key) => key.length), 'verb resource'.length);
  const header = ['verb resource'.padEnd(width), ...runs.map((run) => run.label.padStart(10)), ' differs'];
  console.log(`\n${header.join(' | ')}`);
  console.log(header.map((cell) => '-'.repeat(cell.length)).join('-|-'));
  for (const key of keys) {
    const values = runs.map((run) => run.counts.get(key) ?? 0);
    // Same Deployment count, other pause length: does the number depend on the minutes waited?
    const differs = values[0] !== values[1] || values[2] !== values[3];
    console.log(
      [key.padEnd(width), ...values.map((v) => String(v).padStart(10)), differs ? ' yes' : ''].join(' | ').trimEnd(),
    );
  }
  console.log(
    [
      'total'.padEnd(width),
      ...runs.map((run) => String(run.total).padStart(10)),
      runs[0]!.total !== runs[1]!.total || runs[2]!.total !== runs[3]!.total ? ' yes' : '',
    ]
      .join(' | ')
      .trimEnd(),
  );
  console.log(
    ['virtual minutes'.padEnd(width), ...runs.map((run) => run.virtualMinutes.toFixed(1).padStart(10))].join(' | '),
  );
  const growing = keys.filter((key) => {
    const values = runs.map((run) => run.counts.get(key) ?? 0);
    return values[0] !== values[1] || values[2] !== values[3];
  });
  console.log(
    growing.length === 0
      ? '\nNo request count depends on the pause length.'
      : `\nDepends on the pause length: ${growing.join(', ')}; everything else is the same for 1- and 10-minute pauses.`,
  );
  return growing;
}

for (const analysis of [false, true]) {
  const runs: Run[] = [];
  for (const deployments of [1, 20])
    for (const pause of ['1m', '10m']) {
      const run = await measure(deployments, pause, analysis);
      runs.push(run);
      console.error(
        `${analysis ? 'restarts signal, ' : ''}${run.label}: ${run.total} requests, ${run.virtualMinutes.toFixed(1)} virtual min, ${Math.round(run.wallMs)} ms wall`,
      );
    }
  const growing = report(analysis ? 'With analysis: restarts (provider kubernetes), every 10 s' : 'No analysis', runs);
  // The Lease is renewed every 10 s on purpose (a dead runner's Lease lapses within a minute): only its rows may
  // grow with the minutes waited, and by no more than one GET and one PUT per 10 s of them.
  const isLease = (key: string) => key.endsWith(LEASE);
  const others = (run: Run) => [...run.counts].reduce((sum, [key, n]) => sum + (isLease(key) ? 0 : n), 0);
  const renewals = (short: Run, long: Run) => Math.ceil(((long.virtualMinutes - short.virtualMinutes) * 60) / 10) + 1;
  const leaseWithin = [
    [runs[0]!, runs[1]!],
    [runs[2]!, runs[3]!],
  ].every(([short, long]) =>
    [...new Set([...short!.counts.keys(), ...long!.counts.keys()])]
      .filter(isLease)
      .every((key) => (long!.counts.get(key) ?? 0) - (short!.counts.get(key) ?? 0) <= renewals(short!, long!)),
  );
  const failing = growing.filter((key) => !isLease(key));
  reportResult({
    measure: `API requests of a 4-step canary of 20 Deployments, 10-minute pauses${analysis ? ', restarts signal every 10 s' : ''}`,
    ours: `${others(runs[3]!)} requests besides the Lease's (${others(runs[2]!)} with 1-minute pauses); ${runs[3]!.total} with its renewals (${runs[2]!.total})${failing.length > 0 ? `; grows with the minutes: ${failing.join(', ')}` : ''}`,
    target: "no row but the Lease's grows with the minutes waited, and the Lease's by at most 1 GET + 1 PUT per 10 s",
    met: failing.length === 0 && leaseWithin,
  });
  if (analysis) {
    // Three analysed steps of `pause` each, one check per 10 s: pod requests per Deployment per check.
    for (const [index, run] of runs.entries()) {
      const deployments = index < 2 ? 1 : 20;
      const checks = 3 * (index % 2 === 0 ? 6 : 60);
      const lists = run.counts.get('list pods') ?? 0;
      const watches = run.counts.get('watch pods') ?? 0;
      console.log(
        `${run.label}: ${lists} pod lists and ${watches} pod watches for ${checks} checks = ${((lists + watches) / checks / deployments).toFixed(2)} per Deployment per check`,
      );
    }
  }
}
