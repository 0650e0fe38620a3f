/**
 * Issue #17 output: a Prometheus URL with credentials (http://user:password@host) was printed in clear in the
 * log, the summary, the outputs and the rollout record. The password goes as a Basic Authorization header
 * (fetch refuses URLs with credentials) and is masked everywhere; the record keeps the address as REDACTED.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { REDACTED } from '@deploy-actions/core/state';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Cluster, startCluster } from './cluster';

let c: Cluster;
let server: Server;
let port: number;
const seen: string[] = [];

beforeAll(async () => {
  c = await startCluster(1790);
  // A Prometheus query API that answers 0 to requests with the right Basic credentials, 401 to others.
  server = createServer((req, res) => {
    seen.push(req.headers.authorization ?? '');
    res.setHeader('content-type', 'application/json');
    if (req.headers.authorization !== `Basic ${Buffer.from('admin:hunter2-secret').toString('base64')}`) {
      res.statusCode = 401;
      res.end(JSON.stringify({ status: 'error', error: 'unauthorized' }));
      return;
    }
    res.end(
      JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [0, '0'] }] } }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  await c?.stop();
});

it('queries with the credentials and never prints them', async () => {
  await c.app('quince', 'ghcr.io/acme/quince:v1');
  const address = `http://admin:hunter2-secret@127.0.0.1:${port}`;
  const run = await c.run({
    deployments: 'quince',
    images: 'app=ghcr.io/acme/quince:v2',
    steps: '50,100',
    pause: '30s',
    'pause-at': '50',
    analysis: `[{ name: error-rate, provider: prometheus, address: "${address}", query: 'sum(rate(http_requests_total{version="{{canary}}",code=~"5.."}[1m])) or vector(0)', max: 0.01 }]`,
  });
  expect(run.errors).toEqual([]);
  expect(run.outputs['result']).toBe('paused');
  expect(seen.length).toBeGreaterThan(1);
  expect(new Set(seen)).toEqual(new Set([`Basic ${Buffer.from('admin:hunter2-secret').toString('base64')}`]));
  const printed = [
    ...run.rt.lines('info'),
    ...run.rt.lines('warning'),
    ...run.rt.lines('debug'),
    run.summary,
    ...Object.values(run.outputs),
  ].join('\n');
  expect(printed).not.toContain('hunter2-secret');
  const record = c.find<{ data?: Record<string, string> }>('v1/configmaps', 'deploy-actions-quince');
  expect(JSON.stringify(record?.data)).not.toContain('hunter2-secret');
  expect(JSON.parse(record!.data!['record']!).plan.inputs.analysis[0].address).toBe(REDACTED);
});
