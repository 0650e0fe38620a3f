import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { VirtualClock } from '@deploy-actions/core/clock';
import { sendWebhook, webhookPayload } from '@deploy-actions/core/notify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** A local Slack-like receiver that answers with queued statuses, then 200. */
const received: { method: string; path: string; type: string | undefined; body: unknown }[] = [];
const statuses: { status: number; headers?: Record<string, string> }[] = [];
const server = createServer(async (request, response) => {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  received.push({
    method: request.method!,
    path: request.url!,
    type: request.headers['content-type'],
    body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
  });
  const next = statuses.shift() ?? { status: 200 };
  response.writeHead(next.status, next.headers).end(next.status === 200 ? 'ok' : 'error');
});
let base = '';
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.close();
});

describe('sendWebhook', () => {
  it('posts Slack incoming-webhook JSON: text and attachment fields', async () => {
    received.length = 0;
    await sendWebhook(`${base}/services/T0/B0/abc`, {
      text: 'canary-promote: promoted',
      color: 'good',
      fields: [
        { title: 'weight', value: '100' },
        { title: 'image', value: 'ghcr.io/acme/web@sha256:0123456789abcdef0123456789abcdef' },
      ],
    });
    expect(received).toEqual([
      {
        method: 'POST',
        path: '/services/T0/B0/abc',
        type: 'application/json',
        body: {
          text: 'canary-promote: promoted',
          attachments: [
            {
              fallback: 'canary-promote: promoted',
              color: 'good',
              fields: [
                { title: 'weight', value: '100', short: true },
                { title: 'image', value: 'ghcr.io/acme/web@sha256:0123456789abcdef0123456789abcdef', short: false },
              ],
            },
          ],
        },
      },
    ]);
  });

  it('retries a 500, then succeeds; waits per Retry-After on a 429', async () => {
    received.length = 0;
    statuses.push({ status: 500 }, { status: 429, headers: { 'retry-after': '30' } });
    const clock = new VirtualClock(0);
    const auto = clock.startAutoAdvance();
    const delays: number[] = [];
    try {
      await sendWebhook(
        `${base}/hook`,
        { text: 'smoke: success' },
        { retry: { clock, random: () => 0.5, onRetry: ({ delayMs }) => delays.push(delayMs) } },
      );
    } finally {
      auto.stop();
    }
    expect(received).toHaveLength(3);
    expect(received.map((r) => r.body)).toEqual(Array(3).fill({ text: 'smoke: success', attachments: [] }));
    expect(delays).toEqual([500, 30_000]);
  });

  it('does not retry a 404, and the error names the host but not the secret path', async () => {
    received.length = 0;
    statuses.push({ status: 404 });
    const error = await sendWebhook(`${base}/services/SECRET-PATH`, { text: 'x' }).catch((e: Error) => e);
    expect(received).toHaveLength(1);
    expect((error as Error).message).toBe(`The notify webhook at ${base.slice('http://'.length)} answered HTTP 404`);
    expect((error as Error).message).not.toContain('SECRET-PATH');
  });

  it('reports an unreachable receiver without the URL', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const error = await sendWebhook(
      `http://127.0.0.1:${port}/T/secret`,
      { text: 'x' },
      { retry: { attempts: 1 } },
    ).catch((e: Error) => e);
    expect((error as Error).message).toBe(
      `The notify webhook at 127.0.0.1:${port} could not be reached (ECONNREFUSED)`,
    );
  });
});

describe('webhookPayload', () => {
  it('has no attachment when there is nothing to attach', () => {
    expect(webhookPayload({ text: 'hi' })).toEqual({ text: 'hi', attachments: [] });
  });
});
