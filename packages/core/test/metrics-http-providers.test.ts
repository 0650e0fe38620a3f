import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DatadogProvider, parseAnalysisSpec, secretsOf, substitute, WebProvider } from '@deploy-actions/core/metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let server: Server;
let base: string;
const requests: IncomingMessage[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    requests.push(request);
    const url = new URL(request.url!, 'http://x');
    response.setHeader('content-type', 'application/json');
    if (url.pathname === '/api/v1/query') {
      const query = url.searchParams.get('query')!;
      if (query.includes('typo(')) {
        response.statusCode = 400;
        response.end(
          JSON.stringify({ errors: ["Error parsing query: unable to parse typo(: Rule 'scope_expr' didn't match"] }),
        );
        return;
      }
      const series = query.includes('version:none')
        ? []
        : [
            {
              scope: 'version:v2',
              pointlist: [
                [1, 0.02],
                [2, 0.03],
                [3, null],
              ],
            },
          ];
      response.end(JSON.stringify({ status: 'ok', series }));
      return;
    }
    response.end(JSON.stringify({ data: { versions: [{ name: url.searchParams.get('v'), errorRate: '0.004' }] } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => server.close());

describe('DatadogProvider', () => {
  it('sends the keys in headers and reads the last non-null point', async () => {
    const provider = new DatadogProvider(base, 'api-secret', 'app-secret');
    const value = await provider.query('avg:errors{version:v2}', { at: 1_700_000_000_000, window: 10_000 });
    expect(value).toBe(0.03);
    const sent = requests.at(-1)!;
    expect(sent.headers['dd-api-key']).toBe('api-secret');
    expect(sent.headers['dd-application-key']).toBe('app-secret');
    expect(sent.url).toContain('from=1699999990&to=1700000000');
    expect(await provider.query('avg:errors{version:none}', { at: Date.now(), window: 10_000 })).toBeUndefined();
  });

  it("rejects a bad query with Datadog's message", async () => {
    const provider = new DatadogProvider(base, 'k', 'a');
    await expect(provider.validate('typo(', { at: Date.now(), window: 10_000 })).rejects.toThrow(
      /Datadog rejected the query "typo\(": Error parsing query/,
    );
  });

  it('lists the keys for masking', () => {
    const metrics = parseAnalysisSpec(
      `- name: dd\n  provider: datadog\n  api-key: k1\n  application-key: k2\n  query: avg:x{*}\n  max: 1`,
    );
    expect(secretsOf(metrics)).toEqual(['k1', 'k2']);
  });
});

describe('WebProvider', () => {
  it('reads a number by JSONPath from a URL whose placeholders are URL-encoded', async () => {
    const url = substitute(`${base}/status?v={{canary}}`, { canary: 'v2 & "beta"' }, 'test', encodeURIComponent);
    expect(url).toContain('v=v2%20%26%20%22beta%22');
    const provider = new WebProvider('$.data.versions[0].errorRate');
    expect(await provider.query(url, { at: Date.now(), window: 10_000 })).toBe(0.004);
    expect(await new WebProvider('$.data.missing').query(url, { at: Date.now(), window: 10_000 })).toBeUndefined();
  });
});
