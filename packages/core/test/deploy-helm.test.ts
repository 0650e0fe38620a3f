/**
 * strategy helm. helm itself is replaced by a small fake executable (a node
 * script that records its argv and prints canned `helm history` / `helm
 * status` JSON): it only checks the exact argument arrays we run and the
 * rollback decision. It deploys nothing; the release's Deployment is created
 * on kube-sim by the test so the rollout reading and the monitoring's
 * kubernetes access are real.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeSim } from '@deploy-actions/kube-sim';
import { BehaviourTable } from '@deploy-actions/kube-sim/behaviour';
import { type RunningControllers, startControllers } from '@deploy-actions/kube-sim/controllers/start';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../src/clock';
import { renderDeploySummary, runHelm } from '../src/deploy';
import { InputError } from '../src/errors';
import type { ExecFunction } from '../src/exec';
import { execCommand } from '../src/exec';
import { KubeClient } from '../src/kube/client';
import { waitForRollout } from '../src/kube/rollout-wait';
import type { Deployment } from '../src/kube/types';
import { parseAnalysisSpec } from '../src/metrics';
import { createMemoryRuntime } from '../src/runtime';

const work = mkdtempSync(join(tmpdir(), 'deploy-helm-'));
const fakeHelm = join(work, 'helm');
const stateFile = join(work, 'state.json');
const logFile = join(work, 'argv.jsonl');
let clock: VirtualClock;
let sim: KubeSim;
let controllers: RunningControllers;
let client: KubeClient;
let stopAuto: () => void;

const MANIFEST = `---
# Source: api/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  replicas: 2
  selector: { matchLabels: { app: api } }
  template:
    metadata: { labels: { app: api } }
    spec: { containers: [{ name: api, image: "ghcr.io/acme/api:2.1.0" }] }
`;

// The fake: argv goes to a log; answers come from a state file the test writes.
const SCRIPT = `#!/usr/bin/env node
const fs = require('node:fs');
const [cmd, ...rest] = process.argv.slice(2);
fs.appendFileSync(process.env.FAKE_HELM_LOG, JSON.stringify(process.argv.slice(2)) + '\\n');
const state = JSON.parse(fs.readFileSync(process.env.FAKE_HELM_STATE, 'utf8'));
const save = () => fs.writeFileSync(process.env.FAKE_HELM_STATE, JSON.stringify(state));
const status = () => ({ name: 'api', namespace: 'prod', version: state.current,
  info: { status: state.failed ? 'failed' : 'deployed' },
  chart: { metadata: { name: 'api', version: state.chartVersion, appVersion: state.appVersion } }, manifest: state.manifest });
switch (cmd) {
  case 'version':
    state.kubeServer = fs.readFileSync(process.env.KUBECONFIG, 'utf8').match(/"?server"?: *"?([^\\s",]+)/)?.[1]; save();
    console.log('v3.16.2+g13654a5'); break;
  case 'history':
    if (state.current === undefined) { console.error('Error: release: not found'); process.exit(1); }
    console.log(JSON.stringify(Array.from({ length: state.current }, (_, i) => ({ revision: i + 1, status: i + 1 === state.current ? 'deployed' : 'superseded', chart: 'api-1.0.0', app_version: '2.0.0' }))));
    break;
  case 'lint': console.log('1 chart(s) linted, 0 chart(s) failed'); break;
  case 'template': console.log(state.manifest); break;
  case 'upgrade':
    state.current = (state.current ?? 0) + 1; state.chartVersion = '1.1.0'; state.appVersion = '2.1.0';
    if (state.upgradeFails) { state.failed = true; save(); console.error('Error: UPGRADE FAILED: context deadline exceeded'); process.exit(1); }
    save(); console.log('Release "api" has been upgraded. Happy Helming!'); break;
  case 'status':
    if (state.current === undefined) { console.error('Error: release: not found'); process.exit(1); }
    console.log(JSON.stringify(status())); break;
  case 'rollback':
    state.current += 1; state.failed = false; state.chartVersion = '1.0.0'; state.appVersion = '2.0.0'; save();
    console.log('Rollback was a success! Happy Helming!'); break;
  default: console.error('fake helm: unexpected ' + cmd); process.exit(2);
}
`;

function setState(state: Record<string, unknown>) {
  writeFileSync(stateFile, JSON.stringify({ manifest: MANIFEST, ...state }));
  if (existsSync(logFile)) writeFileSync(logFile, '');
}

function calls(): string[][] {
  if (!existsSync(logFile)) return [];
  return readFileSync(logFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as string[]);
}

const base = () => ({
  client,
  namespace: 'prod',
  release: 'api',
  chart: './charts/api',
  timeoutMs: 300_000,
  helm: fakeHelm,
  env: { FAKE_HELM_STATE: stateFile, FAKE_HELM_LOG: logFile },
});

beforeAll(async () => {
  writeFileSync(fakeHelm, SCRIPT);
  chmodSync(fakeHelm, 0o755);
  writeFileSync(join(work, 'values-prod.yaml'), 'replicas: 2\n');
  // A chart on disk (helm lint reads only those); the fake helm never opens it.
  mkdirSync(join(work, 'charts/api'), { recursive: true });
  writeFileSync(join(work, 'charts/api/Chart.yaml'), 'apiVersion: v2\nname: api\nversion: 1.1.0\n');
  clock = new VirtualClock();
  sim = await KubeSim.start({ clock, scenario: { namespaces: ['prod'] } });
  controllers = startControllers(sim.store, clock, new BehaviourTable().set('*', { readyAfter: '2s' }));
  stopAuto = clock.startAutoAdvance().stop;
  client = await KubeClient.connect({ kubeconfig: sim.kubeconfig(), env: {}, workspace: work }, { clock });
  // What the chart's manifest holds, running on the cluster (the fake helm deploys nothing).
  const [document] = (await import('yaml')).parseAllDocuments(MANIFEST);
  await client.create('Deployment', { ...(document!.toJS() as object), metadata: { name: 'api', namespace: 'prod' } });
  await waitForRollout(client, { kind: 'Deployment', namespace: 'prod', name: 'api' }, { clock, timeoutMs: 60_000 });
});

afterAll(async () => {
  stopAuto?.();
  controllers?.stop();
  await sim?.stop();
});

beforeEach(() => setState({ current: 3 }));

const runtime = () => createMemoryRuntime({ clock, workspace: work });

describe('strategy helm (fake helm executable: argument arrays and rollback decision only)', () => {
  it('runs lint, template and upgrade --install with the exact arguments, and reports revisions and versions', async () => {
    const rt = runtime();
    const outcome = await runHelm(rt, {
      ...base(),
      valuesFiles: ['values-prod.yaml'],
      set: { 'image.tag': '2.1.0', 'db.password': 's3cr3t' },
      lint: true,
    });
    expect(outcome.verdict).toBe('deployed');
    const values = join(work, 'values-prod.yaml');
    expect(calls()).toEqual([
      ['version', '--short'],
      ['history', 'api', '--namespace', 'prod', '-o', 'json'],
      ['lint', './charts/api', '-f', values, '--set', 'image.tag=2.1.0', '--set', 'db.password=s3cr3t'],
      [
        'template',
        'api',
        './charts/api',
        '--namespace',
        'prod',
        '-f',
        values,
        '--set',
        'image.tag=2.1.0',
        '--set',
        'db.password=s3cr3t',
      ],
      [
        'upgrade',
        '--install',
        'api',
        './charts/api',
        '--namespace',
        'prod',
        '-f',
        values,
        '--set',
        'image.tag=2.1.0',
        '--set',
        'db.password=s3cr3t',
        '--wait',
        '--timeout',
        '300s',
      ],
      ['status', 'api', '--namespace', 'prod', '-o', 'json'],
    ]);
    // helm was pointed at the cluster the client is connected to.
    expect(JSON.parse(readFileSync(stateFile, 'utf8')).kubeServer).toBe(sim.url);
    expect(outcome.helm).toMatchObject({
      previousRevision: 3,
      revision: 4,
      chartVersion: '1.1.0',
      appVersion: '2.1.0',
      status: 'deployed',
    });
    expect(outcome.workloads).toMatchObject([{ kind: 'Deployment', name: 'api', status: 'rolled-out' }]);
    const summary = rt.redact(renderDeploySummary(outcome));
    // Chart and app version of the revision before (helm history) → after (helm status).
    expect(summary).toContain('| api | ./charts/api | 1.0.0 → 1.1.0 | 2.0.0 → 2.1.0 | 3 | 4 | deployed |');
    // A --set value under a secret-looking key is masked wherever it is shown.
    expect(rt.masked).toContain('s3cr3t');
    expect(summary).not.toContain('s3cr3t');
  });

  it('a remote chart with a version: no helm lint (it reads only a chart on disk), template and upgrade get --version', async () => {
    const rt = runtime();
    const plans: unknown[] = [];
    const outcome = await runHelm(rt, {
      ...base(),
      chart: 'oci://ghcr.io/acme/charts/api',
      version: '1.1.0',
      lint: true,
      onBeforeChange: async (plan) => void plans.push(plan),
    });
    expect(outcome.verdict).toBe('deployed');
    expect(calls().slice(2, 4)).toEqual([
      ['template', 'api', 'oci://ghcr.io/acme/charts/api', '--namespace', 'prod', '--version', '1.1.0'],
      [
        'upgrade',
        '--install',
        'api',
        'oci://ghcr.io/acme/charts/api',
        '--namespace',
        'prod',
        '--version',
        '1.1.0',
        '--wait',
        '--timeout',
        '300s',
      ],
    ]);
    expect(rt.lines('warning')).toContain(
      'helm lint reads only a chart on disk; oci://ghcr.io/acme/charts/api is checked with helm template alone (to lint it, helm pull it in an earlier step and give its folder as chart)',
    );
    // Told before the upgrade: the revision it will create and the images helm template rendered.
    expect(plans).toEqual([
      {
        strategy: 'helm',
        namespace: 'prod',
        app: 'api',
        workloads: [{ kind: 'Deployment', name: 'api', images: { api: 'ghcr.io/acme/api:2.1.0' } }],
        helm: {
          release: 'api',
          chart: 'oci://ghcr.io/acme/charts/api',
          version: '1.1.0',
          previousRevision: 3,
          revision: 4,
        },
      },
    ]);
    expect(outcome.settings).toEqual({ 'helm-lint': 'true', 'chart-version': '1.1.0' });
    expect(renderDeploySummary(outcome)).toContain('**With:** helm-lint `true` · chart-version `1.1.0`');
  });

  it('rolls back to the previous revision with --wait when monitoring fails', async () => {
    const analysis = parseAnalysisSpec(
      '- name: error-rate\n  provider: prometheus\n  address: http://prometheus:9090\n  query: errors{app="{{app}}"}\n  max: 0.05\n  interval: 10s\n',
    );
    const outcome = await runHelm(runtime(), {
      ...base(),
      analysis,
      monitorMs: 120_000,
      // A scripted provider: 20% errors from the first check on.
      providerFor: () => ({ validate: async () => {}, query: async () => 0.2 }),
    });
    expect(outcome.verdict).toBe('rolled-back');
    expect(outcome.failure).toContain('Monitoring failed');
    expect(outcome.failure).toContain('Rolled back release api to revision 3 (now revision 5)');
    expect(calls()).toContainEqual(['rollback', 'api', '3', '--namespace', 'prod', '--wait', '--timeout', '300s']);
    expect(outcome.helm).toMatchObject({ previousRevision: 3, revision: 4, rollbackRevision: 5, appVersion: '2.0.0' });
    expect(renderDeploySummary(outcome)).toContain('4 → rolled back as 5');
  });

  it('does not roll back a first install whose upgrade failed, and says how to remove it', async () => {
    setState({ upgradeFails: true });
    const outcome = await runHelm(runtime(), base());
    expect(outcome.verdict).toBe('failed');
    expect(outcome.failure).toContain('helm upgrade failed (exit 1): Error: UPGRADE FAILED: context deadline exceeded');
    expect(outcome.failure).toContain('helm uninstall api --namespace prod');
    expect(calls().some((args) => args[0] === 'rollback')).toBe(false);
  });

  it('rolls back when the upgrade of an existing release fails', async () => {
    setState({ current: 7, upgradeFails: true });
    const outcome = await runHelm(runtime(), base());
    expect(outcome.verdict).toBe('rolled-back');
    expect(calls()).toContainEqual(['rollback', 'api', '7', '--namespace', 'prod', '--wait', '--timeout', '300s']);
  });

  it('without a namespace input, uses the kubeconfig context namespace for every helm command', async () => {
    const inProd = await KubeClient.connect(
      { kubeconfig: sim.kubeconfig({ namespace: 'prod' }), env: {}, workspace: work },
      { clock },
    );
    const outcome = await runHelm(runtime(), { ...base(), client: inProd, namespace: undefined });
    expect(outcome.verdict).toBe('deployed');
    expect(outcome.namespace).toBe('prod');
    const namespaces = calls()
      .filter((args) => args[0] !== 'version')
      .map((args) => args[args.indexOf('--namespace') + 1]);
    expect(namespaces.length).toBeGreaterThan(0);
    expect(new Set(namespaces)).toEqual(new Set(['prod']));
  });

  it("the summary's workloads table shows each workload's rollout with revision and images before and after", async () => {
    const ref = { namespace: 'prod', name: 'api' };
    // What helm puts on what it installs: how the workloads before the upgrade are found.
    await client.patch(
      'Deployment',
      ref,
      { metadata: { annotations: { 'meta.helm.sh/release-name': 'api', 'meta.helm.sh/release-namespace': 'prod' } } },
      'merge',
    );
    const revisionBefore = Number(
      (await client.get<Deployment>('Deployment', ref)).metadata?.annotations?.['deployment.kubernetes.io/revision'],
    );
    const imageBefore = (await client.get<Deployment>('Deployment', ref)).spec?.template?.spec?.containers?.[0]?.image;
    // The fake helm deploys nothing: its upgrade is made real here by setting the new image on the cluster.
    const exec: ExecFunction = async (command, args, options) => {
      const result = await execCommand(command, args, options);
      if (args[0] === 'upgrade')
        await client.patch(
          'Deployment',
          ref,
          { spec: { template: { spec: { containers: [{ name: 'api', image: 'ghcr.io/acme/api:2.2.0' }] } } } },
          'strategic',
        );
      return result;
    };
    const outcome = await runHelm(runtime(), { ...base(), exec });
    expect(outcome.verdict).toBe('deployed');
    const summary = renderDeploySummary(outcome);
    expect(summary).toContain(
      '| workload | rollout | revision before | images before | revision after | images after | took | detail |',
    );
    expect(summary).toMatch(
      new RegExp(
        `\\| deployment/api \\| ✅ rolled out \\| ${revisionBefore} \\| api=${imageBefore} \\| ${revisionBefore + 1} \\| api=ghcr.io/acme/api:2.2.0 \\| [^|]* \\| .*successfully rolled out`,
      ),
    );
  });

  it('names azure/setup-helm when there is no helm binary', async () => {
    const error = await runHelm(runtime(), { ...base(), helm: join(work, 'no-such-helm') }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain('helm was not found');
    expect((error as { hint?: string }).hint).toContain('azure/setup-helm');
  });

  it('refuses a bad release name before running helm at all', async () => {
    const error = await runHelm(runtime(), { ...base(), release: 'API_Platform' }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toContain("Input 'release'");
    expect(calls()).toEqual([]);
  });
});
