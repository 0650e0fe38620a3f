/**
 * build-tag as a drop-in for docker/metadata-action: table-driven over event fixtures in the runner's shapes
 * (an `.env` of GITHUB_* variables and the JSON payload at GITHUB_EVENT_PATH), with the repository answered by a
 * loopback GitHub API. Expected values follow metadata-action's documented rules (priority order, de-duplication,
 * latest=auto per type, sanitising, sorted OCI labels).
 */
import { GitHubApi } from '@deploy-actions/core/github';
import {
  computeImageMeta,
  type MetaContext,
  parseFlavor,
  parseImages,
  parseTagRules,
  readMetaContext,
} from '@deploy-actions/core/image-meta';
import { createMemoryRuntime } from '@deploy-actions/core/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cases, EPOCH, fixtureEnv, metaInputsOf } from './fixtures/cases';
import { FakeGitHubApi } from './github-server';

const CREATED = new Date(EPOCH * 1000).toISOString();
const SHA = '860c1904a1ce19322e91ac35af1ab07466440c37';

let github: FakeGitHubApi;
beforeAll(async () => {
  github = await new FakeGitHubApi().start();
  github.commitDates.set('a9b3c5d7e1f2a3b4c5d6e7f8091a2b3c4d5e6f70', '2026-11-19T09:00:00Z');
});
afterAll(async () => github?.stop());

async function contextFor(event: string, extra: Record<string, string> = {}): Promise<MetaContext> {
  const env = fixtureEnv(event, github.url, extra);
  const rt = createMemoryRuntime({ env });
  const api = new GitHubApi(rt, { token: 'ghs_test', apiUrl: github.url, repository: 'acme/web' });
  return readMetaContext({ source: 'workflow', env, api, now: () => new Date(0), warn: () => {} });
}

describe('tags and version over runner event fixtures', () => {
  it.each(cases)('$name', async (test) => {
    const context = await contextFor(test.event, test.env);
    const meta = computeImageMeta(metaInputsOf(test), context);
    expect(meta.version.main ?? '').toBe(test.version);
    expect(meta.tags).toEqual(test.tags_out);
  });
});

describe('labels, annotations and JSON', () => {
  it('OCI labels from the repository and the run, custom ones winning, sorted; annotations per level', async () => {
    const context = await contextFor('push_master');
    const meta = computeImageMeta(
      {
        images: parseImages('ghcr.io/acme/web'),
        rules: parseTagRules('type=ref,event=branch'),
        flavor: parseFlavor(''),
        labels: [
          'org.opencontainers.image.title=Custom',
          'maintainer=acme',
          'org.opencontainers.image.vendor={{branch}}',
          'no-equals-sign-is-dropped',
        ],
        annotations: ['org.opencontainers.image.description=Shop'],
        annotationLevels: ['manifest', 'index'],
      },
      context,
    );
    expect(meta.labels).toEqual([
      'maintainer=acme',
      `org.opencontainers.image.created=${CREATED}`,
      'org.opencontainers.image.description=The Acme web shop',
      'org.opencontainers.image.licenses=MIT',
      `org.opencontainers.image.revision=${SHA}`,
      'org.opencontainers.image.source=https://github.com/acme/web',
      'org.opencontainers.image.title=Custom',
      'org.opencontainers.image.url=https://github.com/acme/web',
      'org.opencontainers.image.vendor=master',
      'org.opencontainers.image.version=master',
    ]);
    expect(meta.annotations.slice(0, 3)).toEqual([
      `manifest:org.opencontainers.image.created=${CREATED}`,
      'manifest:org.opencontainers.image.description=Shop',
      'manifest:org.opencontainers.image.licenses=MIT',
    ]);
    expect(meta.annotations).toHaveLength(16);
    expect(meta.annotations[8]).toBe(`index:org.opencontainers.image.created=${CREATED}`);
    expect(meta.json).toEqual({
      tags: ['ghcr.io/acme/web:master'],
      'tag-names': ['master'],
      labels: Object.fromEntries(
        meta.labels.map((label) => [label.slice(0, label.indexOf('=')), label.slice(label.indexOf('=') + 1)]),
      ),
      annotations: meta.annotations,
    });
  });

  it('SOURCE_DATE_EPOCH is "now"; without it the clock is', async () => {
    expect((await contextFor('push_master')).now.toISOString()).toBe(CREATED);
    const env = fixtureEnv('push_master', github.url);
    delete env.SOURCE_DATE_EPOCH;
    const context = await readMetaContext({
      source: 'workflow',
      env,
      now: () => new Date('2030-01-02T03:04:05Z'),
      warn: () => {},
    });
    expect(context.now.toISOString()).toBe('2030-01-02T03:04:05.000Z');
    // Without a token, the payload's repository stands in for the API's.
    expect(context.repo).toEqual({
      name: 'web',
      description: 'The Acme web shop',
      htmlUrl: 'https://github.com/acme/web',
      license: 'MIT',
      defaultBranch: 'master',
    });
  });
});

describe('bad input: one clear error naming the rule and the attribute', () => {
  it.each([
    [
      'type=semvr,pattern={{version}}',
      'Input \'tags\': rule 1: unknown type=semvr (one of schedule, semver, pep440, match, edge, ref, raw, sha) (got "type=semvr,pattern={{version}}"). Example: tags: type=semver,pattern={{version}}',
    ],
    [
      'type=sha\ntype=semver,patern={{version}}',
      'rule 2: attribute "patern" is not one of type=semver\'s (enable, priority, prefix, suffix, pattern, value, match) (got "type=semver,patern={{version}}")',
    ],
    ['type=semver', 'rule 1: the pattern attribute is missing (got "type=semver")'],
    ['type=ref,event=push', 'event=push is not branch, tag or pr'],
    ['type=sha,format=medium', 'format=medium is not short or long'],
    ['type=raw,value=x,priority=high', 'priority=high is not a number'],
    ['type=match,pattern=v(\\d+),group=one', 'group=one is not a group number'],
    ['type=raw', 'the value attribute is missing'],
  ])('%s', (rules, message) => {
    expect(() => parseTagRules(rules)).toThrow(message);
    // The rule written is what was given: never "(got nothing)".
    expect(() => parseTagRules(rules)).not.toThrow('(got nothing)');
  });

  it('flavor and images', () => {
    expect(() => parseFlavor('latest=sometimes')).toThrow(
      'Input \'flavor\': latest=sometimes is not auto, true or false (got "latest=sometimes")',
    );
    expect(() => parseFlavor('lastest=true')).toThrow('unknown flavor "lastest"');
    expect(() => parseImages('name=a\nname=b,enable=yes')).toThrow(
      'Input \'images\': image 2: enable=yes is not true or false (got "name=b,enable=yes")',
    );
  });

  it('an enable expression that is not true/false, an unknown helper, a bad time zone', async () => {
    const context = await contextFor('push_master');
    const run = (tags: string) =>
      computeImageMeta(
        {
          images: [],
          rules: parseTagRules(tags),
          flavor: parseFlavor(''),
          labels: [],
          annotations: [],
          annotationLevels: ['manifest'],
        },
        context,
      );
    expect(() => run('type=raw,value=a,enable={{branch}}')).toThrow('enable=master is not true or false');
    expect(() => run("type=raw,value={{datum 'YYYY'}}")).toThrow('unknown helper "datum"');
    expect(() => run("type=raw,value={{date 'YYYY' tz='Mars/Olympus'}}")).toThrow('Unknown time zone "Mars/Olympus"');
    expect(() => run('type=raw,value={{branch')).toThrow('"{{" without a closing "}}"');
  });
});
