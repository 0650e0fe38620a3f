/**
 * preflight's gates that need no service (window, coverage, security), the policy file and its schema, and
 * bad input refused before any gate runs: through the action, on a virtual clock.
 */
import { readFileSync, utimesSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generated } from './generated';
import { gate, run, workspace } from './support';

describe('window gate', () => {
  it('closed on a Friday afternoon in New York: the message names the next open window', async () => {
    // Fri 2026-12-11 21:00 UTC is 16:00 EST, the end of Thursday's window has long passed.
    const result = await run({ window: 'Mon-Thu 09:00-16:00 America/New_York' }, { at: '2026-12-11T21:00:00Z' });
    expect(result.code).toBe(1);
    const window = gate(result, 'window');
    expect(window).toMatchObject({ status: 'fail', value: 'closed', limit: 'Mon-Thu 09:00-16:00 America/New_York' });
    expect(window.message).toBe(
      'Outside the deployment window (now Fri 2026-12-11 16:00 America/New_York); next open window: Mon 2026-12-14 09:00 America/New_York (in 2d17h)',
    );
    expect(result.outputs['window']).toBe('fail');
    expect(result.errors.at(-1)).toContain('1 required gate(s) failed: window (Outside the deployment window');
  });

  it('open inside the window; the next open window after a DST change is at local 09:00', async () => {
    const open = await run({ window: 'Mon-Thu 09:00-16:00 America/New_York' }, { at: '2026-12-10T15:30:00Z' });
    expect(open.code).toBe(0);
    expect(gate(open, 'window')).toMatchObject({ status: 'pass', value: 'open' });
    // Thu 2027-03-11 17:00 EST; clocks go forward on Sunday 03-14: Monday 09:00 is EDT, 13:00 UTC.
    const closed = await run({ window: 'Mon-Thu 09:00-16:00 America/New_York' }, { at: '2027-03-11T22:00:00Z' });
    expect(gate(closed, 'window').details.nextOpen).toBe('2027-03-15T13:00:00.000Z');
  });

  it('a freeze closes an open window until its last day is over, then the next window opens', async () => {
    const result = await run(
      { window: '02:00-06:00 UTC', freeze: '2026-12-20..2027-01-02 Europe/Berlin (year-end freeze)' },
      { at: '2026-12-22T03:00:00Z' },
    );
    const window = gate(result, 'window');
    expect(window.value).toBe('frozen');
    expect(window.message).toContain('Deployments are frozen (2026-12-20..2027-01-02 Europe/Berlin: year-end freeze)');
    // Berlin's 2027-01-03 00:00 is 2027-01-02 23:00 UTC, outside 02:00-06:00 UTC: the window at 02:00 is next.
    expect(window.details.nextOpen).toBe('2027-01-03T02:00:00.000Z');
  });

  it('windows that cross midnight', async () => {
    const late = await run({ window: 'Fri 22:00-02:00 Europe/London' }, { at: '2026-12-12T01:30:00Z' });
    expect(gate(late, 'window').status).toBe('pass');
    const after = await run({ window: 'Fri 22:00-02:00 Europe/London' }, { at: '2026-12-12T02:30:00Z' });
    expect(gate(after, 'window').details.nextOpen).toBe('2026-12-18T22:00:00.000Z');
  });
});

