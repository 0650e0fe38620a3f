/** The next version from real git repositories: conventional bumps, explicit bumps, prerelease counters, tag pushes, shallow clones. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { computeNextVersion, type NextVersionOptions } from '@deploy-actions/core/build-tag';
import { Git } from '@deploy-actions/core/git';
import { TestRepo } from '@deploy-actions/testkit/git-repo';
import { afterEach, describe, expect, it } from 'vitest';

const repos: TestRepo[] = [];
afterEach(() => {
  for (const repo of repos.splice(0)) repo.remove();
});

function repo(): TestRepo {
  const made = new TestRepo('build-tag-version-');
  repos.push(made);
  return made;
}

const next = (r: TestRepo, options: Partial<NextVersionOptions> = {}) =>
  computeNextVersion(new Git({ cwd: r.dir }), { bump: 'auto', ...options });

describe('bump: auto from conventional commits', () => {
  it.each([
    [['fix: a crash'], '1.2.1', 'patch'],
    [['perf: faster'], '1.2.1', 'patch'],
    [['chore: deps', 'fix: a', 'feat: b'], '1.3.0', 'minor'],
    [['feat(api)!: drop v1'], '2.0.0', 'major'],
    [['fix: x\n\nBREAKING CHANGE: the config moved'], '2.0.0', 'major'],
  ])('v1.2.0 + %j → %s', async (messages, version, bump) => {
    const r = repo();
    r.commit('feat: start');
    r.tag('v1.2.0');
    for (const message of messages) r.commit(message);
    const result = await next(r);
    expect(result).toMatchObject({ version, bump, previous: '1.2.0', previousTag: 'v1.2.0', isPrerelease: false });
  });

  it('before 1.0.0 a breaking change bumps minor, a feat too', async () => {
    const r = repo();
    r.commit('feat: start');
    r.tag('v0.4.0');
    r.commit('feat!: new api');
    expect((await next(r)).version).toBe('0.5.0');
    r.tag('v0.5.0');
    r.commit('feat: more');
    expect((await next(r)).version).toBe('0.6.0');
  });

  it('no tag yet: 0.1.0; no commit since the tag: the same version, bump none', async () => {
    const r = repo();
    r.commit('feat: start');
    expect(await next(r)).toMatchObject({ version: '0.1.0', bump: 'first', previous: undefined });
    r.tag('v0.1.0');
    expect(await next(r)).toMatchObject({ version: '0.1.0', bump: 'none', reason: 'HEAD is already tagged v0.1.0' });
    r.commit('docs: readme');
    r.tag('v0.1.1');
    expect(await next(r)).toMatchObject({ version: '0.1.1', bump: 'none', previous: '0.1.0' });
  });

  it('semver order, not text order; tags not reachable from HEAD and non-version tags are ignored', async () => {
    const r = repo();
    r.commit('feat: a');
    r.tag('v1.9.0');
    r.commit('fix: b');
    r.tag('v1.10.0');
    r.tag('latest');
    r.switch('experiment', true);
    r.commit('feat: c');
    r.tag('v9.0.0');
    r.switch('main');
    r.commit('fix: d');
    expect(await next(r)).toMatchObject({ version: '1.10.1', previousTag: 'v1.10.0' });
  });

  it('a pull request merged with a merge commit counts its feat commits', async () => {
    const r = repo();
    r.commit('chore: init');
    r.tag('v2.1.3');
    r.switch('login', true);
    r.commit('feat: login form');
    r.commit('wip');
    r.switch('main');
    r.mergePullRequest('login', 12, 'feat: login');
    expect(await next(r)).toMatchObject({ version: '2.2.0', bump: 'minor' });
  });

  it('a release far back (past the first batch of the walk) is still found, and its feat counted', async () => {
    const r = repo();
    r.commit('fix: a');
    r.tag('v3.1.4');
    r.commit('feat: early feature');
    r.fastImport(Array.from({ length: 700 }, (_, i) => ({ message: `chore: step ${i}` })));
    expect(await next(r)).toMatchObject({ version: '3.2.0', previousTag: 'v3.1.4', commits: 701 });
  });

  it('a shallow clone deep enough to hold the last release works', async () => {
    const r = repo();
    r.commit('feat: a');
    r.commit('feat: b');
    r.tag('v1.0.0');
    r.commit('fix: c');
    const dir = mkdtempSync(join(tmpdir(), 'shallow-deep-'));
    try {
      execFileSync('git', ['clone', '--quiet', '--depth', '2', `file://${r.dir}`, dir], { stdio: 'ignore' });
      execFileSync('git', ['-C', dir, 'fetch', '--quiet', '--depth', '2', 'origin', 'tag', 'v1.0.0'], {
        stdio: 'ignore',
      });
      expect((await computeNextVersion(new Git({ cwd: dir }), { bump: 'auto' })).version).toBe('1.0.1');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a monorepo prefix picks its own tags', async () => {
    const r = repo();
    r.commit('feat: a');
    r.tag('api/v1.0.0');
    r.tag('web/v3.0.0');
    r.commit('fix: api');
    expect(await next(r, { tagPrefix: 'api/' })).toMatchObject({ version: '1.0.1', previousTag: 'api/v1.0.0' });
  });
});

describe('explicit bumps and prereleases', () => {
  it('major, minor, patch from the last tag whatever the commits say', async () => {
    const r = repo();
    r.commit('feat: a');
    r.tag('v1.4.2');
    r.commit('docs: readme');
    expect((await next(r, { bump: 'major' })).version).toBe('2.0.0');
    expect((await next(r, { bump: 'minor' })).version).toBe('1.5.0');
    expect((await next(r, { bump: 'patch' })).version).toBe('1.4.3');
  });

  it('rc counters go on from the last rc of the same version; another id starts at 1', async () => {
    const r = repo();
    r.commit('feat: a');
    r.tag('v1.2.0');
    r.commit('feat: b');
    expect(await next(r, { bump: 'prerelease' })).toMatchObject({
      version: '1.3.0-rc.1',
      isPrerelease: true,
      bump: 'prerelease',
    });
    r.tag('v1.3.0-rc.1');
    r.commit('fix: c');
    expect((await next(r, { bump: 'prerelease' })).version).toBe('1.3.0-rc.2');
    expect((await next(r, { bump: 'prerelease', prereleaseId: 'beta' })).version).toBe('1.3.0-beta.1');
    // Auto ignores the rc tags: the release after v1.2.0 with a feat is 1.3.0.
    expect((await next(r)).version).toBe('1.3.0');
  });

  it('a pushed tag is the version, with the previous release below it', async () => {
    const r = repo();
    r.commit('feat: a');
    r.tag('v1.2.0');
    r.commit('feat: b');
    r.tag('v2.0.0');
    expect(await next(r, { ref: 'refs/tags/v2.0.0' })).toMatchObject({
      version: '2.0.0',
      bump: 'tag',
      previous: '1.2.0',
      isPrerelease: false,
    });
    expect(await next(r, { ref: 'refs/tags/v2.1.0-beta.3' })).toMatchObject({
      version: '2.1.0-beta.3',
      isPrerelease: true,
      previous: '2.0.0',
    });
  });
});

describe('refusals', () => {
  it('a shallow clone is refused with the checkout setting to change', async () => {
    const r = repo();
    r.commit('feat: a');
    r.tag('v1.0.0');
    r.commit('fix: b');
    const dir = mkdtempSync(join(tmpdir(), 'shallow-'));
    try {
      execFileSync('git', ['clone', '--quiet', '--depth', '1', `file://${r.dir}`, dir], { stdio: 'ignore' });
      const error = await computeNextVersion(new Git({ cwd: dir }), { bump: 'auto' }).catch(
        (caught: Error & { hint?: string }) => caught,
      );
      expect((error as Error).message).toContain('This is a shallow clone');
      expect((error as { hint?: string }).hint).toContain('set `fetch-depth: 0` on actions/checkout');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a bad prerelease id names the input', async () => {
    const r = repo();
    r.commit('feat: a');
    await expect(next(r, { bump: 'prerelease', prereleaseId: 'r c' })).rejects.toThrow(
      "Input 'prerelease-id': must be letters, digits or -",
    );
  });
});
