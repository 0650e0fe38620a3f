/**
 * Variables a step exports (GITHUB_ENV) reach the job's later steps in the local workflow runner: build-tag's
 * DOCKER_METADATA_OUTPUT_* (multi-line labels included) as a later step's environment and `env.` context.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualClock } from '@deploy-actions/core/clock';
import { runWorkflowFile, type StandIn } from '@deploy-actions/dispatch/workflow/index';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeGitHubApi } from '../actions/build-tag/test/github-server';

let github: FakeGitHubApi;
let dir: string;
beforeAll(async () => {
  github = await new FakeGitHubApi().start();
  dir = mkdtempSync(join(tmpdir(), 'workflow-env-'));
});
afterAll(async () => {
  await github?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('GITHUB_ENV in the local workflow runner', () => {
  it("build-tag's DOCKER_METADATA_OUTPUT_* variables are in a later step's env and env context", async () => {
    const file = join(dir, 'build.yml');
    writeFileSync(
      file,
      [
        'name: build',
        'on: push',
        'jobs:',
        '  build:',
        '    runs-on: ubuntu-latest',
        '    steps:',
        '      - uses: org/deploy-actions/actions/build-tag@v1',
        '        with:',
        '          images: ghcr.io/acme/web',
        '          tags: type=raw,value=v7',
        '          labels: org.opencontainers.image.vendor=Acme',
        '      - id: push',
        '        run: docker push "$DOCKER_METADATA_OUTPUT_TAGS"',
        '        with:',
        '          tags: ${{ env.DOCKER_METADATA_OUTPUT_TAGS }}',
        '',
      ].join('\n'),
    );
    const seen: Parameters<StandIn>[0][] = [];
    const result = await runWorkflowFile(file, {
      workspace: dir,
      clock: new VirtualClock(0),
      github: {
        api_url: github.url,
        event_name: 'push',
        ref: 'refs/heads/master',
        ref_name: 'master',
        repository: 'acme/web',
        sha: '860c1904a1ce19322e91ac35af1ab07466440c37',
      },
      env: { PATH: process.env.PATH, HOME: process.env.HOME, SOURCE_DATE_EPOCH: '1764000000' },
      standIns: { push: (step) => void seen.push(step) },
    });
    const steps = result.jobs[0]!.steps;
    expect(
      steps.map((s) => [s.action ?? s.id, s.status]),
      steps[0]!.log.join('\n'),
    ).toEqual([
      ['build-tag', 'success'],
      ['push', 'success'],
    ]);
    expect(seen).toHaveLength(1);
    const env = seen[0]!.env;
    expect(env.DOCKER_METADATA_OUTPUT_TAGS).toBe('ghcr.io/acme/web:v7');
    expect(env.DOCKER_METADATA_OUTPUT_VERSION).toBe('v7');
    // A multi-line value arrives whole, as later steps read it on GitHub.
    expect(env.DOCKER_METADATA_OUTPUT_LABELS).toContain('org.opencontainers.image.vendor=Acme\n');
    expect(env.DOCKER_METADATA_OUTPUT_LABELS).toBe(steps[0]!.outputs.labels);
    expect(seen[0]!.with.tags).toBe('ghcr.io/acme/web:v7');
    // The step's variables went to its own environment, not to the process running the workflow.
    expect(process.env.DOCKER_METADATA_OUTPUT_TAGS).toBeUndefined();
  });
});
