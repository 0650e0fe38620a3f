/**
 * exportVariable on every adapter: the variable is set in the runtime's env and, when the runner gives a
 * GITHUB_ENV file, appended there as a `name<<delimiter` block the runner (and the local workflow runner)
 * reads back whole — multi-line values and values that look like delimiters included; secrets go out as ***.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createGitHubRuntime,
  createMemoryRuntime,
  createTerminalRuntime,
  type Runtime,
} from '@deploy-actions/core/runtime';
import { parseFileCommands } from '@deploy-actions/dispatch/workflow/commands';
import { describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'runtime-env-'));
let files = 0;
function envFile(): string {
  const path = join(dir, `env-${files++}`);
  writeFileSync(path, '');
  return path;
}

/** Values that would break a naive `name=value` or fixed-delimiter file. */
const TRICKY = {
  MULTI: 'line one\nline two\n',
  FAKE_DELIMITER: 'a\nghadelimiter_00000000-0000-0000-0000-000000000000\nEOF\nINJECTED<<EOF\nb',
  EQUALS: 'x=y',
};

const adapters: [string, (env: Record<string, string | undefined>) => Runtime][] = [
  ['github', (env) => createGitHubRuntime({ env, write: () => {}, handleSignals: false })],
  ['terminal', (env) => createTerminalRuntime({ args: {}, env, out: () => {}, err: () => {}, handleSignals: false })],
  ['memory', (env) => createMemoryRuntime({ env })],
];

describe.each(adapters)('exportVariable (%s runtime)', (_name, create) => {
  it('appends each variable to GITHUB_ENV as the runner reads it, and sets it in env', () => {
    const path = envFile();
    const env: Record<string, string | undefined> = { GITHUB_ENV: path };
    const rt = create(env);
    for (const [name, value] of Object.entries(TRICKY)) rt.exportVariable(name, value);
    const written = readFileSync(path, 'utf8');
    expect(parseFileCommands(written)).toEqual(TRICKY);
    // A fresh random delimiter per variable.
    const delimiters = [...written.matchAll(/^\w+<<(ghadelimiter_\S+)$/gm)].map((m) => m[1]);
    expect(new Set(delimiters).size).toBe(3);
    expect(rt.env.MULTI).toBe(TRICKY.MULTI);
    expect(rt.env.EQUALS).toBe('x=y');
    expect(process.env.MULTI).toBeUndefined();
  });

  it('never exports a registered secret', () => {
    const path = envFile();
    const rt = create({ GITHUB_ENV: path });
    rt.mask('s3cr3t-token');
    rt.exportVariable('DB_URL', 'postgres://app:s3cr3t-token@db/app');
    expect(readFileSync(path, 'utf8')).not.toContain('s3cr3t-token');
    expect(parseFileCommands(readFileSync(path, 'utf8'))).toEqual({ DB_URL: 'postgres://app:***@db/app' });
    expect(rt.env.DB_URL).toBe('postgres://app:***@db/app');
  });

  it('without GITHUB_ENV sets the variable for this step only', () => {
    const env: Record<string, string | undefined> = {};
    const rt = create(env);
    rt.exportVariable('IMAGE_TAG', 'v7');
    expect(rt.env.IMAGE_TAG).toBe('v7');
  });

  it('refuses a name a later step could not read (and writes nothing)', () => {
    const path = envFile();
    const rt = create({ GITHUB_ENV: path });
    for (const name of ['', 'A<<B', 'A\nB', 'A=B', '1ST'])
      expect(() => rt.exportVariable(name, 'v')).toThrow(/not a variable name .*e\.g\. IMAGE_TAG/);
    expect(readFileSync(path, 'utf8')).toBe('');
  });
});
