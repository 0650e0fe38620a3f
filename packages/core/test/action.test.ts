import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { VirtualClock } from '@deploy-actions/core/clock';
import { UserError } from '@deploy-actions/core/errors';
import { defineInputs, integer } from '@deploy-actions/core/inputs';
import type { Runtime } from '@deploy-actions/core/runtime';
import {
  type ActionDefinition,
  type ActionOutcome,
  COMMON_INPUT_NAMES,
  commonInputs,
  createMemoryRuntime,
  executeAction,
  failedWith,
} from '@deploy-actions/core/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const schema = defineInputs({ ...commonInputs, replicas: integer({ min: 1, default: '2' }) });
type Inputs = ReturnType<typeof schema.parse>;

function action(
  run: (rt: Runtime, inputs: Inputs) => Promise<ActionOutcome>,
): ActionDefinition<Inputs> & { calls: number } {
  const def = {
    name: 'smoke',
    inputs: schema,
    calls: 0,
    run: (rt: Runtime, inputs: Inputs) => {
      def.calls++;
      return run(rt, inputs);
    },
  };
  return def;
}

describe('executeAction', () => {
  it('exports the common inputs every action.yml declares', () => {
    expect(COMMON_INPUT_NAMES).toEqual(['token', 'environment', 'notify-webhook', 'dry-run', 'timeout']);
  });

  it('on bad input: one error line naming the input, exit 1, nothing run and no outputs', async () => {
    const def = action(async () => ({ result: {} }));
    const rt = createMemoryRuntime({ inputs: { replicas: 'two' } });
    expect(await executeAction(def, rt)).toBe(1);
    expect(def.calls).toBe(0);
    expect(rt.logs).toEqual([
      { level: 'error', message: `Input 'replicas': must be a whole number (got "two"). Example: replicas: 1` },
    ]);
    expect(rt.outputs).toEqual({});
  });

  it('sets outputs and the result document, flushes the summary, exit 0', async () => {
    const clock = new VirtualClock(Date.UTC(2026, 0, 1));
    const def = action(async (rt, inputs) => {
      await rt.clock.sleep(90_000);
      rt.summary.append(`Checked ${inputs.replicas} replicas (dry run: ${inputs['dry-run']})\n`);
      return { result: { passed: 3 }, outputs: { passed: 3, failed: 0 } };
    });
    const rt = createMemoryRuntime({ clock });
    const running = executeAction(def, rt);
    await clock.advance(90_000);
    expect(await running).toBe(0);
    expect(rt.outputs).toEqual({
      passed: '3',
      failed: '0',
      result: JSON.stringify({
        action: 'smoke',
        verdict: 'success',
        startedAt: '2026-01-01T00:00:00.000Z',
        finishedAt: '2026-01-01T00:01:30.000Z',
        passed: 3,
      }),
    });
    expect(rt.flushedSummary).toBe('Checked 2 replicas (dry run: false)\n');
    expect(rt.lines('error')).toEqual([]);
  });

  it('a failure verdict exits 1 with that one error line, outputs still set', async () => {
    const def = action(async () => ({
      result: { failed: 1 },
      outputs: { failed: 1 },
      failure: '1 of 3 checks failed',
    }));
    const rt = createMemoryRuntime();
    expect(await executeAction(def, rt)).toBe(1);
    expect(rt.lines('error')).toEqual(['1 of 3 checks failed']);
    expect(JSON.parse(rt.outputs['result']!)).toMatchObject({ verdict: 'failure', failed: 1 });
  });

  it('an action-defined result output wins over the JSON document, which goes to report', async () => {
    const def = action(async () => ({ result: { weight: 100 }, outputs: { result: 'promoted' } }));
    const rt = createMemoryRuntime();
    expect(await executeAction(def, rt)).toBe(0);
    expect(Object.keys(rt.outputs).sort()).toEqual(['report', 'result']);
    expect(rt.outputs['result']).toBe('promoted');
    expect(JSON.parse(rt.outputs['report']!)).toMatchObject({ weight: 100, verdict: 'success' });
  });

  it('a verdict-word result (verdictResult) says failed when the run throws, the document in report, with the outputs the error carries', async () => {
    const def = {
      ...action(async () => {
        throw failedWith(new UserError('Promotion of v2 did not finish'), { phase: 'promoting', weight: 100 });
      }),
      verdictResult: true,
    };
    const rt = createMemoryRuntime();
    expect(await executeAction(def, rt)).toBe(1);
    expect(rt.outputs['result']).toBe('failed');
    expect(rt.outputs['phase']).toBe('promoting');
    expect(rt.outputs['weight']).toBe('100');
    expect(JSON.parse(rt.outputs['report']!)).toMatchObject({
      action: 'smoke',
      verdict: 'failure',
      error: 'Promotion of v2 did not finish',
    });
    // Refused inputs set no outputs, as for every action: nothing ran.
    const refused = createMemoryRuntime({ inputs: { replicas: 'two' } });
    expect(await executeAction({ ...action(async () => ({ result: {} })), verdictResult: true }, refused)).toBe(1);
    expect(refused.outputs).toEqual({});
  });

  it('a UserError is one readable line with its hint and no stack', async () => {
    const def = action(async () => {
      throw new UserError(`Deployment "web" not found in namespace "shop"`, { hint: 'Check the deployments input.' });
    });
    const rt = createMemoryRuntime();
    expect(await executeAction(def, rt)).toBe(1);
    expect(rt.lines('error')).toEqual([`Deployment "web" not found in namespace "shop" Check the deployments input.`]);
    expect(rt.lines('debug')).toEqual([]);
    expect(JSON.parse(rt.outputs['result']!)).toMatchObject({
      verdict: 'failure',
      error: expect.stringContaining('web'),
    });
  });

  it('an unexpected error is one line plus its stack at debug level', async () => {
    const def = action(async () => {
      throw new TypeError('cannot read properties of undefined');
    });
    const rt = createMemoryRuntime();
    expect(await executeAction(def, rt)).toBe(1);
    expect(rt.lines('error')).toEqual(['smoke failed unexpectedly: cannot read properties of undefined']);
    expect(rt.lines('debug')[0]).toMatch(/^TypeError: cannot read properties of undefined\n\s+at /);
  });

  it('masks secret inputs before anything runs', async () => {
    const def = action(async (rt) => {
      rt.log.info(`token is ${rt.inputs.get('token')}`);
      return { result: {}, outputs: { echo: rt.inputs.get('token')! } };
    });
    const rt = createMemoryRuntime({ inputs: { token: 'ghs_abcdef123456' } });
    expect(await executeAction(def, rt)).toBe(0);
    expect(rt.lines('info')).toEqual(['token is ***']);
    expect(rt.outputs['echo']).toBe('***');
  });

  it('timeout aborts the signal and the error names the step that was running', async () => {
    const clock = new VirtualClock(0);
    let aborted: unknown;
    const def = action(async (rt) => {
      await rt.log.group('Canary 25%: analysis', async () => {
        try {
          await rt.clock.sleep(60 * 60_000, rt.signal);
        } catch (error) {
          aborted = error;
          throw error;
        }
      });
      return { result: {} };
    });
    const rt = createMemoryRuntime({ clock, inputs: { timeout: '10m' } });
    const running = executeAction(def, rt);
    await clock.advance(10 * 60_000);
    expect(await running).toBe(1);
    const line = `Timed out after 10m (input 'timeout') while running step "Canary 25%: analysis"`;
    expect((aborted as Error).message).toBe(line);
    expect(rt.lines('error')).toEqual([line]);
    expect(clock.now()).toBe(10 * 60_000);
  });

  it('a run that ignores the timeout is given up on after a grace period', async () => {
    const clock = new VirtualClock(0);
    const def = action(async (rt) => {
      await rt.clock.sleep(60 * 60_000); // no signal: deaf to the timeout
      return { result: {} };
    });
    const rt = createMemoryRuntime({ clock, inputs: { timeout: '1m' } });
    const running = executeAction(def, rt);
    await clock.advance(60_000 + 10_000);
    expect(await running).toBe(1);
    expect(rt.lines('error')).toEqual([`Timed out after 1m (input 'timeout') while running smoke`]);
  });
});

