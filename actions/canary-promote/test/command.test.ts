/**
 * router: command with no deployments or selector: a platform outside Kubernetes (nextgen-canary.yml's
 * Azure application gateway). No kubeconfig exists (KUBECONFIG points nowhere, HOME has no ~/.kube): the
 * run must never look for one. A stand-in `az` on PATH (a Node script the test writes) appends its
 * arguments to a file, and a loopback Prometheus answers the analysis queries: what the test asserts is
 * the commands the platform received, in order, and the verdicts.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualClock } from '@deploy-actions/core/clock';
import { type RunOptions, runAction } from '@deploy-actions/testkit/cluster';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import canaryPromote from '../src/main';

const dir = mkdtempSync(join(tmpdir(), 'canary-command-'));
const calls = join(dir, 'az-calls.jsonl');
let clock: VirtualClock;
let stopAuto: () => void;
let server: Server;
let prometheus: string;
/** Queries the loopback Prometheus answered, in order. */
let queries: string[] = [];
/** Error rate it answers, given the weight the last set-weight command sent. */
let errorRate: (weight: number) => number = () => 0.001;

/** Every az call so far, as argument arrays. */
const azCalls = (): string[][] =>
  existsSync(calls)
    ? readFileSync(calls, 'utf8')
        .trim()
        .split('\n')
        .filter((line) => line)
        .map((line) => JSON.parse(line))
    : [];
/** The weight of each call (set-weight and abort end with it), or `promote`. */
const weights = () => azCalls().map((argv) => (argv[0] === 'container' ? 'promote' : argv.at(-1)));

beforeAll(async () => {
  writeFileSync(
    join(dir, 'az'),
    `#!/usr/bin/env node\nrequire('node:fs').appendFileSync(${JSON.stringify(calls)}, JSON.stringify(process.argv.slice(2)) + '\\n');\n`,
  );
  chmodSync(join(dir, 'az'), 0o755);
  clock = new VirtualClock();
  stopAuto = clock.startAutoAdvance().stop;
  server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://loopback');
    let body = '';
    for await (const chunk of req) body += chunk;
    const query = url.searchParams.get('query') ?? new URLSearchParams(body).get('query') ?? '';
    queries.push(query);
    const last = weights()
      .filter((w) => w !== 'promote')
      .at(-1);
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        status: 'success',
        data: {
          resultType: 'vector',
          result: [{ metric: {}, value: [clock.now() / 1000, String(errorRate(Number(last ?? 0)))] }],
        },
      }),
    );
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  prometheus = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  stopAuto?.();
  await new Promise((done) => server?.close(done));
});

beforeEach(() => {
  writeFileSync(calls, '');
  queries = [];
  errorRate = () => 0.001;
});

const ROUTER = `
set-weight: [az, network, application-gateway, rule, update, --name, canary, --weight, '{{weight}}']
promote: [az, container, update, --name, prod-stable-1, --image, 'ghcr.io/nextgen/market:v2.1.0']
abort: [az, network, application-gateway, rule, update, --name, canary, --weight, '0']
`;

function analysis() {
  return `
- name: error-rate
  provider: prometheus
  address: ${prometheus}
  query: sum(rate(http_requests_total{version="{{canary}}",code=~"5.."}[1m])) / sum(rate(http_requests_total{version="{{canary}}"}[1m]))
  max: 0.01
  consecutive: 2
`;
}

const run = (inputs: Record<string, string>, options: RunOptions = {}) =>
  runAction(canaryPromote, inputs, {
    ...options,
    context: {
      clock,
      workspace: dir,
      env: {
        PATH: `${dir}:${process.env['PATH']}`,
        HOME: dir,
        KUBECONFIG: join(dir, 'no-such-kubeconfig'),
        GITHUB_REPOSITORY: 'nextgen/market',
        GITHUB_REF_TYPE: 'tag',
        GITHUB_REF_NAME: 'v2.1.0',
        GITHUB_RUN_ID: '9100',
      },
      inputs: { router: 'command', 'router-config': ROUTER, steps: '5,25,50,100', pause: '1m' },
    },
  });

