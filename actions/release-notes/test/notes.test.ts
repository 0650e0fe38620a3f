/**
 * release-notes without a token: real git repositories in temp dirs, the action run as the runner runs it
 * (inputs as strings, the memory runtime), outputs, summary and files checked as a user would.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VirtualClock } from '@deploy-actions/core/clock';
import { createMemoryRuntime, executeAction } from '@deploy-actions/core/runtime';
import { TestRepo } from '@deploy-actions/testkit/git-repo';
import { afterEach, describe, expect, it } from 'vitest';
import releaseNotes from '../src/main';

const repos: TestRepo[] = [];
afterEach(() => {
  for (const repo of repos.splice(0)) repo.remove();
});

function repo(): TestRepo {
  const made = new TestRepo('release-notes-');
  repos.push(made);
  return made;
}

const DAY = Date.UTC(2026, 11, 7, 12);

async function run(r: TestRepo, inputs: Record<string, string>, env: Record<string, string> = {}) {
  const rt = createMemoryRuntime({
    workspace: r.dir,
    clock: new VirtualClock(DAY),
    inputs: { 'notes-file': 'out/notes.md', ...inputs },
    env: {
      PATH: process.env.PATH ?? '',
      GITHUB_REPOSITORY: 'acme/api',
      GITHUB_SERVER_URL: 'https://github.com',
      ...env,
    },
  });
  const code = await executeAction(releaseNotes, rt);
  return {
    code,
    outputs: rt.outputs,
    summary: rt.flushedSummary,
    errors: rt.lines('error').join('\n'),
    warnings: rt.lines('warning'),
    json: rt.outputs['json'] ? JSON.parse(rt.outputs['json']) : undefined,
  };
}

/** A service's history: a release, then features, fixes, a breaking change, chores and a bad message. */
function history(r: TestRepo) {
  r.commit('chore: init');
  r.tag('v1.4.0');
  r.squashPullRequest(21, 'feat(orders): order history', { body: 'Co-authored-by: Bo Chen <bo@example.com>' });
  r.squashPullRequest(22, 'fix: rounding of totals', { body: 'Closes #19' });
  r.squashPullRequest(23, 'perf(db): index on orders.created_at');
  r.squashPullRequest(24, 'feat(auth)!: tokens expire', { body: 'BREAKING CHANGE: tokens expire after one hour' });
  r.commit('fixed the thing!!');
  r.commit('fix(security): escape user names in emails');
}

