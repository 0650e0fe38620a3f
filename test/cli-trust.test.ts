/**
 * Issue #17, output a person can trust, on the CLI (runCli in process, from source): the job summary goes where
 * GITHUB_STEP_SUMMARY points; on a terminal a long JSON output is named, not printed on one line; a workflow
 * naming an action that does not exist is one line; a relative --workspace works; a kubeconfig whose server
 * cannot be reached names that server instead of "fetch failed".
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createTerminalRuntime } from '@deploy-actions/core/runtime';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../packages/dispatch/src/cli';

let server: Server;
let base: string;
const dir = mkdtempSync(join(tmpdir(), 'cli-trust-'));

beforeAll(async () => {
  server = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
});

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (t) => out.push(t), err: (t) => err.push(t), env: process.env });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('the job summary', () => {
  it('is appended where GITHUB_STEP_SUMMARY points', async () => {
    const file = join(dir, 'step-summary.md');
    writeFileSync(file, '# earlier step\n');
    vi.stubEnv('GITHUB_STEP_SUMMARY', file);
    const run = await cli('smoke', '--url', `${base}/health`, '--retries', '0');
    vi.unstubAllEnvs();
    expect(run.code).toBe(0);
    const written = readFileSync(file, 'utf8');
    expect(written.startsWith('# earlier step\n')).toBe(true);
    expect(written).toContain('Smoke checks: 1');
  });

  it('on a terminal, a long JSON output is named, not printed on one line', async () => {
    const lines: string[] = [];
    const rt = createTerminalRuntime({
      args: {},
      out: (line) => lines.push(line),
      err: (line) => lines.push(line),
      env: {},
      handleSignals: false,
      tty: true,
    });
    const report = JSON.stringify({ checks: Array.from({ length: 20 }, (_, i) => ({ name: `check-${i}` })) });
    rt.setOutput('report', report);
    rt.setOutput('passed', '20');
    expect(lines).toEqual([`report: JSON, ${report.length} characters (the summary below says the same)`, 'passed=20']);
  });
});

describe('run-workflow', () => {
  it('a mistyped action name is one line naming it, not a stack trace', async () => {
    const file = join(dir, 'typo.yml');
    writeFileSync(
      file,
      'on: push\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: org/deploy-actions/actions/canry-promote@v1\n',
    );
    const run = await cli('run-workflow', file);
    expect(run.code).toBe(1);
    expect(run.err.split('\n')).toHaveLength(1);
    expect(run.err).toMatch(
      /^error: .*typo\.yml, job "deploy", step ".*": uses: org\/deploy-actions\/actions\/canry-promote@v1: there is no action "canry-promote"; the actions are .*canary-promote/,
    );
  });

  it('takes a relative --workspace', async () => {
    const workspace = join(dir, 'ws');
    mkdirSync(workspace, { recursive: true });
    const file = join(workspace, 'smoke.yml');
    writeFileSync(
      file,
      `on: push\njobs:\n  check:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: org/deploy-actions/actions/smoke@v1\n        with:\n          url: ${base}/health\n          retries: 0\n`,
    );
    const run = await cli('run-workflow', file, '--workspace', relative(process.cwd(), workspace));
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    expect(run.out).toContain('success');
  });
});

describe('a kubeconfig pointing nowhere', () => {
  it('names the server that could not be reached', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const kubeconfig = join(dir, 'nowhere.yaml');
    writeFileSync(
      kubeconfig,
      `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:${port}\ncontexts:\n- name: c\n  context: {cluster: c, user: u, namespace: shop}\ncurrent-context: c\nusers:\n- name: u\n  user: {token: abc}\n`,
    );
    const run = await cli('rollback', '--kubeconfig', kubeconfig, '--deployments', 'web');
    expect(run.code).toBe(1);
    const errors = run.err.split('\n').filter((line) => line.startsWith('error:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(`Kubernetes API server https://127.0.0.1:${port} could not be reached`);
    expect(run.err).not.toContain('fetch failed');
  });
});
