#!/usr/bin/env node
/**
 * Runs benchmarks and writes their figures to bench/RESULTS.md.
 *
 *   npm run bench                       every benchmark, full size; writes bench/RESULTS.md
 *   npm run bench -- --quick            every benchmark, small sizes (a few minutes); writes .tmp/bench-quick.md
 *   npm run bench -- rollback rolling   the named ones (full size); writes .tmp/bench-<names>.md
 *   npm run bench -- --list             the names
 *   npm run bench -- <name> -- <args>   arguments passed to each named benchmark
 *
 * Each is `bench/<name>/run.ts`, run with tsx in its own process (argument arrays, no shell), one
 * after the other so they do not share the cores. A benchmark reports its figures as
 * `BENCH-RESULT {json}` lines (bench/support.ts `reportResult`): ours, the peer's from the same run,
 * the ratio, the target and whether it is met; its whole output stays on the terminal.
 * `BENCH_QUICK=1` is set for a quick pass; QUICK_ARGS below are the sizes used then.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const available = readdirSync(join(root, 'bench'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && existsSync(join(root, 'bench', entry.name, 'run.ts')))
  .map((entry) => entry.name)
  .sort();

/** Sizes for `--quick`: the same measures on smaller inputs, so the whole pass takes minutes. */
const QUICK_ARGS = {
  'canary-analysis': ['--runs', '300'],
  'kube-sim': ['50', '5'],
  'kube-sim-api': ['50', '5'],
  migrate: ['1', '100', '1000'],
  preflight: ['1'],
  'release-notes': ['5000', '1'],
  retag: ['256', '1'],
  rollback: ['1'],
  rolling: ['1'],
  'smoke-load': ['--duration', '2', '--repeat', '1'],
  startup: ['5'],
  version: ['10000', '500', '3'],
};

const argv = process.argv.slice(2);
const split = argv.indexOf('--');
const own = split >= 0 ? argv.slice(0, split) : argv;
const passed = split >= 0 ? argv.slice(split + 1) : [];
const quick = own.includes('--quick');
const names = own.filter((arg) => !arg.startsWith('--'));

if (own.includes('--list')) {
  console.log(`Benchmarks (bench/<name>/run.ts): ${available.join(', ')}`);
  process.exit(0);
}
const unknown = names.filter((name) => !available.includes(name));
if (unknown.length > 0) {
  console.error(`Unknown benchmark ${unknown.join(', ')}; available: ${available.join(', ')}`);
  process.exit(2);
}
const selected = names.length > 0 ? names : available;
const tsx = join(root, 'node_modules', '.bin', 'tsx');

/** Runs one benchmark with its output on the terminal; resolves its result lines and exit status. */
function run(name, args) {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(tsx, [join('bench', name, 'run.ts'), ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, ...(quick ? { BENCH_QUICK: '1' } : {}) },
    });
    const results = [];
    let pending = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.startsWith('BENCH-RESULT ')) continue;
        try {
          results.push(JSON.parse(line.slice('BENCH-RESULT '.length)));
        } catch {
          console.error(`${name}: unreadable result line: ${line}`);
        }
      }
    });
    child.on('close', (code, signal) =>
      resolve({ name, args, results, status: code ?? signal, seconds: (performance.now() - started) / 1000 }),
    );
  });
}

const startLoad = loadavg()[0].toFixed(2);
const runs = [];
for (const name of selected) {
  const args = passed.length > 0 ? passed : quick ? (QUICK_ARGS[name] ?? []) : [];
  console.log(`\n== ${name} ${args.join(' ')} ==`);
  const result = await run(name, args);
  if (result.status !== 0) console.error(`${name} exited with ${result.status}`);
  runs.push(result);
}

const cell = (value) => String(value ?? '').replaceAll('|', '\\|');
const verdict = (r) => (r.met === undefined ? '' : r.met ? 'met' : '**missed**');
const lines = [
  `# Benchmark results${quick ? ' (quick pass: small sizes, not the committed figures)' : ''}`,
  '',
  `Run on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC with \`npm run bench${own.length > 0 ? ` -- ${own.join(' ')}` : ''}\`: ` +
    `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.versions.node} ` +
    `(benchmarks run on ${'`'}node_modules/.bin/node${'`'}), load average ${startLoad} at the start, ${loadavg()[0].toFixed(2)} at the end.`,
  'Each benchmark runs ours and its peer in the same run; the ratio is ours/peer unless the measure says otherwise.',
  'Reproduce one with the command in its heading; its own output has the full tables.',
  '',
];
for (const r of runs) {
  lines.push(
    `## ${r.name}`,
    '',
    `\`npm run bench -- ${r.name}${r.args.length > 0 ? ` -- ${r.args.join(' ')}` : ''}\` (${r.seconds.toFixed(0)} s${r.status === 0 ? '' : `, exited with ${r.status}`})`,
    '',
  );
  if (r.results.length === 0) {
    lines.push('No figures reported.', '');
    continue;
  }
  lines.push('| measure | ours | peer | ratio | target | |', '| --- | --- | --- | --- | --- | --- |');
  for (const x of r.results)
    lines.push(
      `| ${cell(x.measure)} | ${cell(x.ours)} | ${cell(x.peer === undefined ? '' : `${x.peer}${x.peerName ? ` (${x.peerName})` : ''}`)} | ${cell(x.ratio)} | ${cell(x.target)} | ${verdict(x)} |`,
    );
  lines.push('');
}
const out =
  names.length === 0 && !quick && passed.length === 0
    ? join(root, 'bench', 'RESULTS.md')
    : join(root, '.tmp', `bench-${quick ? 'quick' : names.join('-')}.md`);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${lines.join('\n')}\n`);
console.log(`\nwrote ${out}`);
process.exit(runs.some((r) => r.status !== 0) ? 1 : 0);
