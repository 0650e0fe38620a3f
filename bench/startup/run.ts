/**
 * bench/startup: cold start of each bundle, from process start to exit, with an input that stops it
 * right after validation, against a reference built here: a minimal esbuild bundle that imports only
 * @actions/core, @actions/github and @actions/exec and validates one input (what the smallest action
 * on the toolkit costs). Runs are interleaved (reference, then every action, N times) and each bundle's
 * median is printed as a ratio to the reference's. Azure/k8s-deploy v7 (1.19 MB bundle) measured the
 * same way takes about 2.1× the reference on this kind of machine. Target: every bundle ≤ 2.0×.
 * Also checked: no action loads the Kubernetes client or Octokit before validating its inputs.
 *
 *   npx tsx bench/startup/run.ts [runs] [--dist DIR]     (default 15 runs, dist/)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { median, reportResult } from '../support';

const root = join(import.meta.dirname, '..', '..');
const args = process.argv.slice(2);
const distAt = args.indexOf('--dist');
const dist = distAt === -1 ? join(root, 'dist') : resolve(args[distAt + 1]!);
const runs = Number(args.find((arg, i) => /^\d+$/.test(arg) && args[i - 1] !== '--dist') ?? 15);
const node = process.execPath;
const TARGET = 2.0;
const work = mkdtempSync(join(tmpdir(), 'startup-'));

/** The reference action: the toolkit's three packages, one input validated, as an esbuild bundle. */
async function buildReference(): Promise<string> {
  const outfile = join(work, 'reference', 'index.mjs');
  await build({
    stdin: {
      contents: `import * as core from '@actions/core';
import * as github from '@actions/github';
import * as exec from '@actions/exec';
const timeout = core.getInput('timeout');
if (!/^\\d+(ms|s|m|h)$/.test(timeout)) {
  core.setFailed(\`Input 'timeout': must be a duration (got \${JSON.stringify(timeout)}). Example: timeout: 10m\`);
} else {
  core.setOutput('repository', github.context.repo.repo);
  await exec.exec('true');
}
`,
      resolveDir: root,
      loader: 'js',
    },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify: true,
    outfile,
    // The toolkit's CommonJS dependencies call require() for Node's built-ins.
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    logLevel: 'error',
  });
  return outfile;
}

// A resolve hook (in-thread, so nothing is lost at exit) that reports every file loaded from the bundles.
const register = join(work, 'register.mjs');
writeFileSync(
  register,
  `import { registerHooks } from 'node:module';
registerHooks({ resolve(s, c, next) { const r = next(s, c); if (r.url.startsWith('file:')) process.stderr.write('LOADED ' + r.url + '\\n'); return r; } });`,
);

const env = { PATH: process.env['PATH'] ?? '', GITHUB_ACTIONS: 'true', INPUT_TIMEOUT: 'forever' };

function once(entry: string): number {
  const start = process.hrtime.bigint();
  const run = spawnSync(node, [entry], { env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  // `timeout` is an input of every action: a bad one stops the run right after validation, with one error.
  if (run.status !== 1 || !run.stdout.includes("::error::Input 'timeout'")) {
    throw new Error(`${entry} did not refuse the bad timeout input: exit ${run.status}\n${run.stdout}${run.stderr}`);
  }
  return ms;
}

/** Bundle files loaded before the run refused its input, and whether the Kubernetes client or Octokit was among them. */
function loaded(entry: string) {
  const run = spawnSync(node, ['--import', register, entry], { env, encoding: 'utf8' });
  const files = run.stderr
    .split('\n')
    .filter((line) => line.startsWith('LOADED ') && line.includes(dist))
    .map((line) => decodeURIComponent(new URL(line.slice('LOADED '.length)).pathname));
  const texts = files.map((file) => readFileSync(file, 'utf8'));
  return {
    count: files.length,
    bytes: files.reduce((sum, file) => sum + statSync(file).size, 0),
    kubeClient: texts.some((text) => text.includes('ObjectSerializer')),
    octokit: texts.some((text) => text.includes('octokit-core.js')),
  };
}

const reference = await buildReference();
const actions = readdirSync(join(root, 'actions'))
  .filter((name) => statSync(join(dist, name, 'index.js'), { throwIfNoEntry: false }))
  .sort();
const entries: Record<string, string> = {
  reference,
  ...Object.fromEntries(actions.map((a) => [a, join(dist, a, 'index.js')])),
};
const samples: Record<string, number[]> = Object.fromEntries(Object.keys(entries).map((name) => [name, []]));
once(reference); // warm the file cache once, for everyone
for (let round = 0; round < runs; round++) {
  for (const [name, entry] of Object.entries(entries)) samples[name]!.push(once(entry));
}

const referenceMs = median(samples['reference']!);
const referenceSize = statSync(reference).size;
console.log(
  `reference (esbuild bundle of @actions/core + @actions/github + @actions/exec, one input validated, ${(referenceSize / 1024).toFixed(0)} KiB): ${referenceMs.toFixed(0)} ms, median of ${runs} interleaved runs`,
);
const header = [
  'action',
  'cold start',
  'ratio to reference',
  'target',
  '',
  'loaded before validation',
  'Kubernetes client',
  'Octokit',
];
console.log(`| ${header.join(' | ')} |\n|${header.map(() => ' --- ').join('|')}|`);
let worst = 0;
for (const action of actions) {
  const ms = median(samples[action]!);
  const ratio = ms / referenceMs;
  worst = Math.max(worst, ratio);
  const files = loaded(entries[action]!);
  const lazy = !files.kubeClient && !files.octokit;
  console.log(
    `| ${[
      action,
      `${ms.toFixed(0)} ms`,
      `${ratio.toFixed(2)}×`,
      `≤ ${TARGET.toFixed(1)}×`,
      ratio <= TARGET && lazy ? 'ok' : 'OVER',
      `${files.count} files, ${(files.bytes / 1024).toFixed(0)} KiB`,
      files.kubeClient ? 'LOADED' : 'not loaded',
      files.octokit ? 'LOADED' : 'not loaded',
    ].join(' | ')} |`,
  );
  reportResult({
    measure: `startup of ${action} (process start to exit after input validation)`,
    ours: `${ms.toFixed(0)} ms`,
    peer: `${referenceMs.toFixed(0)} ms`,
    peerName: 'minimal @actions/core + github + exec bundle',
    ratio: `${ratio.toFixed(2)}x`,
    target: `<= ${TARGET}x`,
    met: ratio <= TARGET && lazy,
  });
}
console.log(`worst ratio: ${worst.toFixed(2)}× (target ≤ ${TARGET}×)`);
