/**
 * smoke: HTTP checks (retries, JSON/header/latency assertions, captures, the
 * API server's service proxy) and a load gate. The adapter only wires inputs
 * to `@deploy-actions/core/http`, which canary-promote and rollback share.
 */
import { InputError } from '@deploy-actions/core/errors';
import {
  type CheckSpec,
  type ChecksResult,
  checkSpecInput,
  kubeServiceProxy,
  type LoadGateResult,
  type LoadSpec,
  loadSpecInput,
  parseCheckSpec,
  renderChecksSummary,
  renderLoadSummary,
  runChecks,
  runLoadGate,
  type ServiceProxy,
} from '@deploy-actions/core/http';
import { defineInputs, duration, integer, string } from '@deploy-actions/core/inputs';
import { kubeInputs, kubeSource, loadKubeConfig, resolveNamespace } from '@deploy-actions/core/kube';
import { type ActionDefinition, commonInputs, type Runtime } from '@deploy-actions/core/runtime';

const STATUS_LIST = /^([1-5]\d\d|[1-5]xx)(\s*,\s*([1-5]\d\d|[1-5]xx))*$/;

export const inputs = defineInputs({
  spec: checkSpecInput({
    example: '[{ name: health, request: { url: https://api/health }, expect: { status: 200 } }]',
  }),
  url: string({ pattern: /^https?:\/\/\S+$/, example: 'https://api.example.com/health' }),
  'expect-status': string({ default: '200', pattern: STATUS_LIST, example: '200' }),
  retries: integer({ default: '0', min: 0, max: 1000 }),
  'retry-interval': duration({ default: '10s' }),
  load: loadSpecInput({
    example: '{ url: https://api/health, rate: 1000, duration: 30s, thresholds: { p99: 250ms } }',
  }),
  ...kubeInputs,
  ...commonInputs,
});

type Inputs = ReturnType<typeof inputs.parse>;

/** The `url` shorthand as a one-check spec, parsed like any other so it is validated the same way. */
function shorthandSpec(url: string, expectStatus: string): CheckSpec {
  const statuses = expectStatus.split(',').map((status) => status.trim());
  const yaml = `- name: ${JSON.stringify(url)}\n  request: { url: ${JSON.stringify(url)} }\n  expect: { status: ${JSON.stringify(statuses)} }\n`;
  return parseCheckSpec(yaml, { source: 'input url' });
}

function usesCluster(spec: CheckSpec | undefined, load: LoadSpec | undefined): boolean {
  return (
    spec?.checks.some((check) => check.request.target.kind === 'service') === true || load?.target.kind === 'service'
  );
}

async function connectCluster(rt: Runtime, values: Inputs): Promise<ServiceProxy> {
  // loadKubeConfig imports client-node on first use: only runs with service targets pay for it.
  const { config, origin } = await loadKubeConfig(kubeSource(rt, values));
  rt.log.info(`Reaching services through the API server (${origin})`);
  return kubeServiceProxy(
    config,
    resolveNamespace(values.namespace, config.getContextObject(config.getCurrentContext())?.namespace),
  );
}

function planText(spec: CheckSpec | undefined, load: LoadSpec | undefined): string {
  const lines = ['## Smoke (dry run): nothing was sent', ''];
  for (const check of spec?.checks ?? []) {
    const target = check.request.target;
    const where =
      target.kind === 'url'
        ? target.url
        : `service ${target.namespace ?? '(namespace input)'}/${target.service}:${target.port}${target.path}`;
    const after = check.dependsOn.length > 0 ? ` after ${check.dependsOn.join(', ')}` : '';
    lines.push(`- ${check.name}: ${check.request.method} ${where}${after}`);
  }
  if (load !== undefined) {
    const model = load.model.kind === 'rate' ? `${load.model.rate} req/s` : `${load.model.connections} connections`;
    lines.push(`- load: ${model} for ${load.durationMs / 1000}s`);
  }
  return `${lines.join('\n')}\n`;
}

