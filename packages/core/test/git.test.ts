/** core/git against real repositories made in temp dirs. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  findPreviousTag,
  Git,
  listCommits,
  nextVersion,
  parseConventionalCommit,
  readRange,
  sortVersionTags,
} from '@deploy-actions/core/git';
import { TestRepo } from '@deploy-actions/testkit/git-repo';
import semver from 'semver';
import { afterEach, describe, expect, it } from 'vitest';

const repos: TestRepo[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const repo of repos.splice(0)) repo.remove();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function repo(): TestRepo {
  const made = new TestRepo();
  repos.push(made);
  return made;
}

const subjects = (range: Awaited<ReturnType<typeof readRange>>) => range.changes.map((c) => c.parsed.subject);

describe('release tags in semver order', () => {
  it('sorts by version, not by name, and ignores tags that are not versions', () => {
    const sorted = sortVersionTags(['v1.9.0', 'v1.10.0', 'latest', 'v2.0.0-rc.10', 'v2.0.0-rc.9', 'v2.0.0', '1.2.3']);
    expect(sorted.map((t) => t.tag)).toEqual(['v2.0.0', 'v2.0.0-rc.10', 'v2.0.0-rc.9', 'v1.10.0', 'v1.9.0', '1.2.3']);
    expect(sorted[1]!.prerelease).toBe(true);
  });

  it('reads a monorepo prefix', () => {
    expect(sortVersionTags(['api/v1.0.0', 'web/v3.0.0', 'api/v1.1.0'], 'api/').map((t) => t.tag)).toEqual([
      'api/v1.1.0',
      'api/v1.0.0',
    ]);
  });

  it('notes for v2.0.0 start at v1.4.0, not at its release candidates, unless asked', async () => {
    const r = repo();
    r.commit('feat: one');
    r.tag('v1.4.0');
    r.commit('feat: two');
    r.tag('v2.0.0-rc.1');
    r.commit('fix: three');
    r.tag('v2.0.0-rc.3');
    r.commit('fix: four');
    r.tag('v2.0.0');
    r.tag('v9.9.9', 'HEAD~1'); // not reachable as "previous" of v2.0.0: a higher version
    const git = new Git({ cwd: r.dir });
    const stable = await findPreviousTag(git, 'v2.0.0');
    expect(stable.onRef?.tag).toBe('v2.0.0');
    expect(stable.previous?.tag).toBe('v1.4.0');
    const withPre = await findPreviousTag(git, 'v2.0.0', { includePrereleases: true });
    expect(withPre.previous?.tag).toBe('v2.0.0-rc.3');
    // A prerelease's notes start at the prerelease before it.
    const rc = await findPreviousTag(git, 'v2.0.0-rc.3', { current: semver.parse('2.0.0-rc.3')! });
    expect(rc.previous?.tag).toBe('v2.0.0-rc.1');
  });
});

describe('readRange', () => {
  it('finds the previous tag from HEAD and lists the changes since, newest first', async () => {
    const r = repo();
    r.commit('feat: before');
    r.tag('v1.0.0');
    r.commit('feat(api): add orders');
    r.commit('fix: null check');
    const range = await readRange(new Git({ cwd: r.dir }));
    expect(range.from).toBe('v1.0.0');
    expect(range.previousTag?.tag).toBe('v1.0.0');
    expect(subjects(range)).toEqual(['null check', 'add orders']);
    expect(range.changes[1]!.parsed.scope).toBe('api');
    expect(nextVersion(range.changes, range.previousTag?.version)).toBe('1.1.0');
  });

  it('without any tag starts at the first commit', async () => {
    const r = repo();
    r.commit('chore: init');
    r.commit('feat: first feature');
    const range = await readRange(new Git({ cwd: r.dir }));
    expect(range.from).toBeUndefined();
    expect(range.previousTag).toBeUndefined();
    expect(subjects(range)).toEqual(['first feature', 'init']);
  });

  it('an empty range has no changes', async () => {
    const r = repo();
    r.commit('feat: x');
    r.tag('v1.0.0');
    const range = await readRange(new Git({ cwd: r.dir }), { from: 'v1.0.0' });
    expect(range.changes).toEqual([]);
    expect(nextVersion(range.changes, range.previousTag?.version)).toBeUndefined();
  });

  it('a `from` that does not exist is an error naming the input', async () => {
    const r = repo();
    r.commit('feat: x');
    await expect(readRange(new Git({ cwd: r.dir }), { from: 'v0.9.0' })).rejects.toThrow(
      /Input 'from': names no tag or commit in this repository \(got "v0.9.0"\)/,
    );
    await expect(readRange(new Git({ cwd: r.dir }), { to: '--output=/tmp/x' })).rejects.toThrow(/Input 'to'/);
  });

  it('a folder that is no git repository is a clear error with the checkout fix', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'not-a-repo-'));
    dirs.push(dir);
    const failure = readRange(new Git({ cwd: dir, env: { GIT_CEILING_DIRECTORIES: tmpdir() } }));
    await expect(failure).rejects.toThrow(/is not a git repository/);
    await expect(failure).rejects.toMatchObject({ hint: expect.stringContaining('actions/checkout') });
  });

  it('a merge-commit history gives one change per pull request', async () => {
    const r = repo();
    r.commit('chore: init');
    r.tag('v1.0.0');
    r.switch('orders', true);
    r.commit('wip');
    r.commit('more wip, fix tests');
    r.switch('main');
    r.commit('fix: direct fix on main');
    r.mergePullRequest('orders', 12, 'feat(orders): order history');
    r.switch('docs', true);
    r.commit('docs: typo');
    r.switch('main');
    r.git('merge', '--quiet', '--no-ff', '-m', "Merge branch 'docs'", 'docs');
    const range = await readRange(new Git({ cwd: r.dir }));
    expect(subjects(range)).toEqual(['typo', 'order history', 'direct fix on main']);
    const pr = range.changes[1]!;
    expect(pr.parsed.pullRequest).toBe(12);
    expect(pr.parsed.type).toBe('feat');
    expect(pr.commits.map((c) => c.message)).toEqual([
      'Merge pull request #12 from ann/orders\n\nfeat(orders): order history',
      'more wip, fix tests',
      'wip',
    ]);
    expect(range.commitCount).toBe(6);
  });

  it('a squash-merged history gives one change per pull request with its number', async () => {
    const r = repo();
    r.commit('chore: init');
    r.tag('v1.0.0');
    r.squashPullRequest(3, 'feat: login', { body: '* wip\n* tests' });
    r.squashPullRequest(4, 'fix!: drop v1 tokens', { body: 'BREAKING CHANGE: v1 tokens are refused\n\nCloses #40' });
    const range = await readRange(new Git({ cwd: r.dir }));
    expect(range.changes.map((c) => [c.parsed.pullRequest, c.parsed.subject, c.parsed.breaking])).toEqual([
      [4, 'drop v1 tokens', true],
      [3, 'login', false],
    ]);
    expect(range.changes[0]!.parsed.closes).toEqual(['#40']);
    expect(nextVersion(range.changes, range.previousTag?.version)).toBe('2.0.0');
  });

  it('paths keep the changes of one service of a monorepo, with its own tag prefix', async () => {
    const r = repo();
    r.commit('chore: init', { files: ['README.md'] });
    r.tag('api/v1.0.0');
    r.tag('web/v1.0.0');
    r.commit('feat(api): orders', { files: ['services/api/orders.ts'] });
    r.commit('feat(web): page', { files: ['services/web/page.ts'] });
    r.tag('web/v1.1.0');
    r.switch('shared', true);
    r.commit('touch both', { files: ['services/api/a.ts', 'services/web/a.ts'] });
    r.switch('main');
    r.mergePullRequest('shared', 9, 'fix: shared limits');
    const range = await readRange(new Git({ cwd: r.dir }), { paths: ['services/api'], tagPrefix: 'api/' });
    expect(range.from).toBe('api/v1.0.0');
    expect(subjects(range)).toEqual(['shared limits', 'orders']);
    const web = await readRange(new Git({ cwd: r.dir }), { paths: ['services/web'], tagPrefix: 'web/' });
    expect(web.from).toBe('web/v1.1.0');
    expect(subjects(web)).toEqual(['shared limits']);
  });

  it('a shallow clone without tags is refused with the checkout fix, not read as "from the first commit"', async () => {
    const r = repo();
    r.commit('feat: a');
    r.tag('v1.0.0');
    r.commit('feat: b');
    r.commit('feat: c');
    const clone = mkdtempSync(join(tmpdir(), 'shallow-'));
    dirs.push(clone);
    execFileSync('git', ['clone', '--quiet', '--depth=1', '--no-tags', `file://${r.dir}`, clone]);
    const git = new Git({ cwd: clone });
    expect(await git.isShallow()).toBe(true);
    await expect(readRange(git)).rejects.toThrow(/shallow clone/);
    await expect(readRange(git)).rejects.toMatchObject({ hint: expect.stringContaining('fetch-depth: 0') });
  });

  it('streams many commits from one git process', async () => {
    const r = repo();
    r.commit('chore: init');
    // 300 commits through fast-import: one process, and the log is read by one more.
    const lines: string[] = [];
    for (let i = 0; i < 300; i++) {
      const message = `feat: change ${i}\n\nbody line\n\nwith a blank line`;
      lines.push('commit refs/heads/main', `committer A <a@x> ${1_700_000_000 + i} +0000`);
      lines.push(`data ${Buffer.byteLength(message)}`, message, '');
    }
    execFileSync('git', ['fast-import', '--quiet', '--force'], { cwd: r.dir, input: `${lines.join('\n')}\n` });
    const git = new Git({ cwd: r.dir });
    const commits = await listCommits(git, 'HEAD');
    expect(git.calls).toBe(1);
    expect(commits).toHaveLength(300);
    expect(commits[0]!.message).toBe('feat: change 299\n\nbody line\n\nwith a blank line');
    expect(commits[299]!.parents).toEqual([]);
  });
});

describe('parseConventionalCommit', () => {
  it('reads type, scope, !, footers, references, co-authors', () => {
    const parsed = parseConventionalCommit(
      'feat(api)!: new auth\n\nWhy it changed.\n\nBREAKING CHANGE: tokens expire after 1h\nCloses #12, fixes acme/web#3\nCo-authored-by: Bo Chen <bo@example.com>',
    );
    expect(parsed).toMatchObject({
      conventional: true,
      type: 'feat',
      scope: 'api',
      subject: 'new auth',
      breaking: true,
      breakingNotes: ['tokens expire after 1h'],
      closes: ['#12', 'acme/web#3'],
      coAuthors: [{ name: 'Bo Chen', email: 'bo@example.com' }],
    });
  });

  it('reads reverts in both spellings', () => {
    expect(parseConventionalCommit('Revert "feat: x"\n\nThis reverts commit 0a1b2c3d.').revert).toEqual({
      header: 'feat: x',
      hash: '0a1b2c3d',
    });
    expect(parseConventionalCommit('revert: feat: x').revert).toEqual({ header: 'feat: x', hash: undefined });
  });

  it('malformed messages parse as not conventional, never throw', () => {
    for (const message of ['', 'fix stuff', 'feat:no space', '(scope): no type', ':: ::', 'feat(: broken']) {
      const parsed = parseConventionalCommit(message);
      expect(parsed.conventional).toBe(false);
      expect(parsed.type).toBeUndefined();
    }
    expect(parseConventionalCommit('Feat: Upper case type').type).toBe('feat');
  });

  it('keeps non-ASCII names and messages whole across a large log (no split UTF-8 characters)', async () => {
    const r = repo();
    r.commit('chore: init');
    const dana = { name: 'Dana Müller-Łukasiewicz', email: 'dana@example.com' };
    r.fastImport(
      Array.from({ length: 3000 }, (_, i) => ({ message: `feat: größere Änderung ${i} 🚀 日本語`, author: dana })),
    );
    const commits = await listCommits(new Git({ cwd: r.dir }), 'HEAD~3000..HEAD');
    expect(commits).toHaveLength(3000);
    expect(commits.every((c) => c.authorName === dana.name && !c.message.includes('\uFFFD'))).toBe(true);
    expect(commits[0]!.message).toBe('feat: größere Änderung 2999 🚀 日本語');
  });
});
