import { type ChildProcess, spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { Histogram } from '../src/http/histogram';
import { runLoad } from '../src/http/load';
import { parseLoadSpec, runLoadGate } from '../src/http/load-gate';
import { CheckSpecError } from '../src/http/parse';
import { apiServerProxy } from '../src/http/service-proxy';
import { renderLoadSummary } from '../src/http/summary';

const servers: http.Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function serve(handler: http.RequestListener): Promise<{ url: string; sockets: Set<Socket> }> {
  const server = http.createServer(handler);
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => sockets.add(socket));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, sockets };
}

const ok: http.RequestListener = (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
  res.end('ok');
};

describe('runLoad', () => {
  it('rate model: sends exactly rate × duration requests, all answered', async () => {
    let served = 0;
    const { url } = await serve((req, res) => {
      served++;
      ok(req, res);
    });
    const run = await runLoad({
      target: { url, method: 'GET', headers: {} },
      model: { kind: 'rate', rate: 400, connections: 8 },
      durationMs: 250,
      requestTimeoutMs: 5_000,
    });
    expect(run.sent).toBe(100);
    expect(run.responses).toBe(100);
    expect(served).toBe(100);
    expect(run.errors).toBe(0);
    expect(run.statusCounts).toEqual({ '200': 100 });
    expect(Histogram.fromSnapshot(run.latency).count).toBe(100);
  });

  it('rate model measures from the intended send time (coordinated omission)', async () => {
    // The server stalls its first answer for 100 ms; with one connection every request
    // due meanwhile queues. Request i (due at i ms) cannot finish before 100 ms, so at
    // least the 50 requests due in the first 50 ms have latency >= 50 ms: a quarter of 200.
    let first = true;
    const { url } = await serve((req, res) => {
      if (first) {
        first = false;
        setTimeout(() => ok(req, res), 100);
      } else ok(req, res);
    });
    const run = await runLoad({
      target: { url, method: 'GET', headers: {} },
      model: { kind: 'rate', rate: 1000, connections: 1 },
      durationMs: 200,
      requestTimeoutMs: 5_000,
    });
    const latency = Histogram.fromSnapshot(run.latency);
    expect(run.responses).toBe(200);
    expect(latency.percentile(75)).toBeGreaterThanOrEqual(50_000);
    expect(latency.max).toBeGreaterThanOrEqual(100_000);
  });

  it('closed model: keeps exactly N connections busy until the duration ends', async () => {
    const { url, sockets } = await serve(ok);
    const run = await runLoad({
      target: { url, method: 'GET', headers: {} },
      model: { kind: 'closed', connections: 4 },
      durationMs: 200,
      requestTimeoutMs: 5_000,
    });
    expect(sockets.size).toBe(4);
    expect(run.responses).toBe(run.sent);
    expect(run.responses).toBeGreaterThan(50);
    // each connection had one request in flight when the duration ended: answered late, not counted
    expect(run.late).toBe(4);
    expect(run.counted).toBe(run.responses - 4);
  });

  it('rate model: a target that falls behind is sent its backlog after the end, late, up to a timeout behind', async () => {
    // One connection, 30 ms per answer, 100 requests/s asked for 300 ms: the 10 or so sent within the
    // duration count; the backlog goes out after it (late) until it is the 100 ms timeout behind.
    const { url } = await serve((req, res) => {
      setTimeout(() => ok(req, res), 30);
    });
    const run = await runLoad({
      target: { url, method: 'GET', headers: {} },
      model: { kind: 'rate', rate: 100, connections: 1 },
      durationMs: 300,
      requestTimeoutMs: 100,
    });
    expect(run.counted).toBeGreaterThanOrEqual(5);
    expect(run.counted).toBeLessThanOrEqual(11);
    expect(run.counted + run.late).toBe(30);
    expect(run.sent).toBeGreaterThan(run.counted); // some of the backlog was still sent
    expect(run.sent).toBeLessThan(30); // not what was more than a timeout behind
    expect(run.responses).toBe(run.sent);
    // each answer came 30 ms after its write, however far behind schedule: no timeouts
    expect(run.unanswered).toBe(0);
    expect(run.errors).toBe(0);
  });

  it('parses chunked bodies, connection: close and POST bodies', async () => {
    let bodies = 0;
    const { url, sockets } = await serve((req, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        if (body === '{"n":1}') bodies++;
        const n = bodies;
        if (n % 2 === 0) {
          res.writeHead(200, { connection: 'close', 'content-length': '3' });
          res.end('bye');
        } else {
          res.writeHead(201, { 'content-type': 'text/plain' }); // no length: chunked
          res.write('hello ');
          res.write('x'.repeat(5000));
          res.end('!');
        }
      });
    });
    const run = await runLoad({
      target: { url, method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":1}' },
      model: { kind: 'rate', rate: 500, connections: 2 },
      durationMs: 100,
      requestTimeoutMs: 5_000,
    });
    expect(run.responses).toBe(50);
    expect(bodies).toBe(50);
    expect(run.statusCounts).toEqual({ '200': 25, '201': 25 });
    expect(run.errors).toBe(0);
    expect(sockets.size).toBeGreaterThanOrEqual(25); // every `connection: close` forced a new socket
  });

  it('counts unexpected statuses, refused connections and timeouts as errors', async () => {
    let n = 0;
    const { url } = await serve((req, res) => {
      n++;
      if (n % 4 === 0) return; // never answers: times out
      if (n % 2 === 0) {
        res.writeHead(503, { 'content-length': '0' });
        return res.end();
      }
      ok(req, res);
    });
    const run = await runLoad({
      target: { url, method: 'GET', headers: {} },
      model: { kind: 'rate', rate: 200, connections: 40 },
      durationMs: 100,
      requestTimeoutMs: 50,
    });
    expect(run.sent).toBe(20);
    expect(run.errorKinds).toEqual({ 'status 503': 5, timeout: 5 });
    expect(run.errors).toBe(10);
    expect(run.responses).toBe(15);
  });
});

