/**
 * metrics against a real Prometheus scraping a loopback exporter, url against a loopback server (the
 * smoke check format), image against the Debian registry (manifest HEAD with basic auth).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { RegistryClient } from '@deploy-actions/core/registry';
import { prometheusMissing, type RunningPrometheus, startPrometheus } from '@deploy-actions/testkit/prometheus';
import { type RunningRegistry, registryMissing, startRegistry } from '@deploy-actions/testkit/registry';
import { pushTestImage } from '@deploy-actions/testkit/registry-images';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gate, run } from './support';

const servers: http.Server[] = [];
afterAll(() => {
  for (const server of servers) server.close();
});

async function listen(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe.skipIf(prometheusMissing() !== undefined)('metrics gate (real Prometheus)', () => {
  let prometheus: RunningPrometheus;
  beforeAll(async () => {
    // A database exporter's gauges, in the text format Prometheus scrapes.
    const exporter = await listen((_req, res) => {
      res.setHeader('content-type', 'text/plain; version=0.0.4');
      res.end(
        [
          '# HELP pg_stat_activity_count number of connections in this state',
          '# TYPE pg_stat_activity_count gauge',
          'pg_stat_activity_count{datname="shop",state="active"} 9',
          'pg_stat_activity_count{datname="shop",state="idle"} 3',
          '# TYPE pg_settings_max_connections gauge',
          'pg_settings_max_connections 20',
          '# TYPE node_cpu_busy_ratio gauge',
          'node_cpu_busy_ratio 0.72',
          '',
        ].join('\n'),
      );
    });
    prometheus = await startPrometheus({ targets: [exporter], waitForQuery: 'pg_settings_max_connections' });
  }, 30_000);
  afterAll(() => prometheus?.stop());

  it('conditions in the analysis format: connections below 15 of 20 pass, CPU below 60% fails', async () => {
    const metrics = `
- name: db-connections
  query: sum(pg_stat_activity_count{datname="shop"})
  max: 15
- name: cpu
  query: max(node_cpu_busy_ratio)
  max: 0.6
`;
    const result = await run({ metrics, 'prometheus-address': prometheus.url }, { realTime: true });
    expect(result.code).toBe(1);
    const metricsGate = gate(result, 'metrics');
    expect(metricsGate).toMatchObject({
      status: 'fail',
      value: 'db-connections 12, cpu 0.72',
      limit: 'db-connections <= 15, cpu <= 0.6',
    });
    expect(metricsGate.message).toBe('cpu = 0.72, limit <= 0.6');
  });

  it('no data follows on-no-data; canary placeholders and comparisons are refused before anything runs', async () => {
    const nothing = await run(
      {
        metrics: '- { name: queue, query: sum(rabbitmq_queue_messages), max: 100, on-no-data: inconclusive }',
        'prometheus-address': prometheus.url,
      },
      { realTime: true },
    );
    expect(gate(nothing, 'metrics')).toMatchObject({ status: 'warn', value: 'queue no data' });
    const canary = await run({
      metrics: '- { name: errors, query: \'sum(rate(http_requests_total{version="{{canary}}"}[1m]))\', max: 1 }',
      'prometheus-address': prometheus.url,
    });
    expect(canary.errors[0]).toContain(
      "metric 'errors' uses {{canary}}: there is no canary or stable version before a release",
    );
    const typo = await run({
      metrics: '- { name: errors, query: sum(x), maximum: 1 }',
      'prometheus-address': prometheus.url,
    });
    expect(typo.errors[0]).toMatch(/^Input 'metrics', metric 'errors': field 'maximum' is not a known field/);
  });
});

describe('url gate', () => {
  it('a healthy answer passes; an unhealthy one fails with the status', async () => {
    let healthy = true;
    const host = await listen((req, res) => {
      res.statusCode = req.url === '/health' && healthy ? 200 : 503;
      res.end(JSON.stringify({ status: healthy ? 'ok' : 'degraded' }));
    });
    const ok = await run({ url: `http://${host}/health` }, { realTime: true });
    expect(gate(ok, 'url')).toMatchObject({ status: 'pass' });
    expect(gate(ok, 'url').value).toMatch(/^200 in \d+ ms$/);
    healthy = false;
    const bad = await run({ url: `http://${host}/health` }, { realTime: true });
    expect(gate(bad, 'url')).toMatchObject({ status: 'fail' });
    expect(gate(bad, 'url').value).toMatch(/^503/);
  });
});

describe.skipIf(registryMissing() !== undefined)('image gate (Debian registry, basic auth)', () => {
  let registry: RunningRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'basic' });
    const client = new RegistryClient({
      credentials: () => ({ username: registry.username, password: registry.password }),
    });
    await pushTestImage(client, registry.host, 'acme/web', 'v1.2.0', { format: 'oci' });
  }, 30_000);
  afterAll(() => registry?.stop());

  it('an image that was pushed exists; a tag that was not fails; the password is masked', async () => {
    const credentials = { 'registry-username': registry.username, 'registry-password': registry.password };
    const found = await run({ image: `${registry.host}/acme/web:v1.2.0`, ...credentials }, { realTime: true });
    expect(gate(found, 'image')).toMatchObject({ status: 'pass' });
    expect(gate(found, 'image').message).toMatch(/acme\/web:v1\.2\.0 exists: sha256:[0-9a-f]{64}/);
    const missing = await run({ image: `${registry.host}/acme/web:v1.3.0`, ...credentials }, { realTime: true });
    expect(gate(missing, 'image')).toMatchObject({ status: 'fail', value: 'missing' });
    expect(missing.rt.masked).toContain(registry.password);
    expect(JSON.stringify(missing.rt.logs) + missing.summary).not.toContain(registry.password);
    const denied = await run(
      { image: `${registry.host}/acme/web:v1.2.0`, 'registry-username': 'ci', 'registry-password': 'wrong' },
      { realTime: true },
    );
    expect(gate(denied, 'image')).toMatchObject({ status: 'fail', value: 'error' });
  });

  it('a malformed image reference is refused before any gate runs', async () => {
    const result = await run({ image: 'ghcr.io/Acme/Web:v1' });
    expect(result.errors[0]).toMatch(/^Input 'image': image "ghcr.io\/Acme\/Web:v1": invalid repository name/);
  });
});
