/** The CLI runs the committed bundle with flags; --help and flag checks come from action.yml. */
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { manifest, root } from './support/repo';

const run = async (...args: string[]) => {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [join(root, 'bin/deploy-actions.js'), ...args],
      {
        env: { PATH: process.env.PATH, HOME: process.env.HOME },
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
};

describe('deploy-actions CLI', () => {
  it('lists the commands', async () => {
    const r = await run('--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      'Commands: preflight, build-tag, migrate, canary-promote, smoke, rollback, release-notes',
    );
  });

  it('prints --help per command from action.yml: every input with its default', async () => {
    const r = await run('canary-promote', '--help');
    expect(r.code).toBe(0);
    for (const name of Object.keys(manifest('canary-promote').inputs)) expect(r.stdout).toContain(`--${name}`);
    expect(r.stdout).toContain('--steps (default: "5,25,50,100")');
  });

  it('rejects an unknown flag with the list of valid ones', async () => {
    const r = await run('smoke', '--urll', 'https://x');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Unknown flag --urll. Valid flags: --spec, --url,');
  });

  it('refuses a bad input in one line naming it', async () => {
    const r = await run('canary-promote', '--deployments', 'web', '--pause', '5 minutes');
    expect(r.code).toBe(1);
    const errors = `${r.stdout}${r.stderr}`.split('\n').filter((line) => line.includes("Input 'pause'"));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('"5 minutes"');
  });

  it('runs an action and prints its outputs and result', async () => {
    const server = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`;
      const r = await run('smoke', '--url', url);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('passed=1');
      expect(r.stdout).toContain('result=');
      expect(r.stdout).toContain('"action":"smoke"');
    } finally {
      server.close();
    }
  });

  it('an action that fails exits 1 with its error line and the result document', async () => {
    const r = await run('rollback', '--deployments', 'web', '--mode', 'github', '--reason', 'errors after v2');
    expect(r.code).toBe(1);
    expect(`${r.stdout}${r.stderr}`).toContain("Input 'environment': is required with mode: github");
    expect(r.stdout).toContain('"verdict":"failure"');
  });

  it('rejects an unknown command', async () => {
    const r = await run('deploy');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Unknown command "deploy"');
  });
});
