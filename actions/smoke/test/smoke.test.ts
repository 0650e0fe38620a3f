/**
 * The smoke action end to end: inputs as the runner gives them, the memory
 * runtime on a virtual clock (auto-advancing while the process is idle), and
 * real loopback servers (one of them a fake API server serving the service
 * proxy path over HTTPS, reached through a kubeconfig).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock, VirtualClock } from '@deploy-actions/core/clock';
import { importClientNode } from '@deploy-actions/core/kube';
import { createMemoryRuntime, executeAction } from '@deploy-actions/core/runtime';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import smoke from '../src/main';

const fixtures = new URL('../../../packages/core/test/fixtures/tls/', import.meta.url).pathname;
const workspace = mkdtempSync(join(tmpdir(), 'smoke-'));
const servers: http.Server[] = [];
const clocks: VirtualClock[] = [];

// Load client-node before any virtual clock runs: a long import looks like idle time
// to auto-advance, which would then jump to the step's 30-minute timeout.
beforeAll(async () => {
  await importClientNode();
});

afterEach(async () => {
  for (const clock of clocks.splice(0)) clock.stopAutoAdvance();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function listen(server: http.Server, scheme: 'http' | 'https'): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** An API that wants a login first: /login hands out a token, /orders needs it. */
async function shop(): Promise<{ base: string; requests: string[] }> {
  const requests: string[] = [];
  const base = await listen(
    http.createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      res.setHeader('content-type', 'application/json');
      if (req.url === '/login' && req.method === 'POST') return res.end(JSON.stringify({ token: 'sekret-token-42' }));
      if (req.url === '/orders') {
        if (req.headers.authorization !== 'Bearer sekret-token-42') {
          res.statusCode = 401;
          return res.end('{}');
        }
        return res.end(JSON.stringify({ orders: [{ id: 1 }], count: 1 }));
      }
      if (req.url === '/healthz') return res.end(JSON.stringify({ status: 'ok' }));
      res.statusCode = 404;
      res.end('{}');
    }),
    'http',
  );
  return { base, requests };
}

function runtime(inputs: Record<string, string>) {
  const clock = new VirtualClock();
  return runtimeOn(clock, inputs);
}

/** The load gate measures real time: its runs use the system clock (auto-advance would jump to the step timeout). */
function realTimeRuntime(inputs: Record<string, string>) {
  return createMemoryRuntime({ inputs, clock: systemClock, workspace });
}

function runtimeOn(clock: VirtualClock, inputs: Record<string, string>) {
  clocks.push(clock);
  clock.startAutoAdvance();
  return createMemoryRuntime({ inputs, clock, workspace });
}

