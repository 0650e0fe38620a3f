/**
 * `npm run demo` as a user reads it: the market app's pipeline run (not on a terminal) and its verdict table
 * checked: the good release promoted, the bad one aborted while the stable served, the rollback done, and
 * all seven actions run (or skipped with the reason, only for a service this machine lacks). The demo runs
 * the bundles in dist/ (or DEPLOY_ACTIONS_DIST's build).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { postgresMissing } from '@deploy-actions/testkit/postgres';
import { prometheusMissing } from '@deploy-actions/testkit/prometheus';
import { registryMissing } from '@deploy-actions/testkit/registry';
import { beforeAll, describe, expect, it } from 'vitest';
import { splitOutputs } from '../scripts/demo/cli';
import { p99Ms, parseExposition } from '../scripts/demo/metrics';
import { chart } from '../scripts/demo/progress';
import { root } from './support/repo';

interface Row {
  release: string;
  action: string;
  verdict: string;
  detail: string;
}

/** The verdict table's rows (`| release | action | ✔ verdict | detail |`). */
function rows(stdout: string): Row[] {
  return stdout
    .split('\n')
    .filter((line) => /^\| (setup|release \d)/.test(line))
    .map((line) => {
      const [release, action, verdict, detail] = line
        .slice(2, -2)
        .split(/(?<!\\) \| /)
        .map((c) => c.trim());
      return { release: release!, action: action!, verdict: verdict!, detail: detail! };
    });
}

describe('npm run demo', () => {
  let stdout = '';
  let table: Row[] = [];
  const row = (release: string, action: string) => {
    const found = table.find((r) => r.release.startsWith(release) && r.action === action);
    if (!found) throw new Error(`no ${release} ${action} row in:\n${stdout}`);
    return found;
  };

  beforeAll(async () => {
    const run = await promisify(execFile)(join(root, 'node_modules', '.bin', 'tsx'), ['scripts/demo.ts'], {
      cwd: root,
      maxBuffer: 64 * 1024 * 1024,
      timeout: 280_000,
    });
    stdout = run.stdout;
    table = rows(stdout);
  }, 300_000);

  it('promotes the good release 5 → 25 → 50 → 100 after preflight, migrate, and with smoke and release notes', () => {
    expect(row('release 1', 'build-tag').verdict).toBe('✔ v1.1.0 (minor)');
    expect(row('release 1', 'preflight').verdict).toBe('✔ passed');
    expect(row('release 1', 'canary-promote').verdict).toBe('✔ promoted');
    expect(row('release 1', 'canary-promote').detail).toMatch(/deployment\/market runs \S+:v1\.1\.0$/);
    expect(row('release 1', 'smoke').detail).toBe('2 passed, 0 failed');
    expect(row('release 1', 'release-notes').verdict).toBe('✔ 2 changes');
    expect(stdout).toContain('### Features\n\n- **orders:** buyers can place orders');
    // The progress while the canary ran: plain lines (no terminal), the weights it passed through.
    expect(stdout).not.toContain('\r');
    for (const weight of [5, 25, 50, 100]) expect(stdout).toMatch(new RegExp(`canary v1\\.1\\.0 · weight ${weight}%`));
    expect(stdout).toContain('release 1 (good): canary v1.1.0 — weight and error rate over time');
  });

  it('aborts the bad release on its error rate while the stable keeps serving, and rolls back', () => {
    const aborted = row('release 2', 'canary-promote');
    expect(aborted.verdict).toBe('✔ aborted');
    expect(aborted.detail).toMatch(/^Aborted because step 1 \(5%\): (error-rate|latency-p99-ms) was/);
    expect(aborted.detail).toMatch(/ at weight 5 % /);
    const served = /the stable (\S+) served ≥ (\d+) % of the requests throughout/.exec(aborted.detail);
    expect(served?.[1]).toMatch(/:v1\.1\.0$/);
    expect(Number(served?.[2])).toBeGreaterThanOrEqual(85);
    const rollback = row('release 2', 'rollback');
    expect(rollback.verdict).toBe('✔ done');
    expect(rollback.detail).toMatch(/^deployment\/market runs \S+:v1\.1\.0; /);
    if (postgresMissing() === undefined)
      expect(rollback.detail).toContain("(listings.seller of v1.2.0's migration is gone)");
    else expect(rollback.detail).toContain('database restore skipped');
  });

  it('runs all seven actions; only a missing service is skipped, with the reason', () => {
    const actions = ['build-tag', 'preflight', 'migrate', 'canary-promote', 'smoke', 'release-notes', 'rollback'];
    expect(new Set(table.map((r) => r.action))).toEqual(new Set(actions));
    expect(table.filter((r) => !r.verdict.startsWith('✔') && !r.verdict.startsWith('○'))).toEqual([]);
    const skipped = table.filter((r) => r.verdict === '○ skipped');
    if (postgresMissing() === undefined) {
      expect(skipped).toEqual([]);
      expect(stdout).toContain('All seven actions ran');
      expect(row('release 2', 'migrate').detail).toMatch(/^V3__listings_seller\.sql; backup backups\/.+\.dump$/);
    } else {
      expect(skipped.map((r) => r.action)).toEqual(['migrate', 'migrate']);
      expect(skipped[0]!.detail).toContain('apt-get install postgresql');
    }
    if (prometheusMissing() === undefined)
      expect(stdout).toMatch(/^analysis: Prometheus at http:\/\/127\.0\.0\.1:\d+/m);
    else expect(stdout).toContain('analysis: the live metrics above (Prometheus skipped');
    if (registryMissing() === undefined) expect(row('release 1', 'build-tag').detail).toMatch(/retagged as v1\.1\.0/);
    else expect(row('release 1', 'build-tag').detail).toContain('promote by retag skipped');
  });
});

describe('the demo’s parts', () => {
  it('reads the canary’s error rate and p99 from the exposition format as histogram_quantile does', () => {
    const text = [
      'http_requests_total{namespace="prod",app="market",version="v2",pod="a",code="200"} 97',
      'http_requests_total{namespace="prod",app="market",version="v2",pod="a",code="500"} 3',
      ...[
        ['0.5', 90],
        ['1', 98],
        ['2.5', 100],
        ['+Inf', 100],
      ].map(
        ([le, n]) =>
          `http_request_duration_seconds_bucket{namespace="prod",app="market",version="v2",pod="a",le="${le}"} ${n}`,
      ),
    ].join('\n');
    const v2 = parseExposition(text).get('v2')!;
    expect([v2.requests, v2.errors]).toEqual([100, 3]);
    // rank 99 falls in (1, 2.5]: 98 below, 2 inside → 1 + 1.5 × (1 / 2) = 1.75 s.
    expect(p99Ms(v2.buckets)).toBe(1750);
  });

  it('splits the CLI’s outputs from its log, multi-line ones too', () => {
    expect(splitOutputs('== Step 1\nresult=aborted\nnotes<<EOF\na\nb=c\nEOF\nerror: x\n')).toEqual({
      outputs: { result: 'aborted', notes: 'a\nb=c' },
      log: ['== Step 1', 'error: x'],
    });
  });

  it('charts the weight and marks the samples whose error rate is over the limit', () => {
    const samples = [0, 10, 10, 0].map((weight, i) => ({
      t: i,
      step: 'x',
      weight,
      errorRate: i === 2 ? 5 : 0,
      p99Ms: 1,
      stableShare: 100 - weight,
    }));
    const lines = chart(samples, 'title').split('\n');
    expect(lines[10]).toMatch(/^ {5}│ *█+ *$/);
    expect(lines[12]).toContain('▲');
    expect(lines[12]).toContain('·');
  });
});