/** Where a missed min-rate went: requests the target never got in time, or never answered. */
function shortfall(result: LoadGateResult): string {
  const late = result.model.startsWith('rate')
    ? `${result.late} late (not sent within ${result.durationMs / 1000}s: every connection was busy)`
    : `${result.late} answered after the end`;
  return `; ${late}, ${result.unanswered} unanswered`;
}

const smoke: ActionDefinition<Inputs> = {
  name: 'smoke',
  inputs,
  async run(rt, values) {
    if (values.spec !== undefined && values.url !== undefined) {
      throw new InputError('url', 'cannot be combined with spec (add the URL as a check in the spec)', values.url, '');
    }
    const spec =
      values.spec ?? (values.url !== undefined ? shorthandSpec(values.url, values['expect-status']) : undefined);
    const load = values.load;
    if (spec === undefined && load === undefined) {
      throw new InputError(
        'spec',
        'is required (or url, or load)',
        undefined,
        '[{ name: health, request: { url: https://api/health } }]',
      );
    }
    if (values['dry-run']) {
      const plan = planText(spec, load);
      rt.summary.append(plan);
      return {
        result: { verdict: 'dry-run', checks: spec?.checks.length ?? 0, load: load !== undefined },
        outputs: { passed: 0, failed: 0, report: plan },
      };
    }
    const serviceProxy = usesCluster(spec, load) ? await connectCluster(rt, values) : undefined;

    let checks: ChecksResult | undefined;
    if (spec !== undefined) {
      checks = await rt.log.group(`Smoke checks (${spec.checks.length})`, () =>
        runChecks(spec, {
          clock: rt.clock,
          log: rt.log,
          mask: (secret) => rt.mask(secret),
          signal: rt.signal,
          serviceProxy,
          defaults: { retries: values.retries, retryIntervalMs: values['retry-interval'] },
        }),
      );
    }
    let loadResult: LoadGateResult | undefined;
    let loadSkipped: string | undefined;
    if (load !== undefined) {
      if (checks !== undefined && !checks.passed) loadSkipped = 'skipped: the smoke checks failed';
      else {
        loadResult = await rt.log.group('Load gate', () =>
          runLoadGate(load, { serviceProxy, signal: rt.signal, mask: (secret) => rt.mask(secret) }),
        );
      }
    }

    const report = [
      checks === undefined ? '' : renderChecksSummary(checks),
      loadResult === undefined ? '' : renderLoadSummary(loadResult),
      loadSkipped === undefined ? '' : `## ⏭️ Load gate ${loadSkipped}\n`,
    ]
      .filter((part) => part !== '')
      .join('\n');
    rt.summary.append(report);

    const failures: string[] = [];
    if (checks !== undefined && !checks.passed) {
      const failed = checks.checks.filter((check) => check.outcome !== 'passed');
      failures.push(
        `${failed.length} of ${checks.checks.length} smoke checks did not pass: ${failed
          .map((check) => `${check.name} (${check.error ?? check.outcome})`)
          .join('; ')}`,
      );
    }
    if (loadResult !== undefined && !loadResult.passed) {
      const missed = loadResult.thresholds.filter((t) => !t.passed);
      failures.push(
        missed.length > 0
          ? `load gate failed: ${missed.map((t) => `${t.name} ${t.actual} (wanted ${t.expected}${t.name === 'min-rate' ? shortfall(loadResult) : ''})`).join(', ')}`
          : 'load gate failed: no response at all',
      );
    }
    const passed = checks?.counts.passed ?? 0;
    const failed = (checks?.counts.failed ?? 0) + (checks?.counts.skipped ?? 0);
    return {
      result: { checks, load: loadResult ?? (loadSkipped === undefined ? undefined : { skipped: loadSkipped }) },
      outputs: { passed, failed, report },
      ...(failures.length > 0 ? { failure: failures.join('; ') } : {}),
    };
  },
};

export default smoke;
