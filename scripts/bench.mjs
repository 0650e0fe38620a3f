#!/usr/bin/env node
/**
 * Runs benchmarks: `npm run bench -- <name> [<name> ...] [-- <args for each>]`.
 * With no name it lists them. Each is `bench/<name>/run.ts`, run with tsx in its own
 * process (argument arrays, no shell), one after the other so they do not share the cores.
 *
 *   npm run bench -- canary-analysis -- --runs 1000
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const available = readdirSync(join(root, 'bench'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && existsSync(join(root, 'bench', entry.name, 'run.ts')))
  .map((entry) => entry.name)
  .sort();

const argv = process.argv.slice(2);
const split = argv.indexOf('--');
const names = split >= 0 ? argv.slice(0, split) : argv;
const passed = split >= 0 ? argv.slice(split + 1) : [];

if (names.length === 0) {
  console.log(`Benchmarks (bench/<name>/run.ts): ${available.join(', ')}`);
  console.log('Run: npm run bench -- <name> [<name> ...] [-- <arguments for each>]');
  process.exit(0);
}
const unknown = names.filter((name) => !available.includes(name));
if (unknown.length > 0) {
  console.error(`Unknown benchmark ${unknown.join(', ')}; available: ${available.join(', ')}`);
  process.exit(2);
}
const tsx = join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'tsx.cmd' : 'tsx');
let failed = 0;
for (const name of names) {
  console.log(`\n== ${name} ==`);
  const result = spawnSync(tsx, [join('bench', name, 'run.ts'), ...passed], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    failed++;
    console.error(`${name} exited with ${result.status ?? result.signal}`);
  }
}
process.exit(failed > 0 ? 1 : 0);
