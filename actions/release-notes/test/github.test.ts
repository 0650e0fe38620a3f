/**
 * release-notes with a token: pull requests found by batched GraphQL, approvers, labels sorted by the team's
 * .github/release.yml, first-time contributors, and the GitHub Release created and updated idempotently —
 * against a loopback server answering in GitHub's shapes, on real git repositories.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VirtualClock } from '@deploy-actions/core/clock';
import { createMemoryRuntime, executeAction } from '@deploy-actions/core/runtime';
import { TestRepo } from '@deploy-actions/testkit/git-repo';
import { afterEach, describe, expect, it } from 'vitest';
import releaseNotes from '../src/main';
import { FakeGitHub } from './github-fake';

const repos: TestRepo[] = [];
const fakes: FakeGitHub[] = [];
afterEach(async () => {
  for (const repo of repos.splice(0)) repo.remove();
  for (const fake of fakes.splice(0)) await fake.stop();
});

async function setup() {
  const r = new TestRepo('release-notes-gh-');
  repos.push(r);
  const github = new FakeGitHub();
  fakes.push(github);
  await github.start();
  return { r, github };
}

async function run(r: TestRepo, github: FakeGitHub, inputs: Record<string, string>) {
  const rt = createMemoryRuntime({
    workspace: r.dir,
    clock: new VirtualClock(Date.UTC(2026, 11, 7, 12)),
    inputs: { token: 'test-token', 'notes-file': 'out/notes.md', ...inputs },
    env: {
      PATH: process.env.PATH ?? '',
      GITHUB_REPOSITORY: 'acme/api',
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_API_URL: github.url,
      GITHUB_GRAPHQL_URL: `${github.url}/graphql`,
    },
  });
  const code = await executeAction(releaseNotes, rt);
  return { code, outputs: rt.outputs, summary: rt.flushedSummary, errors: rt.lines('error').join('\n') };
}

describe('release-notes with a token', () => {
  it('finds the pull requests of 500 commits in 5 GraphQL requests, not one call per commit', async () => {
    const { r, github } = await setup();
    r.commit('chore: init');
    r.tag('v1.0.0');
    r.fastImport(
      Array.from({ length: 500 }, (_, k) => ({
        message: `${(k + 1) % 3 === 0 ? 'fix' : 'feat'}: change ${k + 1} (#${k + 1})`,
      })),
    );
    const hashes = execFileSync('git', ['rev-list', 'v1.0.0..HEAD'], { cwd: r.dir, encoding: 'utf8' })
      .trim()
      .split('\n');
    for (const hash of hashes) {
      const n = Number(
        execFileSync('git', ['log', '-1', '--format=%s', hash], { cwd: r.dir, encoding: 'utf8' }).match(/#(\d+)/)![1],
      );
      github.pulls.set(hash, {
        number: n,
        title: `change ${n}`,
        author: n === 7 ? 'newbie' : 'ann',
        labels: ['area/api'],
      });
    }
    github.mergedCount.set('ann', 900);
    github.mergedCount.set('newbie', 1);
    const { code, outputs, errors } = await run(r, github, { tag: 'v1.1.0' });
    expect(errors).toBe('');
    expect(code).toBe(0);
    expect(execFileSync('git', ['rev-list', '--count', 'v1.0.0..HEAD'], { cwd: r.dir, encoding: 'utf8' }).trim()).toBe(
      '500',
    );
    expect(outputs['changes']).toBe('500');
    const graphql = github.requests.filter((q) => q.path === '/graphql');
    const pullQueries = graphql.filter((q) => q.body.query.includes('associatedPullRequests'));
    expect(pullQueries).toHaveLength(5);
    // One more for the contributors (one alias per login), nothing else.
    expect(graphql).toHaveLength(6);
    expect(github.count('rest')).toBe(0);
    expect(outputs['notes']).toContain('- change 7 ([#7](https://github.com/acme/api/pull/7)) by @newbie');
    expect(outputs['notes']).toContain('### Contributors\n\n@ann, @newbie (first contribution)');
  });

  it('lists approvers: the latest review per reviewer is APPROVED, dismissed ones excluded', async () => {
    const { r, github } = await setup();
    r.commit('chore: init');
    r.tag('v1.0.0');
    const hash = r.squashPullRequest(41, 'feat(api): bulk orders');
    const other = r.squashPullRequest(42, 'fix: typo');
    github.pulls.set(hash, {
      number: 41,
      title: 'feat(api): bulk orders',
      author: 'ann',
      reviews: [
        { login: 'bob', state: 'APPROVED', at: '2026-12-01T10:00:00Z' },
        { login: 'bob', state: 'CHANGES_REQUESTED', at: '2026-12-01T11:00:00Z' },
        { login: 'carol', state: 'DISMISSED', at: '2026-12-01T10:30:00Z' },
        { login: 'dave', state: 'APPROVED', at: '2026-12-01T12:00:00Z' },
        { login: 'erin', state: 'CHANGES_REQUESTED', at: '2026-12-01T09:00:00Z' },
        { login: 'erin', state: 'APPROVED', at: '2026-12-01T13:00:00Z' },
        { login: 'frank', state: 'COMMENTED', at: '2026-12-01T14:00:00Z' },
      ],
    });
    github.pulls.set(other, { number: 42, title: 'fix: typo', author: 'bob' });
    github.mergedCount.set('ann', 10).set('bob', 10);
    const { outputs } = await run(r, github, { tag: 'v1.1.0', approvers: 'true' });
    expect(outputs['notes']).toContain(
      '- **api:** bulk orders ([#41](https://github.com/acme/api/pull/41)) by @ann, approved by @dave, @erin',
    );
    expect(outputs['notes']).toContain(
      '- typo ([#42](https://github.com/acme/api/pull/42)) by @bob, no approving review',
    );
    const json = JSON.parse(outputs['json']!);
    expect(json.sections[0].entries[0].pull.approvers).toEqual(['dave', 'erin']);
  });

  it('require-approvals: 2 fails the step naming the changes short of two approvers, and writes nothing', async () => {
    const { r, github } = await setup();
    r.commit('chore: init');
    r.tag('v1.0.0');
    const two = r.squashPullRequest(41, 'feat(api): bulk orders');
    const one = r.squashPullRequest(42, 'fix: typo');
    const direct = r.commit('fix: hotfix pushed straight to main');
    const approved = (login: string, at: string) => ({ login, state: 'APPROVED' as const, at });
    github.pulls.set(two, {
      number: 41,
      title: 'feat(api): bulk orders',
      author: 'ann',
      reviews: [approved('bob', '2026-12-01T10:00:00Z'), approved('dave', '2026-12-01T11:00:00Z')],
    });
    github.pulls.set(one, {
      number: 42,
      title: 'fix: typo',
      author: 'bob',
      reviews: [
        approved('carol', '2026-12-01T10:00:00Z'),
        { login: 'dave', state: 'DISMISSED', at: '2026-12-01T10:30:00Z' },
      ],
    });
    github.mergedCount.set('ann', 10).set('bob', 10);
    const before = github.requests.length;
    const failed = await run(r, github, {
      tag: 'v1.1.0',
      'require-approvals': '2',
      changelog: 'CHANGELOG.md',
      release: 'true',
    });
    expect(failed.code).toBe(1);
    expect(failed.errors).toContain(
      `2 of 3 change(s) have fewer than 2 approving review(s) (require-approvals: 2): ${direct.slice(0, 7)} hotfix pushed straight to main (no pull request); #42 typo (approved by @carol). Nothing was written`,
    );
    expect(failed.errors).not.toContain('bulk orders');
    expect(existsSync(join(r.dir, 'CHANGELOG.md'))).toBe(false);
    expect(existsSync(join(r.dir, 'out/notes.md'))).toBe(false);
    expect(github.requests.slice(before).filter((q) => q.method !== 'GET' && q.path !== '/graphql')).toEqual([]);

    // One approver is enough for require-approvals: 1 once the direct push is gone (a release of the two PRs).
    const ok = await run(r, github, { from: 'v1.0.0', to: one, tag: 'v1.1.0', 'require-approvals': '1' });
    expect(ok.code).toBe(0);
    // Without a token there is nothing to count: refused before any git or API work.
    const rt = await run(r, github, { tag: 'v1.1.0', 'require-approvals': '2', token: '' });
    expect(rt.errors).toContain("Input 'token': is needed for require-approvals");
  });

  it("sorts by the team's .github/release.yml categories (labels, exclusions, *)", async () => {
    const { r, github } = await setup();
    r.commit('chore: init');
    r.tag('v1.0.0');
    const a = r.squashPullRequest(1, 'Add bulk export');
    r.write(
      '.github/release.yml',
      'changelog:\n  exclude:\n    labels: [ignore-for-release]\n    authors: [dependabot]\n  categories:\n    - title: Exciting New Features 🎉\n      labels: [Semver-Minor, enhancement]\n    - title: Bugs\n      labels: [bug]\n      exclude:\n        labels: [wontfix-doc]\n    - title: Other Changes\n      labels: ["*"]\n',
    );
    const b = r.squashPullRequest(2, 'Crash on empty cart');
    const c = r.squashPullRequest(3, 'Bump lodash');
    const d = r.squashPullRequest(4, 'Internal cleanup');
    const e = r.squashPullRequest(5, 'Doc bug');
    github.pulls.set(a, { number: 1, title: 'Add bulk export', author: 'ann', labels: ['enhancement'] });
    github.pulls.set(b, { number: 2, title: 'Crash on empty cart', author: 'ann', labels: ['bug'] });
    github.pulls.set(c, { number: 3, title: 'Bump lodash', author: 'dependabot', labels: ['dependencies'] });
    github.pulls.set(d, { number: 4, title: 'Internal cleanup', author: 'ann', labels: ['ignore-for-release'] });
    github.pulls.set(e, { number: 5, title: 'Doc bug', author: 'ann', labels: ['bug', 'wontfix-doc'] });
    const { outputs, errors } = await run(r, github, { tag: 'v1.1.0' });
    expect(errors).toBe('');
    const notes = outputs['notes']!;
    expect([...notes.matchAll(/^### (.*)$/gm)].map((m) => m[1])).toEqual([
      'Exciting New Features 🎉',
      'Bugs',
      'Other Changes',
      'Contributors',
    ]);
    expect(notes).toMatch(/### Bugs\n\n- Crash on empty cart \(\[#2\]/);
    expect(notes).toMatch(/### Other Changes\n\n- Doc bug \(\[#5\]/);
    expect(notes).not.toContain('lodash');
    expect(notes).not.toContain('cleanup');
    expect(outputs['changes']).toBe('3');
  });

  it('creates the release, leaves it alone on a re-run, updates it when the notes change', async () => {
    const { r, github } = await setup();
    r.commit('chore: init');
    r.tag('v1.0.0');
    r.commit('feat: one');
    const dry = await run(r, github, { release: 'true', 'dry-run': 'true' });
    expect(dry.summary).toContain('| GitHub release | would create v1.1.0 (dry run) |');
    expect(github.releases).toHaveLength(0);
    const first = await run(r, github, { release: 'true', 'make-latest': 'legacy' });
    expect(first.errors).toBe('');
    expect(github.releases).toHaveLength(1);
    expect(github.releases[0]).toMatchObject({
      tag_name: 'v1.1.0',
      target_commitish: r.head(),
      name: 'v1.1.0',
      draft: false,
      prerelease: false,
      make_latest: 'legacy',
    });
    expect(github.releases[0]!.body).toBe(first.outputs['notes']);
    expect(first.outputs['release-url']).toBe('https://github.com/acme/api/releases/tag/v1.1.0');
    expect(first.summary).toContain('| GitHub release | created: https://github.com/acme/api/releases/tag/v1.1.0 |');

    const writes = () =>
      github.requests.filter((q) => q.method === 'POST' || q.method === 'PATCH').filter((q) => q.path !== '/graphql')
        .length;
    const again = await run(r, github, { release: 'true', tag: 'v1.1.0' });
    expect(again.code).toBe(0);
    expect(writes()).toBe(1);
    expect(again.summary).toContain('| GitHub release | unchanged:');

    const retitled = await run(r, github, { release: 'true', tag: 'v1.1.0', 'release-name': 'Spring release' });
    expect(retitled.code).toBe(0);
    expect(github.releases).toHaveLength(1);
    expect(github.releases[0]!.name).toBe('Spring release');
    expect(github.requests.filter((q) => q.method === 'PATCH')).toHaveLength(1);
  });

  it('a prerelease version makes a prerelease; a draft is found again by the list (drafts have no tag yet)', async () => {
    const { r, github } = await setup();
    r.commit('chore: init');
    r.tag('v1.0.0');
    r.commit('feat: one');
    await run(r, github, { release: 'true', tag: 'v2.0.0-rc.1', draft: 'true' });
    expect(github.releases[0]).toMatchObject({ tag_name: 'v2.0.0-rc.1', draft: true, prerelease: true });
    await run(r, github, { release: 'true', tag: 'v2.0.0-rc.1', draft: 'false' });
    expect(github.releases).toHaveLength(1);
    expect(github.releases[0]).toMatchObject({ draft: false, prerelease: true });
  });

  it('refuses draft: true for a published release, and changes nothing (no CHANGELOG, no notes file)', async () => {
    const { r, github } = await setup();
    r.commit('chore: init');
    r.tag('v1.0.0');
    r.commit('feat: one');
    github.releases.push({
      id: 7,
      tag_name: 'v1.1.0',
      target_commitish: 'main',
      name: 'v1.1.0',
      body: 'old',
      draft: false,
      prerelease: false,
    });
    writeFileSync(join(r.dir, 'CHANGELOG.md'), '# Changelog\n');
    const { code, errors } = await run(r, github, {
      release: 'true',
      tag: 'v1.1.0',
      draft: 'true',
      changelog: 'CHANGELOG.md',
    });
    expect(code).toBe(1);
    expect(errors).toContain("Input 'draft': the release v1.1.0 is already published");
    expect(errors).toContain('it was not changed');
    expect(readFileSync(join(r.dir, 'CHANGELOG.md'), 'utf8')).toBe('# Changelog\n');
    expect(existsSync(join(r.dir, 'out/notes.md'))).toBe(false);
    expect(github.requests.filter((q) => q.method !== 'GET' && q.path !== '/graphql')).toEqual([]);
    expect(github.releases[0]!.body).toBe('old');
  });

  it("source: github starts from GitHub's generated notes and adds breaking changes and approvers", async () => {
    const { r, github } = await setup();
    r.commit('chore: init');
    r.tag('v1.0.0');
    const hash = r.squashPullRequest(9, 'feat!: new auth', { body: 'BREAKING CHANGE: v1 tokens are refused' });
    github.pulls.set(hash, {
      number: 9,
      title: 'feat!: new auth',
      author: 'ann',
      reviews: [{ login: 'bob', state: 'APPROVED', at: '2026-12-01T10:00:00Z' }],
    });
    github.generated = {
      name: 'v2.0.0',
      body: "## What's Changed\n* feat!: new auth by @ann in https://github.com/acme/api/pull/9",
    };
    const { outputs, code, errors } = await run(r, github, { source: 'github', approvers: 'true' });
    expect(errors).toBe('');
    expect(code).toBe(0);
    const generate = github.requests.find((q) => q.path.endsWith('/releases/generate-notes'))!;
    expect(generate.body).toEqual({ tag_name: 'v2.0.0', target_commitish: r.head(), previous_tag_name: 'v1.0.0' });
    expect(outputs['notes']).toBe(
      "## What's Changed\n* feat!: new auth by @ann in https://github.com/acme/api/pull/9\n\n### Breaking changes\n\n- new auth ([#9](https://github.com/acme/api/pull/9)) by @ann, approved by @bob\n  v1 tokens are refused\n\n### Approvals\n\n- new auth ([#9](https://github.com/acme/api/pull/9)) by @ann, approved by @bob\n  v1 tokens are refused\n",
    );
  });

  it('a refused token is a clear error', async () => {
    const { r, github } = await setup();
    r.commit('feat: x');
    const { code, errors } = await run(r, github, { token: 'wrong' });
    expect(code).toBe(1);
    expect(errors).toContain('The GitHub token was refused (401 Bad credentials)');
  });

  it("completes the deployment facts from the environment's active GitHub Deployment of this commit", async () => {
    const { r, github } = await setup();
    r.commit('chore: init');
    r.tag('v1.0.0');
    const head = r.commit('feat: one');
    github.deployments.push({
      id: 77,
      sha: head,
      environment: 'production',
      payload: {
        app: 'api',
        images: { api: 'ghcr.io/acme/api@sha256:2222222222222222222222222222222222222222222222222222222222222222' },
      },
      statuses: [{ id: 2, state: 'success', environment_url: 'https://api.example.com' }],
    });
    const { outputs, errors } = await run(r, github, { tag: 'v1.1.0', environment: 'production' });
    expect(errors).toBe('');
    expect(outputs['notes']).toContain(
      'Environment: **production** · GitHub Deployment #77 (success): https://api.example.com',
    );
    expect(outputs['notes']).toContain(
      '| api | ghcr.io/acme/api | `sha256:2222222222222222222222222222222222222222222222222222222222222222` |',
    );
    // A Deployment of another commit is not this release's.
    github.deployments[0]!.sha = 'f'.repeat(40);
    const other = await run(r, github, { tag: 'v1.1.0', environment: 'production' });
    expect(other.outputs['notes']).not.toContain('#77');
    expect(other.outputs['notes']).toContain('Environment: **production**');
  });
});
