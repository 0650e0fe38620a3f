/**
 * Parity with the real docker/metadata-action: runs its released bundle (`dist/index.cjs` of a checkout, given as
 * METADATA_ACTION_BUNDLE) on every case of the table, with the same event fixtures and the same loopback GitHub
 * API, and compares every output but the creation time. Skipped when the bundle is not given: the peer is not
 * an npm package, so CI cannot install it; run it when changing the rules.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GitHubApi } from '@deploy-actions/core/github';
import { bakeDefinitions, computeImageMeta, readMetaContext } from '@deploy-actions/core/image-meta';
import { createMemoryRuntime } from '@deploy-actions/core/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cases, fixtureEnv, metaInputsOf } from './fixtures/cases';
import { FakeGitHubApi } from './github-server';

const bundle = process.env.METADATA_ACTION_BUNDLE;
const run = promisify(execFile);

function parseOutputFile(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const pattern = /^([\w-]+)<<(\S+)\n([\s\S]*?)\n\2$/gm;
  for (const match of text.matchAll(pattern)) outputs[match[1]!] = match[3]!;
  return outputs;
}

describe.skipIf(!bundle || !existsSync(bundle))('same outputs as docker/metadata-action', () => {
  let github: FakeGitHubApi;
  let dir: string;
  beforeAll(async () => {
    github = await new FakeGitHubApi().start();
    github.commitDates.set('a9b3c5d7e1f2a3b4c5d6e7f8091a2b3c4d5e6f70', '2026-11-19T09:00:00Z');
    dir = await mkdtemp(join(tmpdir(), 'peer-'));
  });
  afterAll(async () => {
    await github?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it.each(cases.filter((test) => !/\{\{date/.test(test.tags ?? '')))('$name', async (test) => {
    const env = fixtureEnv(test.event, github.url, test.env);
    const outputFile = join(dir, `${test.event}-out`);
    await writeFile(outputFile, '');
    await writeFile(join(dir, 'env'), '');
    const peerRun = run(process.execPath, [bundle!], {
      env: {
        PATH: process.env.PATH,
        ...env,
        GITHUB_OUTPUT: outputFile,
        GITHUB_ENV: join(dir, 'env'),
        RUNNER_TEMP: dir,
        INPUT_IMAGES: test.images ?? '',
        INPUT_TAGS: test.tags ?? '',
        INPUT_FLAVOR: test.flavor ?? '',
        INPUT_LABELS: test.labels ?? '',
        INPUT_ANNOTATIONS: test.annotations ?? '',
        INPUT_CONTEXT: 'workflow',
        'INPUT_GITHUB-TOKEN': 'ghs_test',
      },
    });
    await peerRun.catch((error: { stdout?: string }) => {
      throw new Error(
        `metadata-action failed: ${error.stdout
          ?.split('\n')
          .filter((line) => line.startsWith('::error'))
          .join(' ')}`,
      );
    });
    const peer = parseOutputFile(await readFile(outputFile, 'utf8'));
    const rt = createMemoryRuntime({ env });
    const api = new GitHubApi(rt, { token: 'ghs_test', apiUrl: github.url, repository: 'acme/web' });
    const context = await readMetaContext({ source: 'workflow', env, api, now: () => new Date(), warn: () => {} });
    const ours = computeImageMeta(metaInputsOf(test), context);
    const withoutCreated = (text: string) => text.replace(/(created(?:=|": ?"))[^\n",]*/g, '$1');
    expect(peer.version).toBe(ours.version.main ?? '');
    expect(peer.tags).toBe(ours.tags.join('\n'));
    expect(peer['tag-names']).toBe(ours.tagNames.join('\n'));
    expect(withoutCreated(peer.labels!)).toBe(withoutCreated(ours.labels.join('\n')));
    expect(withoutCreated(peer.annotations!)).toBe(withoutCreated(ours.annotations.join('\n')));
    expect(withoutCreated(peer.json!)).toBe(withoutCreated(JSON.stringify(ours.json)));
    const bake = bakeDefinitions(ours, 'docker-metadata-action');
    for (const [output, text] of [
      ['bake-file-tags', bake.tags],
      ['bake-file-labels', bake.labels],
      ['bake-file-annotations', bake.annotations],
      ['bake-file', bake.all],
    ] as const) {
      expect(withoutCreated(await readFile(peer[output]!, 'utf8'))).toBe(withoutCreated(text));
    }
  });
});
