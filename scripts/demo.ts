/**
 * The demo pipeline: the suite's main job against the embedded kube-sim cluster.
 * Starts kube-sim on loopback with a shop (a `web` Deployment of 3 pods behind a Service),
 * then runs the runbook's steps through the CLI, which runs the same bundles (dist/) the
 * GitHub runner runs, and prints what each step did.
 *
 *   npm run demo
 *   npm run demo -- --html out.html    also write every step's job summary as one page
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { KubeSim } from '@deploy-actions/kube-sim';
import { installControllers } from '@deploy-actions/kube-sim/defaults';
import { type SummarySection, summaryPage } from './summary-page';

const root = join(import.meta.dirname, '..');
const workdir = join(root, '.tmp', 'demo');

interface Step {
  title: string;
  command: string;
  flags: string[];
}

/** `--html <file>`: where to write the page of job summaries (relative to where the demo was started). */
function htmlOutput(argv: readonly string[]): string | undefined {
  const at = argv.indexOf('--html');
  if (at < 0) return undefined;
  const file = argv[at + 1];
  if (file === undefined || file.startsWith('--')) throw new Error('--html needs a file name, e.g. --html out.html');
  return resolve(process.env['INIT_CWD'] ?? process.cwd(), file);
}

/** The step's job summary: the file GITHUB_STEP_SUMMARY named, else what the CLI printed after its log. */
function summaryOf(file: string, output: string): string {
  if (existsSync(file) && readFileSync(file, 'utf8').trim() !== '') return readFileSync(file, 'utf8');
  const lines = output.split('\n');
  const start = lines.findIndex((line) => /^#{1,3} /.test(line));
  return start < 0 ? '' : lines.slice(start).join('\n');
}

async function cli(
  step: Step,
  kubeconfig: string,
  summaryFile: string,
): Promise<{ code: number; output: string; summary: string }> {
  const args = [join(root, 'bin', 'deploy-actions.js'), step.command, ...step.flags];
  if (!['build-tag', 'release-notes'].includes(step.command)) args.push('--kubeconfig', kubeconfig);
  const child = spawn(process.execPath, args, {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, GITHUB_STEP_SUMMARY: summaryFile },
  });
  let output = '';
  // Stream the step's log lines as they come (its job summary follows at the end).
  // JSON outputs and multi-line (name<<EOF) outputs are left out: the table at the end has the verdicts.
  let inSummary = false;
  let inHeredoc: string | undefined;
  const show = (chunk: Buffer) => {
    output += chunk;
    for (const line of chunk.toString().split('\n')) {
      if (/^## /.test(line)) inSummary = true;
      if (inHeredoc !== undefined) {
        if (line === inHeredoc) inHeredoc = undefined;
        continue;
      }
      const heredoc = /^[\w-]+<<(\w+)$/.exec(line);
      if (heredoc) inHeredoc = heredoc[1];
      else if (!inSummary && line.trim() !== '' && !/^(result|report|analysis|restored)=/.test(line))
        console.log(`   ${line}`);
    }
  };
  child.stdout.on('data', show);
  child.stderr.on('data', show);
  const code = await new Promise<number>((done) => child.on('close', (c) => done(c ?? 1)));
  return { code, output, summary: summaryOf(summaryFile, output) };
}

async function seed(sim: KubeSim): Promise<void> {
  const labels = { app: 'web' };
  await sim.store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
  await sim.store.create({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop', labels },
    spec: {
      replicas: 10,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { containers: [{ name: 'web', image: 'ghcr.io/acme/web:v1.0.0', ports: [{ containerPort: 8080 }] }] },
      },
    },
  });
  await sim.store.create({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'shop' },
    spec: { selector: labels, ports: [{ port: 80, targetPort: 8080 }] },
  });
}

/** One line of what the cluster serves, read from kube-sim's store. */
function describeWeb(sim: KubeSim): string {
  const d = sim.store.get('apps/v1/deployments', 'shop', 'web') as {
    metadata: { annotations?: Record<string, string> };
    spec: { replicas: number; template: { spec: { containers: { image: string }[] } } };
    status?: { readyReplicas?: number; updatedReplicas?: number };
  };
  const revision = d.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? '-';
  const image = d.spec.template.spec.containers.map((c) => c.image).join(', ');
  return `deployment/web in shop: ${d.status?.readyReplicas ?? 0}/${d.spec.replicas} ready, image ${image}, revision ${revision}`;
}

