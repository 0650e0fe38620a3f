/**
 * build-tag end to end through its adapter: runner event fixtures, a loopback GitHub API, real git
 * repositories and a real docker-registry with token auth. Outputs, DOCKER_METADATA_OUTPUT_* variables,
 * bake files, promotion, git tags and refusals are checked as a user would see them.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '@deploy-actions/core/registry';
import { createMemoryRuntime, executeAction, type MemoryRuntime } from '@deploy-actions/core/runtime';
import { TestRepo } from '@deploy-actions/testkit/git-repo';
import { type RunningRegistry, registryMissing, startRegistry } from '@deploy-actions/testkit/registry';
import { type PushedImage, pushTestImage } from '@deploy-actions/testkit/registry-images';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import buildTag from '../src/main';
import { fixtureEnv } from './fixtures/cases';
import { FakeGitHubApi } from './github-server';

let github: FakeGitHubApi;
let temp: string;
beforeAll(async () => {
  github = await new FakeGitHubApi().start();
  temp = mkdtempSync(join(tmpdir(), 'build-tag-action-'));
});
afterAll(async () => {
  await github?.stop();
  rmSync(temp, { recursive: true, force: true });
});

interface Run {
  rt: MemoryRuntime;
  code: number;
  envFile: string;
}

async function run(
  event: string,
  inputs: Record<string, string>,
  options: { env?: Record<string, string>; workspace?: string } = {},
): Promise<Run> {
  const envFile = join(temp, `env-${Math.random().toString(36).slice(2)}`);
  writeFileSync(envFile, '');
  const env = { ...fixtureEnv(event, github.url), GITHUB_ENV: envFile, RUNNER_TEMP: temp, ...options.env };
  const rt = createMemoryRuntime({
    inputs: { 'github-token': 'ghs_test', ...inputs },
    env,
    workspace: options.workspace ?? temp,
  });
  const code = await executeAction(buildTag, rt);
  return { rt, code, envFile };
}

function envFileEntries(path: string): [string, string][] {
  const entries: [string, string][] = [];
  for (const match of readFileSync(path, 'utf8').matchAll(/^(\w+)<<(\S+)\n([\s\S]*?)\n\2$/gm))
    entries.push([match[1]!, match[3]!]);
  return entries;
}

describe('metadata-action outputs', () => {
  it('a tag push: outputs in metadata-action order, the same values as DOCKER_METADATA_OUTPUT_*, bake files on disk', async () => {
    const { rt, code, envFile } = await run('tag_v1.2.3', {
      images: 'ghcr.io/acme/web',
      tags: 'type=semver,pattern={{version}}\ntype=semver,pattern={{major}}.{{minor}}\ntype=sha',
      labels: 'org.opencontainers.image.vendor=Acme',
      'sep-tags': ',',
    });
    expect(code).toBe(0);
    const names = Object.keys(rt.outputs).filter(
      (name) => !['result', 'next-version', 'previous-version', 'bump', 'is-prerelease', 'digest'].includes(name),
    );
    expect(names).toEqual([
      'version',
      'tags',
      'tag-names',
      'labels',
      'annotations',
      'json',
      'bake-file-tags',
      'bake-file-labels',
      'bake-file-annotations',
      'bake-file',
    ]);
    expect(rt.outputs.version).toBe('1.2.3');
    expect(rt.outputs.tags).toBe(
      'ghcr.io/acme/web:1.2.3,ghcr.io/acme/web:1.2,ghcr.io/acme/web:sha-860c190,ghcr.io/acme/web:latest',
    );
    expect(rt.outputs['tag-names']).toBe('1.2.3,1.2,sha-860c190,latest');
    expect(rt.outputs.labels).toContain('org.opencontainers.image.vendor=Acme\norg.opencontainers.image.version=1.2.3');
    const env = envFileEntries(envFile);
    expect(env.map(([name]) => name)).toEqual([
      'DOCKER_METADATA_OUTPUT_VERSION',
      'DOCKER_METADATA_OUTPUT_TAGS',
      'DOCKER_METADATA_OUTPUT_TAG_NAMES',
      'DOCKER_METADATA_OUTPUT_LABELS',
      'DOCKER_METADATA_OUTPUT_ANNOTATIONS',
      'DOCKER_METADATA_OUTPUT_JSON',
      'DOCKER_METADATA_OUTPUT_BAKE_FILE_TAGS',
      'DOCKER_METADATA_OUTPUT_BAKE_FILE_LABELS',
      'DOCKER_METADATA_OUTPUT_BAKE_FILE_ANNOTATIONS',
      'DOCKER_METADATA_OUTPUT_BAKE_FILE',
    ]);
    expect(env.find(([name]) => name === 'DOCKER_METADATA_OUTPUT_LABELS')?.[1]).toBe(rt.outputs.labels);
    const bake = JSON.parse(readFileSync(rt.outputs['bake-file']!, 'utf8'));
    expect(bake.target['docker-metadata-action'].tags).toEqual(rt.outputs.tags!.split(','));
    expect(bake.target['docker-metadata-action'].args).toEqual({
      DOCKER_META_IMAGES: 'ghcr.io/acme/web',
      DOCKER_META_VERSION: '1.2.3',
    });
    expect(
      JSON.parse(readFileSync(rt.outputs['bake-file-labels']!, 'utf8')).target['docker-metadata-action'].labels[
        'org.opencontainers.image.licenses'
      ],
    ).toBe('MIT');
    expect(JSON.parse(rt.outputs.json!).tags).toHaveLength(4);
    expect(rt.flushedSummary).toContain('| ghcr.io/acme/web | `1.2.3` `1.2` `sha-860c190` `latest` |');
  });

  it('context: git takes the ref, commit and commit date from the checkout (a detached tag, then a branch)', async () => {
    const r = new TestRepo('build-tag-context-git-');
    try {
      r.commit('feat: a');
      r.tag('v2.3.4');
      r.git('checkout', '--quiet', '--detach', 'v2.3.4');
      const tags = "type=semver,pattern={{version}}\ntype=sha\ntype=raw,value={{commit_date 'YYYYMMDD'}}";
      const detached = await run('push_master', { context: 'git', images: 'acme/web', tags }, { workspace: r.dir });
      expect(detached.rt.lines('error')).toEqual([]);
      // TestRepo's first commit is dated 1700000060 (2023-11-14).
      expect(detached.rt.outputs['tag-names']).toBe(`2.3.4\n20231114\nsha-${r.head().slice(0, 7)}\nlatest`);
      r.switch('main');
      r.commit('fix: b');
      const branch = await run(
        'push_master',
        { context: 'git', images: 'acme/web', tags: 'type=ref,event=branch\ntype=sha' },
        { workspace: r.dir },
      );
      expect(branch.rt.outputs.tags).toBe(`acme/web:main\nacme/web:sha-${r.head().slice(0, 7)}`);
      expect(branch.rt.outputs.labels).toContain(`org.opencontainers.image.revision=${r.head()}`);
    } finally {
      r.remove();
    }
  });

  it('separators keep their spaces as metadata-action reads them (", ", only spaces)', async () => {
    const tags = 'type=raw,value=a\ntype=raw,value=b';
    const comma = await run('push_master', { images: 'acme/web', tags, 'sep-tags': ', ' });
    expect(comma.rt.outputs.tags).toBe('acme/web:a, acme/web:b');
    expect(new Map(envFileEntries(comma.envFile)).get('DOCKER_METADATA_OUTPUT_TAGS')).toBe('acme/web:a, acme/web:b');
    const spaces = await run('push_master', { images: 'acme/web', tags, 'sep-tags': '   ' });
    expect(spaces.rt.outputs.tags).toBe('acme/web:a   acme/web:b');
    const unset = await run('push_master', { images: 'acme/web', tags });
    expect(unset.rt.outputs.tags).toBe('acme/web:a\nacme/web:b');
  });

  it('DOCKER_METADATA_SET_OUTPUT_ENV=false writes no variables', async () => {
    const { code, envFile } = await run(
      'push_master',
      { images: 'acme/web' },
      { env: { DOCKER_METADATA_SET_OUTPUT_ENV: 'false' } },
    );
    expect(code).toBe(0);
    expect(readFileSync(envFile, 'utf8')).toBe('');
  });

  it('a malformed rule: one error naming the rule and the attribute, no outputs', async () => {
    const { rt, code } = await run('push_master', {
      images: 'acme/web',
      tags: 'type=ref,event=branch\ntype=semver,patern={{version}}',
    });
    expect(code).toBe(1);
    expect(rt.lines('error')).toEqual([
      expect.stringContaining(
        'rule 2: attribute "patern" is not one of type=semver\'s (enable, priority, prefix, suffix, pattern, value, match) (got "type=semver,patern={{version}}")',
      ),
    ]);
    expect(rt.outputs.tags).toBeUndefined();
  });

  it('a registry password without a user name is refused naming the missing input', async () => {
    const { rt, code } = await run('push_master', { images: 'acme/web', 'registry-password': 's3cret-pw' });
    expect(code).toBe(1);
    expect(rt.lines('error')[0]).toContain("Input 'registry-username': is needed with the other registry credential");
    expect(rt.lines('error')[0]).not.toContain('s3cret-pw');
  });

  it('an invalid bump names the input and its choices', async () => {
    const { rt, code } = await run('push_master', { images: 'acme/web', bump: 'huge' });
    expect(code).toBe(1);
    expect(rt.lines('error')[0]).toMatch(/Input 'bump'.*huge/);
  });

  it('a workspace with no checkout: one error saying what needed git and how to check out, no outputs', async () => {
    const empty = mkdtempSync(join(temp, 'no-checkout-'));
    for (const [inputs, needs] of [
      [{ tags: 'type=raw,value={{next_version}}' }, '{{next_version}} in a tag rule'],
      [{ bump: 'patch' }, 'bump: patch'],
      [{ context: 'git' }, 'context: git'],
    ] as const) {
      const { rt, code } = await run('push_master', { images: 'acme/web', ...inputs }, { workspace: empty });
      expect(code).toBe(1);
      expect(rt.lines('error')).toEqual([
        `${needs} reads the git history, but the workspace ${empty} is not a git working copy. Check the code out first: actions/checkout with fetch-depth: 0.`,
      ]);
      expect(rt.outputs.tags).toBeUndefined();
    }
  });
});

describe('services: one bake file for the API platform three images', () => {
  it('a target per service with its own tags and the same version', async () => {
    const r = new TestRepo('build-tag-services-');
    try {
      r.commit('feat: api');
      r.tag('v1.4.0');
      r.commit('feat: gateway');
      const { rt, code } = await run(
        'push_master',
        {
          tags: 'type=raw,value={{next_version}}\ntype=sha',
          services:
            '- { name: api, image: ghcr.io/acme/api, context: services/api }\n- { name: worker, image: ghcr.io/acme/worker, context: services/worker, dockerfile: Dockerfile.worker }\n- { name: gateway, image: ghcr.io/acme/gateway, context: gateway, platforms: [linux/amd64, linux/arm64] }',
        },
        { workspace: r.dir, env: { GITHUB_SHA: r.head() } },
      );
      expect(rt.lines('error')).toEqual([]);
      expect(code).toBe(0);
      expect(rt.outputs['next-version']).toBe('1.5.0');
      expect(rt.outputs['previous-version']).toBe('1.4.0');
      expect(rt.outputs.bump).toBe('minor');
      const bake = JSON.parse(readFileSync(rt.outputs['bake-file']!, 'utf8'));
      expect(bake.group.default.targets).toEqual(['api', 'worker', 'gateway']);
      const short = r.head().slice(0, 7);
      expect(bake.target.api).toMatchObject({
        context: 'services/api',
        tags: ['ghcr.io/acme/api:1.5.0', `ghcr.io/acme/api:sha-${short}`],
      });
      expect(bake.target.worker).toMatchObject({
        dockerfile: 'Dockerfile.worker',
        tags: ['ghcr.io/acme/worker:1.5.0', `ghcr.io/acme/worker:sha-${short}`],
      });
      expect(bake.target.gateway.platforms).toEqual(['linux/amd64', 'linux/arm64']);
      expect(bake.target.gateway.labels['org.opencontainers.image.version']).toBe('1.5.0');
      expect(rt.flushedSummary).toContain('| bump | minor: minor: 1 feat, 1 change since v1.4.0 |');
    } finally {
      r.remove();
    }
  });

  it('a service without an image is refused before anything runs', async () => {
    const { rt, code } = await run('push_master', { services: '- { name: api, context: . }' });
    expect(code).toBe(1);
    expect(rt.lines('error')[0]).toContain("Input 'services': service 1 (api): image is missing");
  });
});

describe('git-tag', () => {
  it('through the GitHub API: an annotated tag object and its ref; again: a no-op; on another commit: refused', async () => {
    const r = new TestRepo('build-tag-gittag-');
    try {
      r.commit('feat: a');
      r.tag('v1.0.0');
      r.commit('fix: b');
      const sha = r.head();
      const first = await run(
        'push_master',
        { images: 'acme/web', 'git-tag': 'true' },
        { workspace: r.dir, env: { GITHUB_SHA: sha } },
      );
      expect(first.rt.lines('error')).toEqual([]);
      expect(first.rt.outputs['next-version']).toBe('1.0.1');
      const tagObject = github.refs.get('refs/tags/v1.0.1')!;
      expect(github.tagObjects.get(tagObject)).toEqual({
        tag: 'v1.0.1',
        message: 'Release 1.0.1',
        object: { sha, type: 'commit' },
      });
      const posts = github.requests.filter((request) => request.method === 'POST').length;
      // What the next checkout (fetch-depth: 0) sees: the release tag made through the API.
      r.git('tag', '-a', 'v1.0.1', '-m', 'Release 1.0.1', sha);
      const again = await run(
        'push_master',
        { images: 'acme/web', 'git-tag': 'true' },
        { workspace: r.dir, env: { GITHUB_SHA: sha } },
      );
      expect(again.code).toBe(0);
      expect(github.requests.filter((request) => request.method === 'POST').length).toBe(posts);
      expect(again.rt.flushedSummary).toContain('Git tag `v1.0.1`');
      expect(again.rt.flushedSummary).toContain('unchanged');
      r.commit('docs: c');
      github.refs.set('refs/tags/v1.0.2', 'f'.repeat(40).replace(/^f/, 'a'));
      r.commit('fix: d');
      const moved = await run(
        'push_master',
        { images: 'acme/web', 'git-tag': 'true', bump: 'patch' },
        { workspace: r.dir, env: { GITHUB_SHA: r.head() } },
      );
      expect(moved.code).toBe(1);
      expect(moved.rt.lines('error')[0]).toContain('The tag v1.0.2 already exists on commit affffff');
    } finally {
      r.remove();
    }
  });

  it('without a token: git tag -a and git push to origin; a re-run leaves it', async () => {
    const r = new TestRepo('build-tag-push-');
    const remote = mkdtempSync(join(tmpdir(), 'build-tag-remote-'));
    try {
      execFileSync('git', ['init', '--quiet', '--bare', remote]);
      r.commit('feat: a');
      r.git('remote', 'add', 'origin', remote);
      const env = { GITHUB_SHA: r.head(), GIT_COMMITTER_NAME: 'CI', GIT_COMMITTER_EMAIL: 'ci@example.com' };
      const first = await run(
        'push_master',
        { images: 'acme/web', 'git-tag': 'true', 'github-token': '', token: '' },
        { workspace: r.dir, env },
      );
      expect(first.rt.lines('error')).toEqual([]);
      expect(
        execFileSync(
          'git',
          ['-C', remote, 'for-each-ref', '--format=%(objecttype) %(refname) %(*objectname)', 'refs/tags'],
          { encoding: 'utf8' },
        ).trim(),
      ).toBe(`tag refs/tags/v0.1.0 ${r.head()}`);
      const again = await run(
        'push_master',
        { images: 'acme/web', 'git-tag': 'true', 'github-token': '', token: '' },
        { workspace: r.dir, env },
      );
      expect(again.code).toBe(0);
    } finally {
      r.remove();
      rmSync(remote, { recursive: true, force: true });
    }
  });
});

describe.skipIf(registryMissing())('promote-from (the SaaS emergency retag) against a real registry', () => {
  let registry: RunningRegistry;
  let tested: PushedImage;
  let other: PushedImage;
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'token' });
    const client = new RegistryClient({
      credentials: () => ({ username: registry.username, password: registry.password }),
    });
    tested = await pushTestImage(client, registry.host, 'acme/web-staging', 'sha-860c190', {
      platforms: ['linux/amd64', 'linux/arm64'],
      layers: 3,
    });
    other = await pushTestImage(client, registry.host, 'acme/web-staging', 'broken', { format: 'oci' });
  });
  afterAll(async () => registry?.stop());

  const promoteInputs = () => ({
    images: `${registry.host}/acme/web`,
    tags: 'type=semver,pattern={{version}}\ntype=semver,pattern={{major}}.{{minor}}',
    'promote-from': `${registry.host}/acme/web-staging:sha-860c190`,
    'registry-username': registry.username,
    'registry-password': registry.password,
  });

  it('copies the tested digest to every tag, outputs it, then a re-run changes nothing', async () => {
    const first = await run('tag_v1.2.3', promoteInputs());
    expect(first.rt.lines('error')).toEqual([]);
    expect(first.rt.outputs.digest).toBe(tested.digest);
    expect(first.rt.masked).toContain(registry.password);
    const client = new RegistryClient({
      credentials: () => ({ username: registry.username, password: registry.password }),
    });
    for (const tag of ['1.2.3', '1.2', 'latest'])
      expect((await client.manifestExists(`${registry.host}/acme/web:${tag}`))?.digest).toBe(tested.digest);
    expect(first.rt.flushedSummary).toContain('3 blobs mounted'.replace('3', String(tested.blobDigests.length)));
    const again = await run('tag_v1.2.3', promoteInputs());
    expect(again.code).toBe(0);
    expect(
      JSON.parse(again.rt.outputs.result!).promote.targets.map((target: { state: string }) => target.state),
    ).toEqual(['unchanged', 'unchanged', 'unchanged']);
  });

  it('a digest alone names an image of the one repository in images; a bad digest or two images are refused', async () => {
    const client = new RegistryClient({
      credentials: () => ({ username: registry.username, password: registry.password }),
    });
    // acme/web holds the tested digest since the promotion above: retag it by digest alone.
    const inputs = { ...promoteInputs(), tags: 'type=raw,value=hotfix', 'promote-from': tested.digest };
    const byDigest = await run('tag_v1.2.3', inputs);
    expect(byDigest.rt.lines('error')).toEqual([]);
    expect(byDigest.rt.outputs.digest).toBe(tested.digest);
    expect((await client.manifestExists(`${registry.host}/acme/web:hotfix`))?.digest).toBe(tested.digest);

    const bad = await run('tag_v1.2.3', { ...inputs, tags: 'type=raw,value=never', 'promote-from': 'sha256:abc' });
    expect(bad.code).toBe(1);
    expect(bad.rt.lines('error')[0]).toMatch(
      /^Input 'promote-from': is not a digest: sha256: and 64 lowercase hex digits \(got "sha256:abc"\)/,
    );
    const two = await run('tag_v1.2.3', {
      ...inputs,
      tags: 'type=raw,value=never',
      images: `${registry.host}/acme/web\n${registry.host}/acme/api`,
    });
    expect(two.code).toBe(1);
    expect(two.rt.lines('error')[0]).toContain("a digest alone needs exactly one image in 'images'");
    expect(await client.manifestExists(`${registry.host}/acme/web:never`)).toBeUndefined();
  });

  it('refuses to move a tag to another image unless overwrite, pushing nothing', async () => {
    const inputs = { ...promoteInputs(), 'promote-from': `${registry.host}/acme/web-staging:broken` };
    const refused = await run('tag_v1.2.3', inputs);
    expect(refused.code).toBe(1);
    expect(refused.rt.lines('error')[0]).toContain(`${registry.host}/acme/web:1.2.3 points at ${tested.digest}`);
    const client = new RegistryClient({
      credentials: () => ({ username: registry.username, password: registry.password }),
    });
    expect((await client.manifestExists(`${registry.host}/acme/web:1.2`))?.digest).toBe(tested.digest);
    const forced = await run('tag_v1.2.3', { ...inputs, overwrite: 'true' });
    expect(forced.code).toBe(0);
    expect(forced.rt.outputs.digest).toBe(other.digest);
  });

  it('a source that does not exist, and refused credentials (masked), are one clear error each', async () => {
    const missing = await run('tag_v1.2.3', {
      ...promoteInputs(),
      'promote-from': `${registry.host}/acme/web-staging:nope`,
    });
    expect(missing.rt.lines('error')[0]).toContain(
      `promote-from "${registry.host}/acme/web-staging:nope" does not exist`,
    );
    const wrong = await run('tag_v1.2.3', { ...promoteInputs(), 'registry-password': 'wrong-secret-123' });
    expect(wrong.code).toBe(1);
    const line = wrong.rt.lines('error')[0]!;
    expect(line).toContain('refused user "ci"');
    expect(wrong.rt.redact(line)).not.toContain('wrong-secret-123');
    expect(wrong.rt.masked).toContain('wrong-secret-123');
  });

  it('a git tag on another commit stops the step before the registry is touched', async () => {
    const r = new TestRepo('build-tag-tag-conflict-');
    try {
      r.commit('feat: a');
      r.tag('v7.0.0');
      github.refs.set('refs/tags/v7.0.0', 'b'.repeat(40));
      const inputs = { ...promoteInputs(), tags: 'type=semver,pattern={{version}}', 'git-tag': 'true' };
      const { rt, code } = await run('push_master', inputs, {
        workspace: r.dir,
        env: { GITHUB_REF: 'refs/tags/v7.0.0', GITHUB_SHA: r.head() },
      });
      expect(code).toBe(1);
      expect(rt.lines('error')[0]).toContain(
        `The tag v7.0.0 already exists on commit ${'b'.repeat(40)}, not on ${r.head()}`,
      );
      const client = new RegistryClient({
        credentials: () => ({ username: registry.username, password: registry.password }),
      });
      expect(await client.manifestExists(`${registry.host}/acme/web:7.0.0`)).toBeUndefined();
    } finally {
      r.remove();
    }
  });

  it('dry-run checks everything and pushes nothing', async () => {
    // `latest` points at the `broken` image since the overwrite above: promoting that one again is allowed.
    const { rt, code } = await run('release', {
      ...promoteInputs(),
      'promote-from': `${registry.host}/acme/web-staging:broken`,
      'dry-run': 'true',
    });
    expect(rt.lines('error')).toEqual([]);
    expect(code).toBe(0);
    const client = new RegistryClient({
      credentials: () => ({ username: registry.username, password: registry.password }),
    });
    expect(await client.manifestExists(`${registry.host}/acme/web:1.3.0`)).toBeUndefined();
    expect(rt.flushedSummary).toContain('dry run: nothing pushed');
  });
});
