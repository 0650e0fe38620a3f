import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../src/clock/virtual';
import { parseCheckSpec } from '../src/http/parse';
import { type RunChecksOptions, runChecks } from '../src/http/runner';
import { apiServerProxy, type ServiceProxy } from '../src/http/service-proxy';
import { renderChecksSummary } from '../src/http/summary';
import type { Logger } from '../src/runtime/port';

const fixtures = new URL('./fixtures/tls/', import.meta.url).pathname;
const tlsFiles = {
  cert: readFileSync(`${fixtures}server.pem`, 'utf8'),
  key: readFileSync(`${fixtures}server.key`, 'utf8'),
  ca: readFileSync(`${fixtures}ca.pem`, 'utf8'),
};

type Handler = (req: http.IncomingMessage, body: string, res: http.ServerResponse) => void;
const servers: Array<http.Server> = [];
const clocks: VirtualClock[] = [];

afterEach(async () => {
  for (const clock of clocks.splice(0)) clock.stopAutoAdvance();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function serve(handler: Handler, secure = false): Promise<string> {
  const listener = (req: http.IncomingMessage, res: http.ServerResponse) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => handler(req, body, res));
  };
  const server = secure
    ? https.createServer({ cert: tlsFiles.cert, key: tlsFiles.key }, listener)
    : http.createServer(listener);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `${secure ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function json(res: http.ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(value));
}

function harness(extra: Partial<RunChecksOptions> = {}) {
  const clock = new VirtualClock();
  clocks.push(clock);
  clock.startAutoAdvance();
  const lines: string[] = [];
  const log: Logger = {
    debug: () => {},
    info: (m) => lines.push(m),
    warning: (m) => lines.push(m),
    error: (m) => lines.push(m),
    group: (_name, fn) => fn(),
  };
  const masked: string[] = [];
  const options: RunChecksOptions = { clock, log, mask: (s) => masked.push(s), ...extra };
  return { clock, lines, masked, options };
}

describe('runChecks', () => {
  it('passes a check with status, JSON, header and body assertions and renders its table', async () => {
    const base = await serve((_req, _body, res) =>
      json(res, 200, { status: 'ok', version: 'v1.4.2', items: [{ id: 7 }], count: 3 }, { 'x-request-id': 'abc' }),
    );
    const spec = parseCheckSpec(`
- name: health
  request: { url: "${base}/healthz" }
  expect:
    status: [200, 204]
    json:
      $.status: ok
      $.version: { matches: "^v1\\\\." }
      "$.items[0].id": { equals: 7 }
      $.count: { less-than: 10, greater-than: 0 }
      $.missing: { exists: false }
    headers:
      content-type: { contains: json }
      x-request-id: abc
    body: { contains: "items" }
`);
    const { options } = harness();
    const result = await runChecks(spec, options);
    expect(result.passed).toBe(true);
    const [check] = result.checks;
    expect(check!.outcome).toBe('passed');
    expect(check!.attempts).toBe(1);
    expect(check!.assertions.every((a) => a.passed)).toBe(true);
    expect(check!.assertions).toHaveLength(10);
    const markdown = renderChecksSummary(result);
    expect(markdown).toContain('## ✅ Smoke checks: 1 passed, 0 failed');
    expect(markdown).toContain('| json $.version matches | /^v1\\\\./ | "v1.4.2" | ✅ |');
    expect(markdown).toContain('| status | 200 or 204 | 200 | ✅ |');
  });

  it('reports each failed assertion with expected and actual', async () => {
    const base = await serve((_req, _body, res) => json(res, 200, { status: 'degraded', count: 12 }));
    const spec = parseCheckSpec(`
- name: health
  request: { url: "${base}/" }
  expect: { json: [{ path: $.status, equals: ok }, { path: $.count, less-than: 10 }] }
`);
    const result = await runChecks(spec, harness().options);
    expect(result.passed).toBe(false);
    const failed = result.checks[0]!.assertions.filter((a) => !a.passed);
    expect(failed.map((a) => [a.label, a.expected, a.actual])).toEqual([
      ['json $.status equals', '"ok"', '"degraded"'],
      ['json $.count less-than', '< 10', '12'],
    ]);
    expect(result.checks[0]!.error).toBe(
      'json $.status equals: expected "ok", got "degraded"; json $.count less-than: expected < 10, got 12',
    );
    expect(renderChecksSummary(result)).toContain('| json $.count less-than | < 10 | 12 | ❌ |');
  });

  it('says the body is not JSON, with its first bytes, when a JSON assertion needs it', async () => {
    const base = await serve((_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<!DOCTYPE html><html><body>Bad gateway page from the load balancer ${'x'.repeat(200)}</body></html>`);
    });
    const spec = parseCheckSpec(`- request: { url: "${base}/" }\n  expect: { json: { $.status: ok } }`);
    const result = await runChecks(spec, harness().options);
    expect(result.checks[0]!.error).toBe(
      'json $.status equals: expected "ok", got the body is not JSON (text/html, 281 bytes): "<!DOCTYPE html><html><body>Bad gateway page from the load balancer xxxxxxxxxxxxx…"',
    );
  });

  it('logs in, captures the token, masks it and uses it in a dependent check', async () => {
    const order: string[] = [];
    const base = await serve((req, body, res) => {
      order.push(req.url!);
      if (req.url === '/login') {
        expect(JSON.parse(body)).toEqual({ user: 'bot', password: 'pw-123' });
        return json(res, 200, { access_token: 'tok-9f8e7d' });
      }
      if (req.url === '/me') {
        return req.headers.authorization === 'Bearer tok-9f8e7d' ? json(res, 200, { name: 'bot' }) : json(res, 401, {});
      }
      json(res, 200, {});
    });
    const spec = parseCheckSpec(`
- name: me
  request: { url: "${base}/me", headers: { authorization: "Bearer {{ token }}" } }
  expect: { json: { $.name: bot } }
- name: login
  request: { method: POST, url: "${base}/login", json: { user: bot, password: pw-123 } }
  capture: { token: $.access_token }
`);
    const { options, masked } = harness();
    const result = await runChecks(spec, options);
    expect(result.checks.map((c) => [c.name, c.outcome])).toEqual([
      ['me', 'passed'],
      ['login', 'passed'],
    ]);
    expect(order).toEqual(['/login', '/me']);
    expect(masked).toContain('tok-9f8e7d');
    expect(masked).toContain('Bearer tok-9f8e7d');
    expect(result.checks[1]!.captured).toEqual(['token']);
  });

  it('skips the checks that need a capture from a failed check', async () => {
    const base = await serve((_req, _body, res) => json(res, 500, { error: 'down' }));
    const spec = parseCheckSpec(`
- name: login
  request: { method: POST, url: "${base}/login" }
  capture: { token: $.token }
- name: me
  request: { url: "${base}/me?t={{ token }}" }
`);
    const result = await runChecks(spec, harness().options);
    expect(result.counts).toEqual({ passed: 0, failed: 1, skipped: 1 });
    expect(result.checks[1]!.error).toBe("needs a capture from 'login', which failed");
    expect(renderChecksSummary(result)).toContain('### ⏭️ me');
  });

  it('runs independent checks concurrently, up to the limit', async () => {
    // A fake proxy whose answers the test releases by hand: the number of calls
    // waiting at once is exactly the runner's concurrency.
    const waiting: Array<() => void> = [];
    let most = 0;
    const proxy: ServiceProxy = {
      defaultNamespace: 'default',
      describe: (t) => t.service,
      request: (target) =>
        new Promise((resolve) => {
          waiting.push(() =>
            resolve({
              status: 200,
              headers: {},
              body: Buffer.from(target.service),
              truncated: false,
              url: '',
              redirects: 0,
              latencyMs: 1,
            }),
          );
          most = Math.max(most, waiting.length);
        }),
    };
    const checks = [1, 2, 3, 4, 5].map((n) => `- { name: c${n}, request: { service: "s${n}:80/" } }`).join('\n');
    const spec = parseCheckSpec(`defaults: { concurrency: 3 }\nchecks:\n${checks}`);
    const running = runChecks(spec, harness({ serviceProxy: proxy }).options);
    await new Promise((resolve) => setImmediate(resolve));
    expect(waiting).toHaveLength(3);
    waiting.shift()!();
    await new Promise((resolve) => setImmediate(resolve));
    expect(waiting).toHaveLength(3); // the fourth started when the first finished
    while (waiting.length > 0) {
      waiting.shift()!();
      await new Promise((resolve) => setImmediate(resolve));
    }
    const result = await running;
    expect(result.passed).toBe(true);
    expect(most).toBe(3);
  });

  it('retries on the clock until the new version turns healthy (30 × 10s)', async () => {
    let calls = 0;
    const base = await serve((_req, _body, res) => {
      calls++;
      if (calls <= 4) return json(res, 503, { status: 'starting' });
      json(res, 200, { status: 'ok' });
    });
    const spec = parseCheckSpec(
      `- { name: green, request: { url: "${base}/healthz" }, expect: { json: { $.status: ok } } }`,
    );
    const { options, clock, lines } = harness({ defaults: { retries: 30, retryIntervalMs: 10_000 } });
    const started = clock.now();
    const result = await runChecks(spec, options);
    expect(result.checks[0]!.outcome).toBe('passed');
    expect(result.checks[0]!.attempts).toBe(5);
    expect(clock.now() - started).toBe(40_000);
    expect(lines[0]).toBe(
      'green: attempt 1/31 failed: status: expected 2xx, got 503; json $.status equals: expected "ok", got "starting"; retrying in 10s',
    );
  });

  it('fails an unreachable host after the retries with the last error', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const spec = parseCheckSpec(
      `- { name: gone, request: { url: "http://127.0.0.1:${port}/" }, retries: 2, retry-interval: 10s }`,
    );
    const { options, clock } = harness();
    const started = clock.now();
    const result = await runChecks(spec, options);
    const [check] = result.checks;
    expect(check!.outcome).toBe('failed');
    expect(check!.attempts).toBe(3);
    expect(check!.error).toBe(`connect ECONNREFUSED 127.0.0.1:${port}`);
    expect(clock.now() - started).toBe(20_000);
  });

  it('stops retrying when the check timeout would pass', async () => {
    const base = await serve((_req, _body, res) => json(res, 503, {}));
    const spec = parseCheckSpec(
      `- { name: slow, request: { url: "${base}/" }, retries: 30, retry-interval: 10s, timeout: 35s }`,
    );
    const { options } = harness();
    const result = await runChecks(spec, options);
    expect(result.checks[0]!.attempts).toBe(4);
    expect(result.checks[0]!.error).toContain('(timeout 35s reached)');
  });

  it('gives up on an attempt after request-timeout on the clock', async () => {
    const base = await serve(() => {
      /* never answers */
    });
    const spec = parseCheckSpec(`- { name: hang, request: { url: "${base}/" }, request-timeout: 2s }`);
    const { options, clock } = harness();
    const started = clock.now();
    const result = await runChecks(spec, options);
    expect(result.checks[0]!.error).toBe(`no response within 2000ms (${base})`);
    expect(clock.now() - started).toBe(2_000);
  });

  it('measures latency and fails latency-below', async () => {
    let fakeNow = 0;
    const base = await serve((_req, _body, res) => {
      fakeNow += 750; // the server "takes" 750 ms on the injected timer
      json(res, 200, {});
    });
    const spec = parseCheckSpec(`- { name: fast, request: { url: "${base}/" }, expect: { latency-below: 500ms } }`);
    const result = await runChecks(spec, harness({ now: () => fakeNow }).options);
    expect(result.checks[0]!.latencyMs).toBe(750);
    expect(result.checks[0]!.assertions.find((a) => a.label === 'latency')).toEqual({
      label: 'latency',
      expected: '< 500ms',
      actual: '750ms',
      passed: false,
    });
  });

  it('follows redirects up to the limit, or not at all when told', async () => {
    const base = await serve((req, _body, res) => {
      const hop = Number(req.url!.slice(1));
      if (hop < 3) {
        res.writeHead(302, { location: `/${hop + 1}` });
        return res.end();
      }
      json(res, 200, { hop });
    });
    const follow = await runChecks(
      parseCheckSpec(`- { request: { url: "${base}/0" }, expect: { json: { $.hop: 3 } } }`),
      harness().options,
    );
    expect(follow.passed).toBe(true);
    const tooMany = await runChecks(
      parseCheckSpec(`- { request: { url: "${base}/0" }, redirects: { max: 2 } }`),
      harness().options,
    );
    expect(tooMany.checks[0]!.error).toBe('status: expected 2xx, got 302');
    const none = await runChecks(
      parseCheckSpec(
        `- { request: { url: "${base}/0" }, redirects: false, expect: { status: 302, headers: { location: /1 } } }`,
      ),
      harness().options,
    );
    expect(none.passed).toBe(true);
  });

  it('verifies TLS: refuses an unknown CA, trusts a given ca file, or skips with insecure', async () => {
    const base = (await serve((_req, _body, res) => json(res, 200, {}), true)).replace('127.0.0.1', 'localhost');
    const plain = await runChecks(parseCheckSpec(`- request: { url: "${base}/" }`), harness().options);
    expect(plain.checks[0]!.error).toMatch(/certificate/);
    const withCa = await runChecks(
      parseCheckSpec(`- request: { url: "${base}/" }\n  ca: ca.pem`, { workspace: fixtures }),
      harness().options,
    );
    expect(withCa.passed).toBe(true);
    const insecure = await runChecks(
      parseCheckSpec(`- request: { url: "${base}/" }\n  insecure: true`),
      harness().options,
    );
    expect(insecure.passed).toBe(true);
  });

  it('reaches a Kubernetes service through the API server service proxy', async () => {
    const seen: string[] = [];
    const apiServer = await serve((req, _body, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers.authorization} ${req.headers['x-canary'] ?? ''}`);
      if (req.headers.authorization !== 'Bearer cluster-token') return json(res, 401, { kind: 'Status' });
      const match = /^\/api\/v1\/namespaces\/([^/]+)\/services\/([^/]+)\/proxy(\/.*)$/.exec(req.url!);
      if (match === null) return json(res, 404, { kind: 'Status' });
      json(res, 200, { namespace: match[1], service: decodeURIComponent(match[2]!), path: match[3] });
    }, true);
    const proxy = apiServerProxy({
      server: apiServer,
      headers: { authorization: 'Bearer cluster-token' },
      ca: tlsFiles.ca,
      insecure: true, // the fixture certificate names localhost, the URL says 127.0.0.1
      defaultNamespace: 'shop',
    });
    const spec = parseCheckSpec(`
- name: green
  request: { service: "web-green:8080/healthz?deep=1", headers: { x-canary: "yes" } }
  expect: { json: { $.namespace: shop, $.service: "web-green:8080", $.path: "/healthz?deep=1" } }
- name: tls-service
  request: { service: prod/api:https/ready, scheme: https }
  expect: { json: { $.namespace: prod, $.service: "https:api:https" } }
`);
    const result = await runChecks(spec, harness({ serviceProxy: proxy }).options);
    expect(result.checks.map((c) => [c.name, c.outcome, c.request])).toEqual([
      ['green', 'passed', 'GET service shop/web-green:8080/healthz?deep=1'],
      ['tls-service', 'passed', 'GET service prod/api:https/ready'],
    ]);
    expect(seen).toContain(
      'GET /api/v1/namespaces/shop/services/web-green%3A8080/proxy/healthz?deep=1 Bearer cluster-token yes',
    );
  });

  it('refuses a variable the caller declared but did not give, before any request', async () => {
    let requests = 0;
    const base = await serve((_req, _body, res) => {
      requests++;
      json(res, 200, {});
    });
    const spec = parseCheckSpec(`- request: { url: "${base}/{{ version }}" }`, { variables: ['version'] });
    await expect(runChecks(spec, harness().options)).rejects.toThrow(
      "check 'check 1' uses {{ version }}, but no check captures it and no value was given",
    );
    expect(requests).toBe(0);
    const given = await runChecks(spec, harness({ variables: { version: 'v2' } }).options);
    expect(given.checks[0]!.request).toBe(`GET ${base}/v2`);
  });

  it('refuses a service target before any request when no cluster is configured', async () => {
    const spec = parseCheckSpec('- request: { service: web:80/ }');
    await expect(runChecks(spec, harness().options)).rejects.toThrow(
      /targets a Kubernetes service, but no cluster connection/,
    );
  });
});