describe('coverage gate', () => {
  it('reads lcov, Cobertura XML and istanbul json-summary as the tools write them', async () => {
    const lcov = await run({ 'coverage-report': 'reports/lcov.info' });
    expect(gate(lcov, 'coverage')).toMatchObject({ status: 'pass', value: '85%', limit: '>= 80% lines' });
    expect(gate(lcov, 'coverage').message).toContain('(17 of 20)');
    const cobertura = await run({ 'coverage-report': 'reports/cobertura.xml', 'coverage-min': '80%' });
    expect(cobertura.code).toBe(1);
    expect(gate(cobertura, 'coverage')).toMatchObject({ status: 'fail', value: '71%' });
    const summary = await run({ 'coverage-report': 'reports/coverage-summary.json', 'coverage-min': '86' });
    expect(gate(summary, 'coverage')).toMatchObject({ status: 'pass', value: '86%', limit: '>= 86% lines' });
  });

  it('Cobertura XML is read whole: a broken tag in the middle, a stray "&", another root element are named at their line', async () => {
    const xml = readFileSync(new URL('./fixtures/cobertura.xml', import.meta.url), 'utf8');
    const check = async (text: string) =>
      (await run({ 'coverage-report': 'c.xml' }, { workspace: workspace({ 'c.xml': text }) })).errors[0];
    // The root element and its closing tag are intact; only the body is broken.
    expect(await check(xml.replace('<line number="2" hits="0"/>', '<line number="2" hits="0">'))).toBe(
      'c.xml:15: </lines> closes <line> opened on line 14',
    );
    expect(await check(xml.replace('<source>/home/runner/work/shop/shop', '<source>/home/R&D/shop'))).toMatch(
      /^c\.xml:5: "&" that starts no entity/,
    );
    expect(await check(xml.replace('hits="1"', 'hits=1'))).toMatch(/^c\.xml:13: <line> has a malformed attribute/);
    expect(await check(`${xml}<coverage line-rate="1"></coverage>\n`)).toMatch(
      /^c\.xml:21: <coverage> after the root element was closed/,
    );
    expect(await check(xml.replace(/coverage/g, 'report'))).toBe(
      'c.xml:3: the root element is <report>, not <coverage> (not a Cobertura report)',
    );
    expect(await check(xml.replace('lines-covered="142"', 'lines-covered="242"'))).toMatch(
      /^c\.xml:3: <coverage> lines-covered="242" of lines-valid="200" are not counts/,
    );
  });

  it('Cobertura: branches from the counts, a rate-only report from line-rate, no function coverage', async () => {
    const xml = readFileSync(new URL('./fixtures/cobertura.xml', import.meta.url), 'utf8');
    const policy = (metric: string) =>
      `defaults:\n  gates:\n    coverage: { report: c.xml, min: 70%, metric: ${metric} }\n`;
    const branches = await run(
      {},
      { workspace: workspace({ 'c.xml': xml, '.github/deploy-policy.yml': policy('branches') }) },
    );
    expect(gate(branches, 'coverage')).toMatchObject({ status: 'pass', value: '75%', limit: '>= 70% branches' });
    expect(gate(branches, 'coverage').message).toContain('(30 of 40)');
    // Writers that give only the rates (no lines-valid/lines-covered on the root).
    const rateOnly = xml.replace(' lines-valid="200" lines-covered="142"', '');
    const rate = await run(
      { 'coverage-report': 'c.xml', 'coverage-min': '70' },
      { workspace: workspace({ 'c.xml': rateOnly }) },
    );
    expect(gate(rate, 'coverage')).toMatchObject({ status: 'pass', value: '71%' });
    const functions = await run(
      {},
      { workspace: workspace({ 'c.xml': xml, '.github/deploy-policy.yml': policy('functions') }) },
    );
    expect(functions.errors[0]).toBe(
      'c.xml:3: Cobertura reports have no function coverage: use metric lines or branches',
    );
  });

  it('a malformed report is refused before any gate runs, naming file and line', async () => {
    const requests: string[] = [];
    const server = http.createServer((req, res) => {
      requests.push(req.url ?? '');
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`;
    try {
      const lines = readFileSync(new URL('./fixtures/lcov.info', import.meta.url), 'utf8').split('\n');
      lines.splice(6, 1, 'this is not lcov');
      const dir = workspace({ 'coverage/lcov.info': lines.join('\n') });
      const result = await run({ 'coverage-report': 'coverage/lcov.info', url }, { workspace: dir });
      expect(result.code).toBe(1);
      expect(result.errors[0]).toBe(
        'coverage/lcov.info:7: is not an lcov line (KEY:value or end_of_record): "this is not lcov"',
      );
      expect(requests).toEqual([]);
      // Nothing ran: the result says why, and has no gates.
      expect(JSON.parse(result.outputs['result']!)).toMatchObject({ verdict: 'failure', error: result.errors[0] });
      expect(result.document.gates).toBeUndefined();

      const cut = readFileSync(new URL('./fixtures/coverage-summary.json', import.meta.url), 'utf8').slice(0, 200);
      const truncated = await run({ 'coverage-report': 'c.json' }, { workspace: workspace({ 'c.json': cut }) });
      const lastLine = cut.split('\n').length;
      expect(truncated.errors[0]).toMatch(
        new RegExp(
          `^c\\.json:${lastLine}: is not valid istanbul json-summary JSON \\(column \\d+\\): .* got end of file \\(is the file cut short\\?\\)`,
        ),
      );
    } finally {
      server.close();
    }
  });
});

describe('manifests gate without a cluster', () => {
  it('objects of kinds with no offline schema are a warning that names the kinds, not a silent pass', async () => {
    const files = {
      'k8s/app.yaml': `apiVersion: apps/v1
kind: Deployment
metadata: { name: api }
spec:
  selector: { matchLabels: { app: api } }
  template:
    metadata: { labels: { app: api } }
    spec:
      containers: [{ name: api, image: "ghcr.io/acme/api:v1" }]
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: { name: fast }
provisioner: ebs.csi.aws.com
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: { name: api-tls }
spec: { secretName: api-tls, dnsNames: [api.example.com], issuerRef: { name: letsencrypt } }
`,
    };
    const result = await run({ gates: 'manifests', manifests: 'k8s/' }, { workspace: workspace(files) });
    expect(result.code).toBe(0);
    const manifests = gate(result, 'manifests');
    expect(manifests.status).toBe('warn');
    expect(manifests.message).toBe(
      '1 of 3 object(s) in 1 file(s) valid (schema); 2 object(s) NOT validated: no offline schema for storage.k8s.io/v1/StorageClass, cert-manager.io/v1/Certificate (offline schemas cover 22 built-in kinds; give a cluster for a server dry-run)',
    );
    expect(manifests.details.withoutOfflineSchema).toEqual({
      'storage.k8s.io/v1/StorageClass': 1,
      'cert-manager.io/v1/Certificate': 1,
    });
  });
});

describe('malformed reports name their file and line', () => {
  it('a Cobertura report cut short, a SARIF file whose results are not a list', async () => {
    const xml = readFileSync(new URL('./fixtures/cobertura.xml', import.meta.url), 'utf8');
    const cut = xml.split('\n').slice(0, 12).join('\n');
    const cobertura = await run({ 'coverage-report': 'c.xml' }, { workspace: workspace({ 'c.xml': cut }) });
    expect(cobertura.errors[0]).toBe('c.xml:12: the file ends before <lines> (line 12) is closed (is it cut short?)');
    const sarif = readFileSync(new URL('./fixtures/results.sarif', import.meta.url), 'utf8')
      .replace('"results": [', '"results": {"first": [')
      .replace(/\]\s*\}\s*\]\s*\}\s*$/, ']}}]}');
    const broken = await run({ 'security-reports': 'r.sarif' }, { workspace: workspace({ 'r.sarif': sarif }) });
    expect(broken.errors[0]).toMatch(/^r\.sarif:\d+: results must be a list/);
    const unknown = await run(
      { 'security-reports': 'x.json' },
      { workspace: workspace({ 'x.json': '{"scanner": "other"}' }) },
    );
    expect(unknown.errors[0]).toContain(
      'x.json:1: is not a SARIF, Trivy JSON, Grype JSON or `npm audit --json` report',
    );
  });
});

describe('security gate', () => {
  it('Trivy, Grype, SARIF and npm audit findings at or above the severity fail; lower ones do not', async () => {
    const trivy = await run({ 'security-reports': 'reports/trivy.json' });
    expect(gate(trivy, 'security')).toMatchObject({
      status: 'fail',
      value: '1 critical, 1 high',
      limit: 'none >= high',
    });
    expect(gate(trivy, 'security').message).toContain('CVE-2024-5535 (critical, libcrypto3@3.1.4-r5');
    const critical = await run({
      'security-reports': 'reports/trivy.json, reports/npm-audit.json',
      'security-severity': 'critical',
    });
    expect(gate(critical, 'security').value).toBe('1 critical');
    const grype = await run({ 'security-reports': 'reports/grype.json' });
    expect(gate(grype, 'security').value).toBe('1 high');
    const npm = await run({ 'security-reports': 'reports/npm-audit.json', 'security-severity': 'low' });
    expect(gate(npm, 'security').value).toBe('1 high, 1 low');
    expect(gate(npm, 'security').message).toContain('GHSA-qwcr-r2fm-qrc7');
    const sarif = await run({ 'security-reports': 'reports/results.sarif' });
    expect(gate(sarif, 'security').value).toBe('1 high');
    // SARIF findings point at their file and line.
    expect(sarif.rt.logs.find((l) => l.props?.file === 'src/orders.ts')?.props).toMatchObject({ startLine: 42 });
  });

  it('an allow-list entry lets a finding through until it expires', async () => {
    const allow = 'CVE-2024-5535 until 2027-01-31 (waiting for alpine 3.19.2)\nGHSA-9wv6-86v2-598j until 2026-11-30';
    const allowed = await run({
      'security-reports': 'reports/trivy.json',
      'security-severity': 'critical',
      'security-allow': allow,
    });
    expect(gate(allowed, 'security')).toMatchObject({ status: 'pass', value: '0 findings' });
    expect(gate(allowed, 'security').message).toContain('1 allowed by the allow-list');
    const later = await run(
      { 'security-reports': 'reports/trivy.json', 'security-severity': 'critical', 'security-allow': allow },
      { at: '2027-02-01T00:00:00Z' },
    );
    expect(gate(later, 'security').status).toBe('fail');
    expect(gate(later, 'security').message).toContain(
      'allow-list entries expired: CVE-2024-5535 (allowed until 2027-01-31)',
    );
    // Grype names the CVE as a related vulnerability: the expired GHSA entry no longer covers it.
    const grype = await run({ 'security-reports': 'reports/grype.json', 'security-allow': allow });
    expect(gate(grype, 'security').status).toBe('fail');
  });

  it('a report that is not JSON is refused with file and line', async () => {
    const text = readFileSync(new URL('./fixtures/trivy.json', import.meta.url), 'utf8').replace(
      '"Severity": "HIGH"',
      '"Severity": HIGH',
    );
    const result = await run({ 'security-reports': 'trivy.json' }, { workspace: workspace({ 'trivy.json': text }) });
    expect(result.code).toBe(1);
    expect(result.errors[0]).toMatch(
      /^trivy\.json:56: is not valid scanner report JSON \(column 23\): unexpected character "H"/,
    );
  });
});

describe('backup gate (a file)', () => {
  it('judges the backup file by its modification time', async () => {
    const dir = workspace({ 'backups/db.dump': 'PGDMP' });
    const at = '2026-12-07T12:00:00Z';
    const twoHoursBefore = new Date(Date.parse(at) - 2 * 3600_000);
    utimesSync(join(dir, 'backups/db.dump'), twoHoursBefore, twoHoursBefore);
    const policy = (age: string) => `defaults:\n  gates:\n    backup: { file: backups/db.dump, max-age: ${age} }\n`;
    writeFileSync(join(dir, 'p.yml'), policy('24h'));
    const fresh = await run({ policy: 'p.yml' }, { workspace: dir, at });
    expect(gate(fresh, 'backup')).toMatchObject({ status: 'pass', value: '2h old' });
    writeFileSync(join(dir, 'p.yml'), policy('1h'));
    const stale = await run({ policy: 'p.yml' }, { workspace: dir, at });
    expect(gate(stale, 'backup')).toMatchObject({ status: 'fail', value: '2h old', limit: 'newer than 1h' });
  });
});

describe('the policy file', () => {
  const policy = (text: string) => workspace({ '.github/deploy-policy.yml': text });

  it('picks the environment section over the defaults; optional gates warn; outputs per gate and a checklist', async () => {
    const dir = policy(`# yaml-language-server: $schema=../actions/preflight/deploy-policy.schema.json
defaults:
  gates:
    coverage: { report: reports/cobertura.xml, min: 80%, required: false }
environments:
  production:
    gates:
      window:
        allow: ["Mon-Fri 08:00-18:00 Europe/Berlin"]
      security:
        reports: [reports/npm-audit.json]
        severity: critical
  staging:
    gates:
      window: { allow: ["00:00-24:00 UTC"] }
`);
    const result = await run({ environment: 'production' }, { workspace: dir, at: '2026-12-08T10:00:00Z' });
    expect(result.code).toBe(0);
    expect(result.outputs).toMatchObject({
      window: 'pass',
      security: 'pass',
      coverage: 'warn',
      passed: '2',
      warned: '1',
      failed: '0',
    });
    expect(gate(result, 'coverage')).toMatchObject({ status: 'warn', original: 'fail', value: '71%' });
    expect(result.summary).toContain('## ⚠️ Preflight for production: 2 passed, 1 warnings, 0 failed');
    expect(result.summary).toMatch(/\| ⚠️ warn \(was fail\) \| \*\*coverage\*\* \(optional\) \| 71% \| >= 80% lines \|/);
    expect(result.warnings.join('\n')).toContain('coverage: warn (71%; limit >= 80% lines)');
  });

  it('refuses a file that does not parse, with line and column', async () => {
    const result = await run(
      { environment: 'production' },
      { workspace: policy('environments:\n  production:\n    gates: {window: [\n') },
    );
    expect(result.code).toBe(1);
    expect(result.errors[0]).toMatch(/^\.github\/deploy-policy\.yml:4:1: the policy file is not valid YAML/);
  });

  it('refuses unknown gates listing the known ones, and keys that break the schema with their path and line', async () => {
    const unknown = await run(
      {},
      { workspace: policy('environments:\n  production:\n    gates:\n      coverag: { report: x }\n') },
    );
    expect(unknown.errors[0]).toBe(
      ".github/deploy-policy.yml:4:7: environments.production.gates.coverag: unknown gate 'coverag' (known gates: checks, approvals, window, cluster, workload, references, backup, metrics, security, coverage, url, image, manifests)",
    );
    const bad = await run(
      { environment: 'production' },
      {
        workspace: policy(
          'environments:\n  production:\n    gates:\n      coverage:\n        report: reports/lcov.info\n        min: lots\n',
        ),
      },
    );
    expect(bad.errors[0]).toMatch(
      /^\.github\/deploy-policy\.yml:6:14: environments\.production\.gates\.coverage\.min must /,
    );
    const typo = await run(
      { environment: 'production' },
      {
        workspace: policy(
          'environments:\n  production:\n    gates:\n      backup:\n        max-age: 24h\n        cronjbo: nightly\n',
        ),
      },
    );
    expect(typo.errors[0]).toMatch(
      /^\.github\/deploy-policy\.yml:6:9: environments\.production\.gates\.backup\.cronjbo is not a known key/,
    );
    const missing = await run(
      { environment: 'qa' },
      { workspace: policy('environments:\n  production:\n    gates: {}\n') },
    );
    expect(missing.errors[0]).toMatch(
      /^\.github\/deploy-policy\.yml: no section for environment 'qa' \(it has production\)/,
    );
  });

  it('semantic errors in a policy gate point at the key', async () => {
    const zone = await run(
      { environment: 'production' },
      {
        workspace: policy(
          'environments:\n  production:\n    gates:\n      window:\n        allow:\n          - Mon-Fri 09:00-17:00 Mars/Olympus\n',
        ),
      },
    );
    expect(zone.errors[0]).toMatch(
      /^\.github\/deploy-policy\.yml:6:13: environments\.production\.gates\.window\.allow\[0\]: unknown time zone "Mars\/Olympus"/,
    );
  });

  it('the published schema and the generated validator are current (npx tsx actions/preflight/scripts/generate.ts)', async () => {
    for (const [path, text] of Object.entries(await generated())) {
      const committed = readFileSync(new URL(path, new URL('../scripts/', import.meta.url)), 'utf8');
      // The schema is compared as JSON (biome formats the file); the validator as text.
      if (path.endsWith('.json')) expect(JSON.parse(committed), path).toEqual(JSON.parse(text));
      else expect(committed, path).toBe(text);
    }
  });
});

describe('bad input, refused before any gate runs', () => {
  it('unknown gate names list the known ones', async () => {
    const result = await run({ gates: 'window, coverag', window: '00:00-24:00 UTC' });
    expect(result.errors[0]).toMatch(
      /^Input 'gates': unknown gate 'coverag' \(known gates: checks, approvals, window, cluster, workload, references, backup, metrics, security, coverage, url, image, manifests\)/,
    );
  });

  it('invalid time zones and windows name the input', async () => {
    const zone = await run({ window: 'Mon-Fri 09:00-17:00 Mars/Olympus' });
    expect(zone.errors[0]).toContain(
      'Input \'window\': unknown time zone "Mars/Olympus" (IANA names such as Europe/Berlin, America/New_York or UTC)',
    );
    const hours = await run({ window: 'Mon-Fri 9am-5pm UTC' });
    expect(hours.errors[0]).toContain(
      'Input \'window\': "Mon-Fri 9am-5pm UTC" is not a window: [days] HH:MM-HH:MM time-zone',
    );
    const days = await run({ window: 'Mon-Fry 09:00-17:00 UTC' });
    expect(days.errors[0]).toContain('"Mon-Fry" is not a day range');
    const freeze = await run({ freeze: '2026-02-30 UTC' });
    expect(freeze.errors[0]).toContain('Input \'freeze\': "2026-02-30" is not a date');
  });

  it('nothing configured is an error naming what to give', async () => {
    const result = await run({});
    expect(result.errors[0]).toContain('No gates to run');
  });

  it('emergency needs a reason and who approved it', async () => {
    const result = await run({ emergency: 'true', window: '00:00-24:00 UTC' });
    expect(result.errors[0]).toMatch(/^Input 'reason': is required when emergency is true/);
  });
});

describe('the JSON result', () => {
  it('has every gate with status, value, limit and message', async () => {
    const dir = workspace();
    writeFileSync(join(dir, 'extra.txt'), '');
    const result = await run(
      { window: 'Mon-Thu 09:00-16:00 America/New_York', 'coverage-report': 'reports/lcov.info' },
      { workspace: dir, at: '2026-12-11T21:00:00Z' },
    );
    expect(result.document.verdict).toBe('failure');
    expect(result.document.gates.map((g) => [g.name, g.status])).toEqual([
      ['window', 'fail'],
      ['coverage', 'pass'],
    ]);
    // The timeline: both gates started together.
    expect(result.summary).toContain('```mermaid\ngantt\n    dateFormat x\n');
    expect(result.summary).toMatch(/^ {4}window fail :crit, 0, \d+$/m);
    expect(result.summary).toMatch(/^ {4}coverage pass :done, 0, \d+$/m);
  });
});

describe('gate timeouts', () => {
  it('a zero timeout (input, policy default or one gate) is refused before any gate runs', async () => {
    const input = await run({ 'coverage-report': 'reports/lcov.info', 'gate-timeout': '0' });
    expect(input.errors[0]).toMatch(/^Input 'gate-timeout': must be at least 1s \(got "0"\)/);
    const policyDefault = await run(
      {},
      {
        workspace: workspace({
          '.github/deploy-policy.yml':
            'defaults:\n  timeout: 0s\n  gates:\n    coverage: { report: reports/lcov.info }\n',
        }),
      },
    );
    expect(policyDefault.errors[0]).toMatch(/^\.github\/deploy-policy\.yml: timeout must be at least 1s \(got "0s"\)/);
    const oneGate = await run(
      {},
      {
        workspace: workspace({
          '.github/deploy-policy.yml':
            'defaults:\n  gates:\n    coverage: { report: reports/lcov.info, timeout: 0s }\n',
        }),
      },
    );
    expect(oneGate.errors[0]).toBe(
      '.github/deploy-policy.yml:3:53: defaults.gates.coverage.timeout: must be at least 1s e.g. 30s',
    );
    for (const result of [input, policyDefault, oneGate]) expect(result.outputs['coverage']).toBeUndefined();
  });
});

describe('errors name the input the user gave', () => {
  it('checks without a commit names the sha input; a metric without an address names prometheus-address', async () => {
    const checks = await run({ checks: 'all' }, { env: {} });
    expect(checks.errors[0]).toMatch(/^Input 'sha': is not given and GITHUB_SHA is not set/);
    const metrics = await run({ metrics: '- name: conns\n  query: pg_stat_activity_count\n  max: 15' });
    expect(metrics.errors[0]).toMatch(
      /^Input 'metrics', metric 'conns': field 'address' is required for provider prometheus: give it in the metric, or through the input prometheus-address/,
    );
    expect(metrics.errors[0]).toContain('prometheus-address: http://prometheus:9090');
  });
});