describe('achieved rate', () => {
  it('min-rate equal to rate passes against a fast loopback server, run after run', async () => {
    // Counting responses over the run's wall time failed about 7 runs in 10 here: the last
    // request is due 0.5 ms before the end, so its answer comes after it.
    const { url } = await serve(ok);
    for (let run = 0; run < 5; run++) {
      const result = await runLoadGate(
        parseLoadSpec(`url: ${url}\nrate: 2000\nduration: 250ms\nthresholds: { min-rate: 2000 }`),
      );
      expect({ run, sent: result.sent, late: result.late, achieved: result.achievedRate }).toEqual({
        run,
        sent: 500,
        late: 0,
        achieved: 2000,
      });
      expect(result.thresholds).toEqual([
        { name: 'min-rate', expected: '≥ 2000 req/s', actual: '2000 req/s', passed: true },
      ]);
      expect(result.passed).toBe(true);
    }
  });

  it('a server too slow to keep up fails min-rate with the rate it really got', async () => {
    // 4 connections × one answer per 20 ms: at most 200 of the 1000 req/s asked
    const { url } = await serve((req, res) => {
      setTimeout(() => ok(req, res), 20);
    });
    const result = await runLoadGate(
      parseLoadSpec(`url: ${url}\nrate: 1000\nconnections: 4\nduration: 300ms\nthresholds: { min-rate: 1000 }`),
    );
    expect(result.passed).toBe(false);
    // every request was sent and answered, the backlog after the end: late, not in the rate
    expect({ sent: result.sent, responses: result.responses, unanswered: result.unanswered }).toEqual({
      sent: 300,
      responses: 300,
      unanswered: 0,
    });
    expect(result.counted + result.late).toBe(300);
    expect(result.achievedRate).toBe((result.counted * 1000) / 300);
    expect(result.achievedRate).toBeLessThanOrEqual(300);
    expect(result.thresholds[0]).toEqual({
      name: 'min-rate',
      expected: '≥ 1000 req/s',
      actual: `${result.achievedRate.toFixed(0)} req/s`,
      passed: false,
    });
    expect(renderLoadSummary(result)).toContain(
      `Achieved rate: ${result.counted} requests sent within 300ms and answered = ${Math.round(result.achievedRate)} req/s; ${result.late} late`,
    );
  });
});

