/**
 * rollback, mode helm, with `verify` and `database-restore`. A small fake `helm` (history and rollback of
 * one release, kept in a file) stands in for Helm, as in helm.test.ts: it only lets us see which helm
 * commands ran and what the step did after them; it proves nothing about Helm.
 */

import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { runAction } from '@deploy-actions/testkit/cluster';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import rollback from '../src/main';

const bin = mkdtempSync(join(tmpdir(), 'fake-helm-verify-'));
const savedPath = process.env.PATH;
let app: Server;
let base = '';
/** The version the app answers on /version: the fake helm's rollback puts 1.1.0 back. */
let serving = '1.2.0';

const FAKE_HELM = `#!${process.execPath}
const fs = require('node:fs');
const path = require('node:path');
const args = process.argv.slice(2);
fs.appendFileSync(path.join(__dirname, 'calls.jsonl'), JSON.stringify(args) + '\\n');
const file = path.join(__dirname, 'history.json');
const history = JSON.parse(fs.readFileSync(file, 'utf8'));
if (args[0] === 'history') { process.stdout.write(JSON.stringify(history)); process.exit(0); }
if (args[0] === 'rollback') {
  const target = history.find((entry) => entry.revision === Number(args[2]));
  for (const entry of history) entry.status = 'superseded';
  history.push({ ...target, revision: history.length + 1, status: 'deployed', description: 'Rollback to ' + args[2] });
  fs.writeFileSync(file, JSON.stringify(history));
  process.exit(0);
}
process.exit(1);
`;

const revision = (n: number, status: string, app: string) => ({
  revision: n,
  updated: `2026-11-2${n}T10:00:00Z`,
  status,
  chart: `shop-${app}`,
  app_version: app,
  description: 'Upgrade complete',
});

const calls = () =>
  readFileSync(join(bin, 'calls.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line)[0] as string);

const run = (inputs: Record<string, string>) =>
  runAction(rollback, inputs, {
    context: { env: { GITHUB_ACTOR: 'octocat' }, inputs: { mode: 'helm', namespace: 'platform', release: 'shop' } },
  });

beforeAll(async () => {
  writeFileSync(join(bin, 'helm'), FAKE_HELM);
  chmodSync(join(bin, 'helm'), 0o755);
  process.env.PATH = `${bin}${delimiter}${savedPath}`;
  app = createServer((_req, res) => res.end(JSON.stringify({ version: serving })));
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
});
afterAll(async () => {
  process.env.PATH = savedPath;
  await new Promise<void>((resolve) => app.close(() => resolve()));
});
beforeEach(() => {
  writeFileSync(join(bin, 'calls.jsonl'), '');
  writeFileSync(
    join(bin, 'history.json'),
    JSON.stringify([revision(1, 'superseded', '1.1.0'), revision(2, 'deployed', '1.2.0')]),
  );
});

const versionCheck = (version: string) =>
  `[{ name: version, request: { url: "${base}/version" }, expect: { json: { "$.version": { equals: "${version}" } } } }]`;

describe('rollback mode helm, verify', () => {
  it('runs the checks after helm rollback --wait and adds them to the summary', async () => {
    serving = '1.1.0';
    const { code, errors, outputs, summary } = await run({ verify: versionCheck('1.1.0') });
    expect(errors).toEqual([]);
    expect(code).toBe(0);
    expect(calls()).toEqual(['history', 'rollback', 'history']);
    expect(JSON.parse(outputs['result'] ?? '{}')).toMatchObject({
      verdict: 'rolled-back',
      verification: { passed: true },
    });
    expect(summary).toContain('Verification after the rollback: 1 passed, 0 failed');
    expect(outputs['restored-images']).toBe('shop: rev 2 shop-1.2.0 (app 1.2.0) → rev 3 shop-1.1.0 (app 1.1.0)');
  });

  it('fails the step, saying it rolled back, when the restored release does not pass them', async () => {
    serving = '1.2.0';
    const { code, errors } = await run({ verify: versionCheck('1.1.0') });
    expect(code).toBe(1);
    expect(calls()).toEqual(['history', 'rollback', 'history']);
    expect(errors.at(-1)).toMatch(/^Rolled back, but verification failed: version: /);
  });
});

describe('rollback mode helm, database-restore', () => {
  it('is refused before helm runs: scaling the release to 0 is not ours to do', async () => {
    const { code, errors } = await run({
      'database-restore': '{ cronjob: db-restore }',
      'confirm-database-restore': 'true',
    });
    expect(code).toBe(1);
    expect(errors.join('\n')).toMatch(
      /^Input 'database-restore': is not supported with mode: helm: the release's workloads are Helm's to scale, not ours.*Restore the data in its own step first/,
    );
    expect(calls()).toEqual([]);
  });
});
