/**
 * Every committed bundle, started exactly as a GitHub runner starts it. An ncc build can
 * succeed and still produce a bundle that fails on start (ESM-only packages), so only
 * running each one proves it.
 */
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { actionNames, manifest, root, rootManifest } from './support/repo';
import { runLikeRunner } from './support/runner';

/** Inputs that are valid for each action, and one bad input with the name its error must carry. */
const cases: Record<string, { good: Record<string, string>; bad: [string, string] }> = {
  preflight: { good: { checks: '- kube: nodes-ready' }, bad: ['fail-on', 'sometimes'] },
  'build-tag': { good: { images: 'ghcr.io/acme/web' }, bad: ['dry-run', 'perhaps'] },
  migrate: { good: { 'database-url': 'postgres://app:s3cret@db:5432/app' }, bad: ['runner', 'flyway'] },
  'canary-promote': { good: { deployments: 'web', images: 'web=ghcr.io/acme/web:v2' }, bad: ['pause', '5 minutes'] },
  smoke: { good: { url: 'https://api.example.com/health' }, bad: ['retries', 'many'] },
  // kubernetes and image modes need a cluster (actions/rollback/test runs them on kube-sim); github mode is not built yet.
  rollback: { good: { deployments: 'web', mode: 'github' }, bad: ['to-revision', 'latest'] },
  'release-notes': { good: { tag: 'v1.2.0' }, bad: ['timeout', 'forever'] },
};

describe.each(actionNames)('dist bundle of %s', (action) => {
  const m = manifest(action);
  const entry = resolve(root, 'actions', action, m.runs.main);

  it('runs with valid inputs: exit 0, result output, job summary', async () => {
    const run = await runLikeRunner(entry, m, cases[action]!.good);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const result = JSON.parse(run.outputs.result ?? '{}');
    expect(result.action).toBe(action);
    expect(run.summary).toContain(`## ${action}`);
  });

  it('refuses a bad input with one ::error:: line naming it, exit 1', async () => {
    const [input, value] = cases[action]!.bad;
    const run = await runLikeRunner(entry, m, { ...cases[action]!.good, [input]: value });
    expect(run.code).toBe(1);
    const errors = run.stdout.split('\n').filter((line) => line.startsWith('::error'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(`Input '${input}'`);
    expect(errors[0]).toContain(JSON.stringify(value));
    expect(errors[0]).toContain('Example:');
    expect(run.outputs).toEqual({});
  });
});

describe('umbrella action (dist/main)', () => {
  const entry = join(root, rootManifest().runs.main);

  it('dispatches by command', async () => {
    const run = await runLikeRunner(entry, rootManifest(), { command: 'smoke', url: 'https://api.example.com/health' });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.outputs.result ?? '{}').action).toBe('smoke');
  });

  it('refuses an unknown command, listing the valid ones', async () => {
    const run = await runLikeRunner(entry, rootManifest(), { command: 'deploy-everything' });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      /::error::Input 'command': unknown command "deploy-everything"\. Valid: .*canary-promote/,
    );
  });

  it('masks secrets given as inputs in everything it writes', async () => {
    const run = await runLikeRunner(entry, rootManifest(), {
      command: 'migrate',
      'database-url': 'postgres://app:s3cret-pw@db:5432/app',
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('::add-mask::');
    expect(run.summary).not.toContain('s3cret-pw');
    expect(run.outputs.result).not.toContain('s3cret-pw');
  });
});