describe('smoke action', () => {
  it('runs a spec with a login capture, reports a table per check and sets outputs', async () => {
    const { base, requests } = await shop();
    const rt = runtime({
      spec: `
- name: login
  request: { method: POST, url: "${base}/login", json: { user: ci } }
  capture: { token: $.token }
- name: orders
  request: { url: "${base}/orders", headers: { authorization: "Bearer {{ token }}" } }
  expect: { status: 200, json: { $.count: { greater-than: 0 } } }
- name: health
  request: { url: "${base}/healthz" }
  expect: { json: { $.status: ok } }
`,
    });
    expect(await executeAction(smoke, rt)).toBe(0);
    expect(rt.outputs['passed']).toBe('3');
    expect(rt.outputs['failed']).toBe('0');
    expect(requests.indexOf('POST /login')).toBeLessThan(requests.indexOf('GET /orders'));
    expect(rt.flushedSummary).toContain('## ✅ Smoke checks: 3 passed, 0 failed');
    expect(rt.flushedSummary).toContain('| json $.count greater-than | > 0 | 1 | ✅ |');
    const result = JSON.parse(rt.outputs['result']!);
    expect(result.verdict).toBe('success');
    expect(result.checks.checks.map((c: { name: string; outcome: string }) => `${c.name}:${c.outcome}`)).toEqual([
      'login:passed',
      'orders:passed',
      'health:passed',
    ]);
    // the captured token is a secret: registered, and nowhere in what the user sees
    expect(rt.masked).toContain('sekret-token-42');
    expect(JSON.stringify(rt.logs) + rt.flushedSummary + JSON.stringify(rt.outputs)).not.toContain('sekret-token-42');
  });

  it('refuses a bad spec before sending anything, naming the input, line and column', async () => {
    const { base, requests } = await shop();
    const rt = runtime({
      spec: `- name: health\n  request: { url: "${base}/healthz" }\n  expect: { json: [{ path: $.status, matches: "(" }] }\n`,
    });
    expect(await executeAction(smoke, rt)).toBe(1);
    expect(requests).toEqual([]);
    const [line] = rt.lines('error');
    expect(line).toMatch(
      /^Input 'spec': inline:3:47: check 'health': json \$\.status matches: invalid regular expression/,
    );
  });

  it('reads the spec from a file in the workspace, with the file named in errors', async () => {
    const { base } = await shop();
    writeFileSync(join(workspace, 'smoke.yml'), `checks:\n  - name: health\n    request: { url: "${base}/healthz" }\n`);
    const ok = runtime({ spec: 'smoke.yml' });
    expect(await executeAction(smoke, ok)).toBe(0);
    writeFileSync(join(workspace, 'broken.yml'), 'checks:\n  - name: health\n    reqest: { url: "http://x/" }\n');
    const broken = runtime({ spec: 'broken.yml' });
    expect(await executeAction(smoke, broken)).toBe(1);
    expect(broken.lines('error')[0]).toContain("broken.yml:3:5: check 'health' has an unknown key 'reqest'");
  });

  it('url shorthand: retries until the expected status, on the virtual clock', async () => {
    let calls = 0;
    const base = await listen(
      http.createServer((_req, res) => {
        calls++;
        res.statusCode = calls < 3 ? 503 : 204;
        res.end();
      }),
      'http',
    );
    const rt = runtime({ url: `${base}/ready`, 'expect-status': '204', retries: '30', 'retry-interval': '10s' });
    const started = rt.clock.now();
    expect(await executeAction(smoke, rt)).toBe(0);
    expect(calls).toBe(3);
    expect(rt.clock.now() - started).toBe(20_000);
  });

  it('fails the step with the last error when a host stays unreachable', async () => {
    const closed = http.createServer();
    const base = await listen(closed, 'http');
    servers.pop();
    await new Promise((resolve) => closed.close(resolve));
    const rt = runtime({ url: `${base}/`, retries: '3', 'retry-interval': '5s' });
    expect(await executeAction(smoke, rt)).toBe(1);
    const port = new URL(base).port;
    expect(rt.lines('error').at(-1)).toBe(
      `1 of 1 smoke checks did not pass: ${base}/ (connect ECONNREFUSED 127.0.0.1:${port})`,
    );
    expect(JSON.parse(rt.outputs['result']!).checks.checks[0].attempts).toBe(4);
  });

  it('runs the load gate after passing checks and charts the latencies', async () => {
    const { base } = await shop();
    const rt = realTimeRuntime({
      url: `${base}/healthz`,
      load: `url: ${base}/healthz\nrate: 400\nduration: 250ms\nthresholds: { p99: 2s, error-rate: 0% }`,
    });
    expect(await executeAction(smoke, rt)).toBe(0);
    const result = JSON.parse(rt.outputs['result']!);
    expect(result.load.responses).toBe(100);
    expect(result.load.passed).toBe(true);
    expect(rt.flushedSummary).toContain('xychart-beta');
  });

  it('fails on a load threshold and says which', async () => {
    const { base } = await shop();
    const rt = realTimeRuntime({
      load: `url: ${base}/missing\nrate: 200\nduration: 100ms\nthresholds: { error-rate: 1% }`,
    });
    expect(await executeAction(smoke, rt)).toBe(1);
    expect(rt.lines('error').at(-1)).toBe('load gate failed: error-rate 100.00% (wanted ≤ 1.00%)');
  });

  it('fails min-rate against a server too slow to keep up, with the rate it really got and why', async () => {
    // 4 connections × one answer per 20 ms: at most about 200 of the 1000 req/s asked
    const base = await listen(
      http.createServer((_req, res) => {
        setTimeout(() => res.end('ok'), 20);
      }),
      'http',
    );
    const rt = realTimeRuntime({
      load: `url: ${base}/\nrate: 1000\nconnections: 4\nduration: 300ms\nthresholds: { min-rate: 1000 }`,
    });
    expect(await executeAction(smoke, rt)).toBe(1);
    const load = JSON.parse(rt.outputs['result']!).load;
    expect(load.sent).toBe(300);
    expect(load.counted + load.late).toBe(300);
    expect(load.achievedRate).toBe((load.counted * 1000) / 300);
    expect(load.achievedRate).toBeLessThanOrEqual(300);
    expect(rt.lines('error').at(-1)).toBe(
      `load gate failed: min-rate ${load.achievedRate.toFixed(0)} req/s (wanted ≥ 1000 req/s; ${load.late} late (not sent within 0.3s: every connection was busy), 0 unanswered)`,
    );
  });

  it('checks a service through the API server proxy using the kubeconfig', async () => {
    const seen: string[] = [];
    const tls = { cert: readFileSync(`${fixtures}server.pem`), key: readFileSync(`${fixtures}server.key`) };
    const apiServer = await listen(
      https.createServer(tls, (req, res) => {
        seen.push(`${req.url} ${req.headers.authorization}`);
        if (req.headers.authorization !== 'Bearer cluster-token') {
          res.statusCode = 401;
          return res.end();
        }
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ color: req.url!.includes('web-green') ? 'green' : 'blue' }));
      }),
      'https',
    );
    const ca = readFileSync(`${fixtures}ca.pem`).toString('base64');
    const kubeconfig = `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: "${apiServer.replace('127.0.0.1', 'localhost')}", certificate-authority-data: ${ca} } }]
users: [{ name: u, user: { token: cluster-token } }]
contexts: [{ name: ctx, context: { cluster: c, user: u } }]
current-context: ctx
`;
    const rt = runtime({
      kubeconfig,
      namespace: 'shop',
      spec: '- name: green\n  request: { service: "web-green:8080/healthz" }\n  expect: { json: { $.color: green } }',
    });
    const code = await executeAction(smoke, rt);
    expect(rt.lines('error')).toEqual([]);
    expect(code).toBe(0);
    expect(seen).toEqual(['/api/v1/namespaces/shop/services/web-green%3A8080/proxy/healthz Bearer cluster-token']);
  });

  it('dry run: lists the plan and sends nothing', async () => {
    const { base, requests } = await shop();
    const rt = runtime({ url: `${base}/healthz`, 'dry-run': 'true' });
    expect(await executeAction(smoke, rt)).toBe(0);
    expect(requests).toEqual([]);
    expect(rt.flushedSummary).toContain(`- ${base}/healthz: GET ${base}/healthz`);
  });
});
