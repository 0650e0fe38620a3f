/**
 * `npm run lint:cycles` (scripts/check-cycles.mjs): fails on files that import each other in a loop, type-only
 * imports and workspace imports included, and passes on the repository.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { root } from './support/repo';

const script = join(root, 'scripts/check-cycles.mjs');
const made: string[] = [];

/** A throw-away repository laid out like ours, with the given files. */
function fixture(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'cycles-'));
  made.push(dir);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

function check(dir: string) {
  const run = spawnSync(process.execPath, [script, '--root', dir], { encoding: 'utf8' });
  return { code: run.status, out: run.stdout + run.stderr };
}

afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('the import cycle check', () => {
  it('fails on a loop of type-only imports, naming the files in order', () => {
    const dir = fixture({
      'packages/a/src/x.ts': "import type { Y } from './y';\nexport interface X { y: Y }\n",
      'packages/a/src/y.ts': "import type { Z } from './z';\nexport interface Y { z: Z }\n",
      'packages/a/src/z.ts': "import type { X } from './x';\nexport interface Z { x?: X }\n",
      'packages/a/src/free.ts': "import type { X } from './x';\nexport const free = (x: X) => x;\n",
    });
    const { code, out } = check(dir);
    expect(code).toBe(1);
    expect(out).toContain(
      'import cycle: packages/a/src/x.ts -> packages/a/src/y.ts -> packages/a/src/z.ts -> packages/a/src/x.ts',
    );
    expect(out).not.toContain('free.ts');
    expect(out).toContain('1 import cycle(s)');
  });

  it('follows a workspace import through the package exports and a barrel re-export', () => {
    const dir = fixture({
      'packages/core/package.json': JSON.stringify({
        name: '@deploy-actions/core',
        exports: { './*': './src/*/index.ts' },
      }),
      'packages/core/src/routing/index.ts': "export * from './common';\n",
      'packages/core/src/routing/common.ts':
        "import { exec } from '@deploy-actions/core/exec';\nexport const route = exec;\n",
      'packages/core/src/exec/index.ts': "import { route } from '../routing';\nexport const exec = () => route;\n",
      'actions/b/src/main.ts': "import { exec } from '@deploy-actions/core/exec';\nexport default exec;\n",
    });
    mkdirSync(join(dir, 'node_modules/@deploy-actions'), { recursive: true });
    symlinkSync(join(dir, 'packages/core'), join(dir, 'node_modules/@deploy-actions/core'));
    const { code, out } = check(dir);
    expect(code).toBe(1);
    expect(out).toContain(
      'import cycle: packages/core/src/exec/index.ts -> packages/core/src/routing/index.ts -> packages/core/src/routing/common.ts -> packages/core/src/exec/index.ts',
    );
    expect(out).not.toContain('actions/b');
  });

  it('lists every tangle in one run, and the files of a tangle beyond its shortest loop', () => {
    const dir = fixture({
      'scripts/a.mjs': "import { b } from './b.mjs';\nimport { c } from './c.mjs';\nexport const a = () => b + c;\n",
      'scripts/b.mjs': "import { a } from './a.mjs';\nexport const b = a;\n",
      'scripts/c.mjs': "import { a } from './a.mjs';\nexport const c = a;\n",
      'bench/d/run.ts': "import { e } from './e';\nexport const d = e;\n",
      'bench/d/e.ts': "export { d as e } from './run';\n",
    });
    const { code, out } = check(dir);
    expect(code).toBe(1);
    expect(out).toContain('import cycle: bench/d/e.ts -> bench/d/run.ts -> bench/d/e.ts');
    expect(out).toContain('import cycle: scripts/a.mjs -> scripts/b.mjs -> scripts/a.mjs');
    expect(out).toContain('files in the same tangle: scripts/a.mjs, scripts/b.mjs, scripts/c.mjs');
    expect(out).toContain('2 import cycle(s)');
  });

  it('fails on an import of our own code it cannot resolve, rather than passing blind', () => {
    const dir = fixture({ 'packages/a/src/x.ts': "import { gone } from './gone';\nexport const x = gone;\n" });
    const { code, out } = check(dir);
    expect(code).toBe(1);
    expect(out).toContain('unresolved import (the cycle check cannot see past it): packages/a/src/x.ts: ./gone');
  });

  it('passes a tree whose imports only go one way; tests are not walked', () => {
    const dir = fixture({
      'packages/a/src/x.ts': "import { y } from './y';\nexport const x = y;\n",
      'packages/a/src/y.ts': "import { readFileSync } from 'node:fs';\nexport const y = readFileSync;\n",
      'packages/a/test/x.test.ts': "import { x } from '../src/x';\nexport { x };\n",
      'packages/a/test/loop.ts': "import { loop } from './loop';\nexport { loop };\n",
    });
    expect(check(dir)).toEqual({ code: 0, out: 'no import cycles\n' });
  });

  it('finds no import cycle in this repository (npm run lint:cycles)', () => {
    const { code, out } = check(root);
    expect(out).toBe('no import cycles\n');
    expect(code).toBe(0);
  });
});
