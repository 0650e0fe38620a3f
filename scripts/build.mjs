#!/usr/bin/env node
/**
 * Builds dist/: one ncc bundle of packages/dispatch (dist/lib/, every action and the
 * Kubernetes client in their own chunks, loaded only by the actions that use them), then
 * a three-line entry per action (dist/<action>/index.js) and one for the umbrella action
 * (dist/main/index.js). ncc's -m minifies only the entry file, not the chunks, so every
 * file is minified with esbuild afterwards.
 *
 *   node scripts/build.mjs [--out DIR]     (default: dist)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants as zlib } from 'node:zlib';
import { transformSync } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outIndex = process.argv.indexOf('--out');
const out = resolve(outIndex === -1 ? join(root, 'dist') : process.argv[outIndex + 1]);
/** All of dist/ together (issue 2: ≤ 8 MB). */
export const BUDGET_BYTES = 8 * 1024 * 1024;

const actions = readdirSync(join(root, 'actions')).filter((name) =>
  existsSync(join(root, 'actions', name, 'action.yml')),
);

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const ncc = join(root, 'node_modules', '@vercel', 'ncc', 'dist', 'ncc', 'cli.js');
execFileSync(
  process.execPath,
  [
    ncc,
    'build',
    join(root, 'packages/dispatch/src/index.ts'),
    '-o',
    join(out, 'lib'),
    '--target',
    'es2023',
    '-q',
    '-t',
  ],
  { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] },
);

for (const file of readdirSync(join(out, 'lib'))) {
  if (!file.endsWith('.js')) continue;
  const path = join(out, 'lib', file);
  const { code } = transformSync(readFileSync(path, 'utf8'), {
    minify: true,
    format: 'esm',
    target: 'node24',
    legalComments: 'none',
    charset: 'utf8',
  });
  writeFileSync(path, code);
}

const stub = (call) => `import { runAction } from '../lib/index.js';\nprocess.exitCode = await ${call};\n`;
for (const name of actions) {
  mkdirSync(join(out, name), { recursive: true });
  writeFileSync(join(out, name, 'index.js'), stub(`runAction(${JSON.stringify(name)})`));
}
mkdirSync(join(out, 'main'), { recursive: true });
writeFileSync(join(out, 'main', 'index.js'), stub('runAction()'));
writeFileSync(join(out, 'package.json'), '{ "type": "module" }\n');

// migrate's lint loads PostgreSQL's parser (WebAssembly, 1.7 MB) from beside the bundle: it ships brotli-packed
// (0.25 MB) and core/db/lint unpacks it there on first use.
writeFileSync(
  join(out, 'lib', 'libpg-query.wasm.br'),
  brotliCompressSync(readFileSync(join(root, 'node_modules/libpg-query/wasm/libpg-query.wasm')), {
    params: { [zlib.BROTLI_PARAM_QUALITY]: 11 },
  }),
);

let total = 0;
const sizes = [];
const walk = (dir) => {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    const stat = statSync(path);
    if (stat.isDirectory()) walk(path);
    else {
      total += stat.size;
      sizes.push([relative(out, path), stat.size]);
    }
  }
};
walk(out);
sizes.sort((a, b) => b[1] - a[1]);
for (const [path, size] of sizes.slice(0, 6)) console.log(`${(size / 1024).toFixed(0).padStart(7)} KiB  ${path}`);
console.log(
  `${(total / 1024 / 1024).toFixed(2)} MiB in ${sizes.length} files (budget ${BUDGET_BYTES / 1024 / 1024} MiB)`,
);
if (total > BUDGET_BYTES) {
  console.error(`dist/ is over its size budget: ${total} > ${BUDGET_BYTES} bytes`);
  process.exit(1);
}