/** Wait (on kube-sim's watch, not by polling) until web has all its pods ready. */
async function webReady(sim: KubeSim): Promise<void> {
  await new Promise<void>((resolve) => {
    const stop = sim.store.watch('apps/v1/deployments', 'shop', undefined, (event) => {
      const d = event.object as { spec?: { replicas?: number }; status?: { readyReplicas?: number } };
      if ((d.status?.readyReplicas ?? 0) === d.spec?.replicas) {
        stop();
        resolve();
      }
    });
  });
}

async function main(): Promise<void> {
  const html = htmlOutput(process.argv.slice(2));
  rmSync(workdir, { recursive: true, force: true });
  mkdirSync(workdir, { recursive: true });
  const sim = await KubeSim.start({ port: 0 });
  const cluster = installControllers(sim, { seed: 7 });
  // Pods of the shop's images become ready quickly, so the demo shows rollouts in seconds.
  cluster.behaviour.set('ghcr.io/acme/web:*', { readyAfter: '300ms', http: { status: 200, body: { ok: true } } });
  const kubeconfig = join(workdir, 'kubeconfig.yaml');
  sim.writeKubeconfig(kubeconfig);
  console.log(`kube-sim is serving the Kubernetes API at ${sim.url} (kubeconfig: ${kubeconfig})`);
  try {
    await seed(sim);
    await webReady(sim);
    console.log(describeWeb(sim));
    const steps: Step[] = [
      {
        title: 'Pre-flight gates',
        command: 'preflight',
        flags: ['--namespace', 'shop', '--gates', 'cluster,workload', '--workload', 'web'],
      },
      { title: 'Image tags', command: 'build-tag', flags: ['--images', 'ghcr.io/acme/web'] },
      {
        title: 'Canary 5% → 25% → 50% → 100%',
        command: 'canary-promote',
        flags: [
          '--namespace',
          'shop',
          '--deployments',
          'web',
          '--images',
          'web=ghcr.io/acme/web:v1.1.0',
          '--steps',
          '5,25,50,100',
          // Seconds instead of the production minutes, so the demo finishes while you watch.
          '--pause',
          '3s',
          '--analysis',
          '- { name: restarts, provider: kubernetes, signal: restarts, max: 2 }',
          '--analysis-interval',
          '1s',
        ],
      },
      {
        title: 'Smoke checks through the service proxy',
        command: 'smoke',
        flags: [
          '--namespace',
          'shop',
          '--spec',
          '- name: home\n  request: { service: "web:80/" }\n  expect: { status: 200 }',
        ],
      },
      {
        title: 'Rollback drill',
        command: 'rollback',
        flags: ['--namespace', 'shop', '--deployments', 'web', '--reason', 'demo drill'],
      },
      { title: 'Release notes', command: 'release-notes', flags: ['--tag', 'v1.1.0'] },
    ];
    const rows: string[] = [];
    const summaries: SummarySection[] = [];
    for (const [index, step] of steps.entries()) {
      console.log(`\n━━ ${step.title} (deploy-actions ${step.command})`);
      const { code, output, summary } = await cli(step, kubeconfig, join(workdir, `summary-${index}.md`));
      summaries.push({ title: `${step.title} (${step.command})`, markdown: summary });
      const verdict = /"verdict":"([^"]+)"/.exec(output)?.[1] ?? (code === 0 ? 'ok' : 'failed');
      rows.push(`| ${step.title} | \`${step.command}\` | ${code === 0 ? '✔' : '✘'} ${verdict} |`);
    }
    console.log(`\n${describeWeb(sim)}`);
    console.log('\n| step | action | verdict |\n| --- | --- | --- |');
    for (const row of rows) console.log(row);
    if (html !== undefined) {
      writeFileSync(html, summaryPage('deploy-actions demo: job summaries', summaries));
      console.log(`\nEvery step's job summary: ${html}`);
    }
    console.log(
      '\nSteps whose verdict is "inputs-valid" have their inputs checked and the rest of their behaviour still to come (see README: The actions).',
    );
  } finally {
    await sim.stop();
  }
}

await main();