describe('executeAction notify-webhook', () => {
  const received: { body: unknown; url: string }[] = [];
  let failNext = 0;
  const server = createServer(async (request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    if (failNext > 0) {
      failNext--;
      response.writeHead(500).end('oops');
      return;
    }
    received.push({ body: JSON.parse(Buffer.concat(chunks).toString('utf8')), url: request.url! });
    response.end('ok');
  });
  let base = '';
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.close();
  });

  it('posts the verdict and key fields, and never logs the URL', async () => {
    received.length = 0;
    const clock = new VirtualClock(0);
    const def = action(async () => ({ result: {}, outputs: { passed: 2, failed: 1 }, failure: '1 check failed' }));
    const webhook = `${base}/services/T1/B2/secret-path`;
    const rt = createMemoryRuntime({
      clock,
      inputs: { 'notify-webhook': webhook },
      env: { GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'acme/shop', GITHUB_RUN_ID: '7' },
    });
    expect(await executeAction(def, rt)).toBe(1);
    expect(received).toEqual([
      {
        url: '/services/T1/B2/secret-path',
        body: {
          text: 'smoke: failure in acme/shop',
          attachments: [
            {
              fallback: 'smoke: failure in acme/shop',
              color: 'danger',
              fields: [
                { title: 'error', value: '1 check failed', short: true },
                { title: 'passed', value: '2', short: true },
                { title: 'failed', value: '1', short: true },
                { title: 'run', value: 'https://github.com/acme/shop/actions/runs/7', short: false },
              ],
            },
          ],
        },
      },
    ]);
    expect(JSON.stringify(rt.logs)).not.toContain('secret-path');
  });

  it('leaves JSON documents out of the message and cuts a very long field saying where the rest is', async () => {
    received.length = 0;
    const restored = Array.from(
      { length: 40 },
      (_, i) => `deployment/svc-${i}: rev 7 → 6, app ghcr.io/acme/svc-${i}:v2 → v1`,
    );
    const def = action(async () => ({
      result: {},
      outputs: { report: JSON.stringify({ big: 'document' }), 'restored-images': restored.join('\n') },
    }));
    const rt = createMemoryRuntime({ clock: new VirtualClock(0), inputs: { 'notify-webhook': `${base}/hook` } });
    expect(await executeAction(def, rt)).toBe(0);
    const fields = (received[0]!.body as { attachments: { fields: { title: string; value: string }[] }[] })
      .attachments[0]!.fields;
    expect(fields.map((f) => f.title)).toEqual(['restored-images']);
    expect(fields[0]!.value).toContain('deployment/svc-0: rev 7 → 6');
    expect(fields[0]!.value).toMatch(/… \(cut; the job summary has all of it\)$/);
  });

  it('a webhook that keeps failing is a warning, not a failure', async () => {
    received.length = 0;
    failNext = 3;
    const clock = new VirtualClock(0);
    const auto = clock.startAutoAdvance();
    try {
      const def = action(async () => ({ result: {} }));
      const rt = createMemoryRuntime({ clock, inputs: { 'notify-webhook': `${base}/hook/xyz-secret` } });
      expect(await executeAction(def, rt)).toBe(0);
      expect(rt.lines('warning')).toEqual([
        `Could not post to notify-webhook: The notify webhook at ${base.slice(7)} answered HTTP 500`,
      ]);
      expect(JSON.stringify(rt.logs)).not.toContain('xyz-secret');
      expect(received).toEqual([]);
    } finally {
      auto.stop();
      failNext = 0;
    }
  });
});