describe('router command without a cluster', () => {
  it('a healthy release: set-weight 5, 25, 50, each analysed, then the promote command', async () => {
    const { code, outputs, summary, errors } = await run({ analysis: analysis() });
    expect(errors).toEqual([]);
    expect(code).toBe(0);
    expect(outputs['result']).toBe('promoted');
    expect(outputs['weight']).toBe('100');
    expect(weights()).toEqual(['5', '25', '50', 'promote']);
    expect(azCalls()[0]).toEqual([
      'network',
      'application-gateway',
      'rule',
      'update',
      '--name',
      'canary',
      '--weight',
      '5',
    ]);
    // {{canary}} is the tag the run is for; one check of the query before anything runs, 6 per 1-minute step.
    expect(queries).toHaveLength(19);
    expect(queries[0]).toContain('version="v2.1.0"');
    expect(summary).toContain('### market: current → v2.1.0: ✅ promoted');
    expect(summary).toContain('| 3 | 50% | pass |');
    expect(summary).toContain('No cluster: router command ran without Kubernetes');
  });

  it('a failed step runs the abort command and fails the step; nothing else runs', async () => {
    errorRate = (weight) => (weight >= 25 ? 0.05 : 0.001);
    const { code, outputs, errors } = await run({ analysis: analysis() });
    expect(code).toBe(1);
    expect(outputs['result']).toBe('aborted');
    expect(weights()).toEqual(['5', '25', '0']);
    expect(azCalls().at(-1)).toEqual([
      'network',
      'application-gateway',
      'rule',
      'update',
      '--name',
      'canary',
      '--weight',
      '0',
    ]);
    expect(errors.join('\n')).toContain('Aborted because step 2 (25%): error-rate was 0.05, above its max of 0.01');
  });

  it('on-step-failure: previous-step sets the previous weight and stops there, paused', async () => {
    errorRate = (weight) => (weight >= 50 ? 0.05 : 0.001);
    const { code, outputs, errors } = await run({ analysis: analysis(), 'on-step-failure': 'previous-step' });
    expect(code).toBe(0);
    expect(outputs['result']).toBe('paused');
    expect(outputs['weight']).toBe('25');
    expect(weights()).toEqual(['5', '25', '50', '25']);
    expect(errors.join('\n')).toMatch(/^Back at 25% because step 3 \(50%\)/);
  });

  describe('no promote command in router-config', () => {
    // Only set-weight (abort defaults to set-weight 0): with no cluster no stable Deployment takes the new
    // version, so promotion must leave all traffic on it (set-weight 100), never send it back (weight 0).
    const SET_WEIGHT_ONLY = `
set-weight: [az, network, application-gateway, rule, update, --name, canary, --weight, '{{weight}}']
`;

    it('promotion runs set-weight 100: all traffic stays on the new version, and the log and summary say so', async () => {
      const { code, outputs, summary, errors, rt } = await run({
        analysis: analysis(),
        steps: '5,50,100',
        'router-config': SET_WEIGHT_ONLY,
      });
      expect(errors).toEqual([]);
      expect(code).toBe(0);
      expect(outputs['result']).toBe('promoted');
      expect(outputs['weight']).toBe('100');
      expect(weights()).toEqual(['5', '50', '100']);
      expect(azCalls().at(-1)).toEqual([
        'network',
        'application-gateway',
        'rule',
        'update',
        '--name',
        'canary',
        '--weight',
        '100',
      ]);
      expect(rt.lines('info').join('\n')).toContain('router-config has no promote command: set-weight runs with 100');
      expect(summary).toContain('### market: current → v2.1.0: ✅ promoted');
      expect(summary).toContain('no promote command: set-weight command ran with weight 100');
    });

    it('a dry run plans set-weight 100 for the promotion', async () => {
      const { code, outputs, summary } = await run({
        analysis: analysis(),
        steps: '5,50,100',
        'router-config': SET_WEIGHT_ONLY,
        'dry-run': 'true',
      });
      expect(code).toBe(0);
      expect(outputs['result']).toBe('planned');
      expect(weights()).toEqual([]);
      expect(summary).toContain('(no promote command: set-weight 100)');
    });

    it('action: promote of a paused release runs set-weight 100', async () => {
      const { code, outputs } = await run({ action: 'promote', 'router-config': SET_WEIGHT_ONLY });
      expect(code).toBe(0);
      expect(outputs['result']).toBe('promoted');
      expect(weights()).toEqual(['100']);
    });

    it('a failed step still aborts with set-weight 0', async () => {
      errorRate = (weight) => (weight >= 50 ? 0.05 : 0.001);
      const { code, outputs, errors } = await run({
        analysis: analysis(),
        steps: '5,50,100',
        'router-config': SET_WEIGHT_ONLY,
      });
      expect(code).toBe(1);
      expect(outputs['result']).toBe('aborted');
      expect(outputs['weight']).toBe('0');
      expect(weights()).toEqual(['5', '50', '0']);
      expect(errors.join('\n')).toContain('Aborted because step 2 (50%)');
    });

    it('action: abort sends set-weight 0', async () => {
      const { code, outputs } = await run({ action: 'abort', 'router-config': SET_WEIGHT_ONLY });
      expect(code).toBe(1);
      expect(outputs['result']).toBe('aborted');
      expect(weights()).toEqual(['0']);
    });
  });

  it('provider kubernetes is refused before any command runs', async () => {
    const { code, errors } = await run({
      analysis: '[{ name: restarts, provider: kubernetes, signal: restarts, max: 0 }]',
    });
    expect(code).toBe(1);
    expect(errors.join('\n')).toContain(
      "metric 'restarts' uses provider kubernetes, which reads the canary's pods in a cluster",
    );
    expect(azCalls()).toEqual([]);
  });

  it('a cancelled job: the post step runs the abort command', async () => {
    let cancel: (() => void) | undefined;
    // Cancelled during the first step's analysis (the check before any command is the query validation).
    errorRate = () => {
      if (weights().length > 0) setImmediate(() => cancel?.());
      return 0.001;
    };
    const main = await run(
      { analysis: analysis(), pause: '10m' },
      { onRuntime: (rt) => (cancel = () => rt.abort(new Error('The operation was canceled.'))) },
    );
    expect(main.code).toBe(1);
    expect(weights()).toEqual(['5']);
    const state = Object.fromEntries(
      ['rollout-app', 'rollout-finished', 'rollout-mode'].map((key) => [key, main.rt.state.get(key) ?? '']),
    );
    expect(state).toEqual({ 'rollout-app': 'market', 'rollout-finished': 'false', 'rollout-mode': 'command' });
    errorRate = () => 0.001;
    const post = await run({ analysis: analysis() }, { phase: 'post', state });
    expect(post.code).toBe(0);
    expect(weights()).toEqual(['5', '0']);
    expect(post.warnings.join('\n')).toContain('Aborted by the post step');
    expect(post.summary).toContain('❌ aborted');
  });
});