/** bench/smoke-load's target in its own process, as the load gate meets a real service. */
async function startTarget(): Promise<{ url: string; child: ChildProcess }> {
  const script = fileURLToPath(new URL('../../../bench/smoke-load/target.ts', import.meta.url));
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, '1', '0'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      const ready = /ready (\d+)/.exec(chunk.toString());
      if (ready !== null) resolve(Number(ready[1]));
    });
    child.on('exit', (code) => reject(new Error(`target exited with ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}/`, child };
}

describe('load at 10,000 req/s', () => {
  it('sends and gets answered every one of the 10,000 requests of one second, each in the histogram', async () => {
    const target = await startTarget();
    try {
      const run = await runLoad({
        target: { url: target.url, method: 'GET', headers: {} },
        model: { kind: 'rate', rate: 10_000, connections: 64 },
        durationMs: 1000,
        requestTimeoutMs: 10_000,
      });
      // Correctness only: latency, wall time and how many went out late depend on the shared
      // machine (bench/smoke-load measures them); every scheduled request is sent whatever the timing.
      expect({ sent: run.sent, responses: run.responses }).toEqual({ sent: 10_000, responses: 10_000 });
      expect(run.errors).toBe(0);
      expect(run.statusCounts).toEqual({ '200': 10_000 });
      expect(Histogram.fromSnapshot(run.latency).count).toBe(10_000);
    } finally {
      target.child.kill('SIGTERM');
    }
  });
});

describe('load against an unreachable host', () => {
  it('counts every refused connection and fails the gate with no response', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/`;
    await new Promise((resolve) => closed.close(resolve));
    const result = await runLoadGate(parseLoadSpec(`url: ${url}\nrate: 100\nduration: 100ms`));
    expect(result.sent).toBe(10);
    expect(result.errorKinds).toEqual({ ECONNREFUSED: 10 });
    expect(result.responses).toBe(0);
    expect(result.passed).toBe(false);
  });
});

describe('load gate', () => {
  it('parses the load spec', () => {
    const spec = parseLoadSpec(`
url: https://example.com/api
method: post
headers: { x-api-key: k }
json: { ping: true }
rate: 10_000
connections: 100
duration: 30s
thresholds: { p95: 100ms, p99: 250ms, error-rate: 0.5%, min-rate: 9500 }
`);
    expect(spec.model).toEqual({ kind: 'rate', rate: 10_000, connections: 100 });
    expect(spec.durationMs).toBe(30_000);
    expect(spec.body).toBe('{"ping":true}');
    expect(spec.headers['content-type']).toBe('application/json');
    expect(spec.thresholds).toEqual({ p95Ms: 100, p99Ms: 250, errorRate: 0.005, minRate: 9500 });
    expect(parseLoadSpec('url: http://x/\nconnections: 8\nduration: 1m').model).toEqual({
      kind: 'closed',
      connections: 8,
    });
  });

  it('refuses a bad load spec with line and column', () => {
    const problem = (text: string) => {
      try {
        parseLoadSpec(text, { source: 'load' });
      } catch (error) {
        if (error instanceof CheckSpecError) return error.message;
        throw error;
      }
      return 'accepted';
    };
    expect(problem('url: http://x/\nduration: 10s')).toContain('load:1:1: load needs rate');
    expect(problem('url: http://x/\nrate: 100\nduration: 10')).toContain(
      'load:3:11: load: duration must be a duration',
    );
    expect(problem('url: http://x/\nrate: 100\nduration: 1s\nthresholds: { p99: 1s, p999: 2s }')).toContain(
      "load:4:24: load: thresholds has an unknown key 'p999'",
    );
    expect(problem('url: http://x/\nrate: 100\nduration: 1s\nthresholds: { error-rate: lots }')).toContain(
      'error-rate must be a percentage like 1%',
    );
  });

  it('passes thresholds a healthy server meets and fails the ones it cannot, with a chart', async () => {
    const { url } = await serve(ok);
    const pass = await runLoadGate(
      parseLoadSpec(`url: ${url}\nrate: 500\nduration: 200ms\nthresholds: { p99: 1s, error-rate: 0%, min-rate: 400 }`),
    );
    expect(pass.passed).toBe(true);
    expect(pass.responses).toBe(100);
    expect(pass.thresholds.map((t) => [t.name, t.passed])).toEqual([
      ['p99', true],
      ['error-rate', true],
      ['min-rate', true],
    ]);
    const markdown = renderLoadSummary(pass);
    expect(markdown).toContain('```mermaid\nxychart-beta');
    expect(markdown).toContain('| p99 | ≤ 1s |');
    expect(pass.chart.reduce((sum, bin) => sum + bin.count, 0)).toBeGreaterThanOrEqual(99); // up to p99.9

    const fail = await runLoadGate(
      parseLoadSpec(`url: ${url}\nrate: 500\nduration: 200ms\nthresholds: { min-rate: 100000 }`),
    );
    expect(fail.passed).toBe(false);
    expect(fail.thresholds[0]).toMatchObject({ name: 'min-rate', expected: '≥ 100000 req/s', passed: false });
  });

  it('drives a service through the API server proxy path with the cluster credentials', async () => {
    const paths = new Set<string>();
    let authorized = 0;
    const { url } = await serve((req, res) => {
      paths.add(req.url!);
      if (req.headers.authorization === 'Bearer cluster-token') authorized++;
      ok(req, res);
    });
    const proxy = apiServerProxy({
      server: url,
      headers: { authorization: 'Bearer cluster-token' },
      defaultNamespace: 'shop',
    });
    const masked: string[] = [];
    const result = await runLoadGate(parseLoadSpec('service: web:8080/healthz\nrate: 200\nduration: 100ms'), {
      serviceProxy: proxy,
      mask: (secret) => masked.push(secret),
    });
    expect(result.responses).toBe(20);
    expect(authorized).toBe(20);
    expect([...paths]).toEqual(['/api/v1/namespaces/shop/services/web%3A8080/proxy/healthz']);
    expect(result.request).toBe('GET service shop/web:8080/healthz');
    expect(masked).toContain('Bearer cluster-token');
  });

  it('fails on the error rate when the target answers 5xx', async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(500, { 'content-length': '0' });
      res.end();
    });
    const result = await runLoadGate(
      parseLoadSpec(`url: ${url}\nrate: 200\nduration: 100ms\nthresholds: { error-rate: 1% }`),
    );
    expect(result.passed).toBe(false);
    expect(result.errorRate).toBe(1);
    expect(result.errorKinds).toEqual({ 'status 500': 20 });
    expect(renderLoadSummary(result)).toContain('Errors: status 500 × 20');
  });
});