describe('release-notes from commits', () => {
  it('writes sections, outputs and the summary for the range since the previous tag', async () => {
    const r = repo();
    history(r);
    const { code, outputs, summary, json, errors } = await run(r, { tag: 'v1.5.0' });
    expect(errors).toBe('');
    expect(code).toBe(0);
    expect(outputs['version']).toBe('1.5.0');
    expect(outputs['previous-tag']).toBe('v1.4.0');
    expect(outputs['changes']).toBe('6');
    const notes = outputs['notes']!;
    expect(notes).toBe(readFileSync(join(r.dir, 'out/notes.md'), 'utf8'));
    expect(outputs['notes-file']).toBe(join(r.dir, 'out/notes.md'));
    const titles = [...notes.matchAll(/^### (.*)$/gm)].map((m) => m[1]);
    expect(titles).toEqual([
      'Breaking changes',
      'Security',
      'Features',
      'Fixes',
      'Performance',
      'Other',
      'Contributors',
    ]);
    expect(notes).toContain(
      '- **auth:** tokens expire ([#24](https://github.com/acme/api/pull/24))\n  tokens expire after one hour',
    );
    expect(notes).toContain('- **orders:** order history ([#21](https://github.com/acme/api/pull/21))');
    expect(notes).toContain('- rounding of totals ([#22](https://github.com/acme/api/pull/22)), closes #19');
    // A malformed message is kept, under Other.
    expect(notes).toMatch(
      /### Other\n\n- fixed the thing!! \(\[[0-9a-f]{7}\]\(https:\/\/github.com\/acme\/api\/commit\/[0-9a-f]{40}\)\)/,
    );
    expect(notes).toContain('Ann Lee, Bo Chen');
    expect(notes).toContain('**Full Changelog**: https://github.com/acme/api/compare/v1.4.0...v1.5.0');
    expect(json.sections.map((s: { title: string }) => s.title)).toContain('Security');
    expect(summary).toContain('## 📝 Release notes v1.5.0');
    expect(summary).toContain('| previous tag | v1.4.0 |');
    expect(summary).toContain(
      'pie showData title Changes by section\n    "Breaking changes" : 1\n    "Security" : 1\n    "Features" : 1',
    );
    expect(summary).toContain(notes);
  });

  it('derives the version from the commits when no tag is given, spelled like the previous tag', async () => {
    const r = repo();
    r.commit('chore: init');
    r.tag('1.4.0');
    r.commit('feat: something');
    const { outputs } = await run(r, {});
    expect(outputs['version']).toBe('1.5.0');
    expect(outputs['tag']).toBe('1.5.0');
  });

  it('notes for v2.0.0 start at v1.4.0, not at its release candidate, and merge commits give one entry per PR', async () => {
    const r = repo();
    r.commit('chore: init');
    r.tag('v1.4.0');
    r.switch('feature', true);
    r.commit('wip');
    r.commit('wip 2');
    r.switch('main');
    r.mergePullRequest('feature', 30, 'feat: new checkout');
    r.tag('v2.0.0-rc.1');
    r.commit('fix: checkout total');
    r.tag('v2.0.0');
    const { outputs } = await run(r, {});
    expect(outputs['previous-tag']).toBe('v1.4.0');
    expect(outputs['version']).toBe('2.0.0');
    expect(outputs['changes']).toBe('2');
    expect(outputs['notes']).not.toContain('wip');
    expect(outputs['notes']).toContain('- new checkout ([#30]');
    const rc = await run(r, { 'include-prereleases': 'true' });
    expect(rc.outputs['previous-tag']).toBe('v2.0.0-rc.1');
    expect(rc.outputs['changes']).toBe('1');
  });

  it('keeps to one service of a monorepo with paths and tag-prefix', async () => {
    const r = repo();
    r.commit('chore: init', { files: ['README.md'] });
    r.tag('api/v1.0.0');
    r.commit('feat: api thing', { files: ['services/api/a.ts'] });
    r.commit('feat: web thing', { files: ['services/web/a.ts'] });
    const { outputs } = await run(r, { paths: 'services/api', 'tag-prefix': 'api/' });
    expect(outputs['previous-tag']).toBe('api/v1.0.0');
    expect(outputs['tag']).toBe('api/v1.1.0');
    expect(outputs['notes']).toContain('api thing');
    expect(outputs['notes']).not.toContain('web thing');
  });

  it('says so in a notice when there is no previous tag, and starts at the first commit', async () => {
    const r = repo();
    r.commit('feat: first');
    r.commit('fix: second');
    const { code, outputs, warnings, summary } = await run(r, {});
    expect(code).toBe(0);
    expect(warnings.join('\n')).toContain(
      'No previous release tag is reachable from HEAD: the notes start at the first commit',
    );
    expect(summary).toContain('> No previous release tag');
    expect(outputs['changes']).toBe('2');
    expect(outputs['previous-tag']).toBe('');
  });

  it('an empty range gives a short "no changes" body', async () => {
    const r = repo();
    r.commit('feat: first');
    r.tag('v1.0.0');
    const { code, outputs } = await run(r, { from: 'v1.0.0', tag: 'v1.0.1' });
    expect(code).toBe(0);
    expect(outputs['changes']).toBe('0');
    expect(outputs['notes']).toBe(
      'No changes since v1.0.0.\n\n**Full Changelog**: https://github.com/acme/api/compare/v1.0.0...v1.0.1\n',
    );
  });

  it('a `from` that does not exist fails naming it, and writes nothing', async () => {
    const r = repo();
    r.commit('feat: first');
    const { code, errors } = await run(r, { from: 'v0.9.0', changelog: 'CHANGELOG.md' });
    expect(code).toBe(1);
    expect(errors).toContain('Input \'from\': names no tag or commit in this repository (got "v0.9.0")');
    expect(existsSync(join(r.dir, 'CHANGELOG.md'))).toBe(false);
    expect(existsSync(join(r.dir, 'out/notes.md'))).toBe(false);
  });

  it('refuses release: true and source: github without a token, and a tag that is no version', async () => {
    const r = repo();
    r.commit('feat: first');
    const release = await run(r, { release: 'true' });
    expect(release.code).toBe(1);
    expect(release.errors).toContain("Input 'token': is needed for the GitHub release (release: true)");
    const source = await run(r, { source: 'github' });
    expect(source.errors).toContain("Input 'source': github needs a token");
    const tag = await run(r, { tag: 'release-7' });
    expect(tag.errors).toContain('Input \'tag\': must be a semver version, with or without v (got "release-7")');
    expect(existsSync(join(r.dir, 'out/notes.md'))).toBe(false);
  });

  it('refuses a bad config and an unknown template placeholder before anything is written', async () => {
    const r = repo();
    r.commit('feat: first');
    const bad = await run(r, { config: '{ sections: [{ types: [feat] }] }' });
    expect(bad.code).toBe(1);
    expect(bad.errors).toContain('sections[0] needs a title');
    const template = await run(r, { template: '{{sections}} {{nope}}' });
    expect(template.code).toBe(1);
    expect(template.errors).toContain('unknown placeholder {{nope}}');
    expect(existsSync(join(r.dir, 'out/notes.md'))).toBe(false);
  });

  it('follows a config: own sections, exclusions and a template', async () => {
    const r = repo();
    history(r);
    const { outputs } = await run(r, {
      tag: 'v1.5.0',
      config: '{ sections: [{ title: New, types: [feat] }], exclude: { types: [perf] }, other: Misc }',
      template: '# {{tag}} ({{date}})\n\n{{sections}}',
    });
    expect(outputs['notes']).toMatch(/^# v1\.5\.0 \(2026-12-07\)\n\n### New\n\n- \*\*auth:\*\* tokens expire/);
    expect(outputs['notes']).not.toContain('index on orders');
    expect(outputs['notes']).toContain('### Misc');
    expect(outputs['changes']).toBe('5');
  });

  it('a revert and the change it reverts, both in the range, are left out', async () => {
    const r = repo();
    r.commit('chore: init');
    r.tag('v1.0.0');
    const bad = r.commit('feat: risky thing');
    r.commit(`Revert "feat: risky thing"\n\nThis reverts commit ${bad}.`);
    r.commit('fix: keep this');
    const { outputs, json } = await run(r, {});
    expect(outputs['notes']).not.toContain('risky');
    expect(json.reverted).toBe(2);
    expect(outputs['version']).toBe('1.0.1');
  });

  it('shows the deployment facts', async () => {
    const r = repo();
    history(r);
    const { outputs } = await run(r, {
      tag: 'v1.5.0',
      environment: 'production',
      images: 'api=ghcr.io/acme/api@sha256:1111111111111111111111111111111111111111111111111111111111111111',
      'deployment-url': 'https://github.com/acme/api/deployments/production',
    });
    expect(outputs['notes']).toContain(
      '### Deployment\n\nEnvironment: **production** · Deployment: https://github.com/acme/api/deployments/production',
    );
    expect(outputs['notes']).toContain(
      '| api | ghcr.io/acme/api | `sha256:1111111111111111111111111111111111111111111111111111111111111111` |',
    );
  });

  it('updates CHANGELOG.md in place, idempotently; a dry run writes nothing', async () => {
    const r = repo();
    history(r);
    const original = '# Changelog\n\n## [1.4.0] - 2026-11-01\n\n- Orders\n';
    writeFileSync(join(r.dir, 'CHANGELOG.md'), original);
    const dry = await run(r, { tag: 'v1.5.0', changelog: 'CHANGELOG.md', 'dry-run': 'true' });
    expect(dry.code).toBe(0);
    expect(dry.summary).toContain('(dry run: not written)');
    expect(readFileSync(join(r.dir, 'CHANGELOG.md'), 'utf8')).toBe(original);
    expect(existsSync(join(r.dir, 'out/notes.md'))).toBe(false);

    const first = await run(r, { tag: 'v1.5.0', changelog: 'CHANGELOG.md' });
    expect(first.summary).toContain('| CHANGELOG.md | section inserted at line 3 |');
    const written = readFileSync(join(r.dir, 'CHANGELOG.md'), 'utf8');
    expect(written.startsWith('# Changelog\n\n## [1.5.0] - 2026-12-07\n\n### Breaking changes\n')).toBe(true);
    expect(written.endsWith('## [1.4.0] - 2026-11-01\n\n- Orders\n')).toBe(true);
    const again = await run(r, { tag: 'v1.5.0', changelog: 'CHANGELOG.md' });
    expect(again.summary).toContain('| CHANGELOG.md | already up to date |');
    expect(readFileSync(join(r.dir, 'CHANGELOG.md'), 'utf8')).toBe(written);
  });

  it('creates CHANGELOG.md when there is none', async () => {
    const r = repo();
    history(r);
    await run(r, { tag: 'v1.5.0', changelog: 'docs/CHANGELOG.md' });
    const text = readFileSync(join(r.dir, 'docs/CHANGELOG.md'), 'utf8');
    expect(text).toMatch(
      /^# Changelog\n\nAll notable changes[\s\S]*\n\n## \[1\.5\.0\] - 2026-12-07\n\n### Breaking changes/,
    );
  });
});
