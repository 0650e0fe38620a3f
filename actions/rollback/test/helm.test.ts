/**
 * rollback, mode helm. Helm itself cannot run here (no cluster it could
 * install into), so a small fake `helm` executable stands in for it: it keeps
 * a release history in a file, answers `history -o json` and records a
 * `rollback` as helm does (a new revision). It exists only to check the exact
 * argument arrays and the choice of revision; it proves nothing about Helm.
 */
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { HelmCli } from '@deploy-actions/core/helm';
import { runAction } from '@deploy-actions/testkit/cluster';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import rollback from '../src/main';
import { parsed } from './outputs';

const bin = mkdtempSync(join(tmpdir(), 'fake-helm-'));
const STATE = join(bin, 'state.json');
const CALLS = join(bin, 'calls.jsonl');
const savedPath = process.env.PATH;

const FAKE_HELM = `#!${process.execPath}
const fs = require('node:fs');
const path = require('node:path');
const args = process.argv.slice(2);
fs.appendFileSync(path.join(__dirname, 'calls.jsonl'), JSON.stringify(args) + '\\n');
const state = JSON.parse(fs.readFileSync(path.join(__dirname, 'state.json'), 'utf8'));
const [command, release, revision] = args;
const history = state[release];
if (!history) { process.stderr.write('Error: release: not found\\n'); process.exit(1); }
if (command === 'history') { process.stdout.write(JSON.stringify(history)); process.exit(0); }
if (command === 'rollback') {
  const target = history.find((entry) => entry.revision === Number(revision));
  for (const entry of history) if (entry.status === 'deployed') entry.status = 'superseded';
  history.push({ ...target, revision: history.length + 1, status: 'deployed', updated: 'now', description: 'Rollback to ' + revision });
  fs.writeFileSync(path.join(__dirname, 'state.json'), JSON.stringify(state));
  process.stdout.write('Rollback was a success! Happy Helming!\\n');
  process.exit(0);
}
process.stderr.write('Error: unknown command ' + command + '\\n');
process.exit(1);
`;

const entry = (revision: number, status: string, chart: string, app: string) => ({
  revision,
  updated: `2026-11-2${revision}T10:00:00Z`,
  status,
  chart,
  app_version: app,
  description: revision === 1 ? 'Install complete' : 'Upgrade complete',
});

function calls(): string[][] {
  return readFileSync(CALLS, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as string[]);
}

/** No cluster: the fake helm is all the step talks to. */
const run = async (inputs: Record<string, string>) =>
  parsed(
    await runAction(rollback, inputs, {
      context: { env: { GITHUB_ACTOR: 'octocat' }, inputs: { mode: 'helm', namespace: 'platform' } },
    }),
  );

beforeAll(() => {
  writeFileSync(join(bin, 'helm'), FAKE_HELM);
  chmodSync(join(bin, 'helm'), 0o755);
  process.env.PATH = `${bin}${delimiter}${savedPath}`;
});
afterAll(() => {
  process.env.PATH = savedPath;
});
beforeEach(() => {
  writeFileSync(CALLS, '');
  writeFileSync(
    STATE,
    JSON.stringify({
      'api-platform': [
        entry(1, 'superseded', 'api-platform-1.0.0', '1.0.0'),
        entry(2, 'superseded', 'api-platform-1.1.0', '1.1.0'),
        entry(3, 'failed', 'api-platform-1.2.0', '1.2.0'),
        entry(4, 'deployed', 'api-platform-1.3.0', '1.3.0'),
      ],
    }),
  );
});

describe('rollback action, mode helm', () => {
  it('rolls back to the newest earlier revision that served, skipping a failed one, and waits', async () => {
    const { code, restored, rt } = await run({ release: 'api-platform', timeout: '5m', reason: 'p99 over 2 s' });
    expect(code).toBe(0);
    expect(calls()).toEqual([
      ['history', 'api-platform', '--namespace', 'platform', '--max', '256', '--output', 'json'],
      ['rollback', 'api-platform', '2', '--namespace', 'platform', '--wait', '--timeout', '300s'],
      ['history', 'api-platform', '--namespace', 'platform', '--max', '256', '--output', 'json'],
    ]);
    expect(restored['api-platform']).toEqual({
      before: { revision: 4, chart: 'api-platform-1.3.0', appVersion: '1.3.0' },
      after: { revision: 5, chart: 'api-platform-1.1.0', appVersion: '1.1.0' },
      outcome: 'restored',
    });
    expect(rt.flushedSummary).toContain('Rolled back: release `api-platform` in `platform`');
    expect(rt.flushedSummary).toMatch(/\| now running \| 5 \| api-platform-1.1.0 \| 1.1.0 \| deployed \|/);
  });

  it('rolls back to a named revision', async () => {
    const { code } = await run({ release: 'api-platform', 'to-revision': '1' });
    expect(code).toBe(0);
    expect(calls()[1]).toEqual([
      'rollback',
      'api-platform',
      '1',
      '--namespace',
      'platform',
      '--wait',
      '--timeout',
      '1800s',
    ]);
  });

  it('lists the revisions when the one asked for does not exist, and runs no rollback', async () => {
    const { code, rt } = await run({ release: 'api-platform', 'to-revision': '7' });
    expect(code).toBe(1);
    expect(rt.lines('error').join('\n')).toContain(
      'Revision 7 of Helm release "api-platform" does not exist; revisions: 1, 2, 3, 4',
    );
    expect(calls().map((args) => args[0])).toEqual(['history']);
  });

  it('says which release Helm does not know', async () => {
    const { code, rt } = await run({ release: 'api-platfrom' });
    expect(code).toBe(1);
    expect(rt.lines('error').join('\n')).toContain('Helm does not know release "api-platfrom" in namespace "platform"');
  });

  it('plans without rolling back on dry-run', async () => {
    const { code, result } = await run({ release: 'api-platform', 'dry-run': 'true' });
    expect(code).toBe(0);
    expect(result.verdict).toBe('planned');
    expect(calls().map((args) => args[0])).toEqual(['history']);
  });

  it('requires the release input', async () => {
    const { code, rt } = await run({});
    expect(code).toBe(1);
    expect(rt.lines('error').join('\n')).toContain("Input 'release': is required with mode: helm");
  });
});

describe('HelmCli', () => {
  it('says how to install helm when it is missing', async () => {
    const helm = new HelmCli({ bin: join(bin, 'no-such-helm') });
    await expect(helm.history('web', 'default')).rejects.toThrow(/helm was not found/);
  });

  it('passes the cluster to helm as --kubeconfig and --kube-context', async () => {
    const helm = new HelmCli({ bin: join(bin, 'helm'), kubeconfigPath: '/tmp/kc', context: 'prod' });
    await helm.history('api-platform', 'platform');
    expect(calls()[0]).toEqual([
      'history',
      'api-platform',
      '--namespace',
      'platform',
      '--max',
      '256',
      '--output',
      'json',
      '--kubeconfig',
      '/tmp/kc',
      '--kube-context',
      'prod',
    ]);
  });
});
