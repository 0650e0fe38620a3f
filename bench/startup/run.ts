/**
 * bench/startup: cold start of each committed bundle, from process start to exit, with an
 * input that stops it right after validation, against `node -e 0`; and what each loads.
 * Peers measured the same way on this kind of machine (issue 2): Azure/k8s-deploy v7
 * (1.19 MB bundle) adds ~45 ms over bare node, docker/metadata-action (2.8 MB) ~200 ms.
 * Targets: actions that do not talk to Kubernetes add ≤ 45 ms; those that do, ≤ 90 ms.
 *
 *   npx tsx bench/startup/run.ts [runs]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from '../support';

const root = join(import.meta.dirname, '..', '..');
const runs = Number(process.argv[2] ?? 15);
const node = process.execPath;
const K8S_DEPLOY_OVERHEAD_MS = 45;
const kubeActions = new Set(['preflight', 'migrate', 'canary-promote', 'smoke', 'rollback']);

// A resolve hook (in-thread, so nothing is lost at exit) that reports every bundle file loaded,
// to prove the Kubernetes client chunk stays unloaded until an action needs it.
const register = join(mkdtempSync(join(tmpdir(), 'startup-')), 'register.mjs');
writeFileSync(
  register,
  `import { registerHooks } from 'node:module';
registerHooks({ resolve(s, c, next) { const r = next(s, c); if (r.url.includes('/dist/')) process.stderr.write('LOADED ' + r.url + '\\n'); return r; } });`,
);

function time(args: string[], env: Record<string, string>): number {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    spawnSync(node, args, { env: { PATH: process.env.PATH ?? '', ...env }, stdio: 'ignore' });
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return median(samples);
}

function loaded(entry: string, env: Record<string, string>): string[] {
  const r = spawnSync(node, ['--import', register, entry], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
  });
  return r.stderr
    .split('\n')
    .filter((l) => l.startsWith('LOADED '))
    .map((l) => l.slice(l.indexOf('/dist/') + 1));
}

const size = (file: string) => statSync(join(root, file)).size;
const baseline = time(['-e', '0'], {});
const rows: string[][] = [];
const actions = readdirSync(join(root, 'actions')).sort();
for (const action of actions) {
  const entry = join(root, 'dist', action, 'index.js');
  // `timeout` is an input of every action: a bad one stops the run right after validation.
  const env = { GITHUB_ACTIONS: 'true', INPUT_TIMEOUT: 'forever' };
  const ms = time([entry], env);
  const files = loaded(entry, env);
  const bytes = files.reduce((sum, f) => sum + size(f), 0);
  const budget = kubeActions.has(action) ? 2 * K8S_DEPLOY_OVERHEAD_MS : K8S_DEPLOY_OVERHEAD_MS;
  const overhead = ms - baseline;
  rows.push([
    action,
    `${ms.toFixed(0)} ms`,
    `+${overhead.toFixed(0)} ms`,
    `${(overhead / K8S_DEPLOY_OVERHEAD_MS).toFixed(2)}×`,
    `${budget} ms`,
    overhead <= budget ? 'ok' : 'OVER',
    `${files.length} files, ${(bytes / 1024).toFixed(0)} KiB`,
  ]);
}

const total = (dir: string): number =>
  readdirSync(dir, { withFileTypes: true }).reduce(
    (sum, e) => sum + (e.isDirectory() ? total(join(dir, e.name)) : statSync(join(dir, e.name)).size),
    0,
  );
console.log(
  `node -e 0: ${baseline.toFixed(0)} ms (median of ${runs}); dist/ in all: ${(total(join(root, 'dist')) / 1048576).toFixed(2)} MiB`,
);
const header = ['action', 'cold start', 'over node', 'ratio to k8s-deploy overhead', 'budget', '', 'loaded'];
console.log(`| ${header.join(' | ')} |\n|${header.map(() => ' --- ').join('|')}|`);
for (const row of rows) console.log(`| ${row.join(' | ')} |`);
