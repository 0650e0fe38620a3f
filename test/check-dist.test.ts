/** dist/ is committed (GitHub runs it as is), so it must be exactly what the sources build to. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root } from './support/repo';

/** Every file under `dir`, as paths relative to it. */
function files(dir: string): string[] {
  const walk = (at: string): string[] =>
    readdirSync(at, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory() ? walk(join(at, entry.name)) : [join(at, entry.name)],
    );
  return walk(dir)
    .map((path) => relative(dir, path))
    .sort();
}

describe('check-dist', () => {
  it('every committed bundle equals a fresh build, and dist/ stays within 8 MiB', { timeout: 180_000 }, () => {
    const fresh = mkdtempSync(join(tmpdir(), 'dist-'));
    execFileSync(process.execPath, [join(root, 'scripts/build.mjs'), '--out', fresh], { cwd: root, stdio: 'pipe' });
    const committed = join(root, 'dist');
    expect(files(committed)).toEqual(files(fresh));
    const stale = files(fresh).filter(
      (file) => !readFileSync(join(fresh, file)).equals(readFileSync(join(committed, file))),
    );
    expect(stale, 'run `npm run build` and commit dist/').toEqual([]);
    const total = files(committed).reduce((sum, file) => sum + statSync(join(committed, file)).size, 0);
    expect(total).toBeLessThanOrEqual(8 * 1024 * 1024);
  });
});
