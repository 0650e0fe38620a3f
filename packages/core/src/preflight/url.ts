/** url: a staging URL (or a list of smoke checks, in the smoke action's format) answers healthy. */
import { stringify } from 'yaml';
import { parseCheckSpec } from '../http/parse';
import { runChecks } from '../http/runner';
import type { CheckSpec } from '../http/spec';
import { configError, optionalString } from './config';
import type { GateDefinition } from './types';

interface UrlConfig {
  spec: CheckSpec;
}

export const urlGate: GateDefinition<UrlConfig> = {
  name: 'url',
  title: 'Staging URL healthy',
  prepare(raw, source) {
    const url = optionalString(raw, 'url', source);
    const checks = raw['checks'];
    if ((url === undefined) === (checks === undefined)) {
      throw configError(
        source,
        'url',
        'give either url or checks (smoke checks)',
        'https://staging.example.com/health',
      );
    }
    const status = optionalString(raw, 'expect-status', source) ?? '200';
    const document =
      url !== undefined
        ? [{ name: url, request: { url }, expect: { status: status.split(',').map((s) => s.trim()) } }]
        : checks;
    try {
      return {
        spec: parseCheckSpec(stringify(document), {
          source: source.inputs?.['url'] ? 'input url' : `${source.path}.checks`,
        }),
      };
    } catch (error) {
      throw configError(source, url !== undefined ? 'url' : 'checks', (error as Error).message);
    }
  },
  async run(config, ctx) {
    const result = await runChecks(config.spec, { clock: ctx.clock, log: ctx.log, mask: ctx.mask, signal: ctx.signal });
    const failed = result.checks.filter((c) => c.outcome !== 'passed');
    const first = result.checks[0];
    return {
      status: result.passed ? 'pass' : 'fail',
      value:
        result.checks.length === 1 && first
          ? `${first.status ?? 'no answer'}${first.latencyMs !== undefined ? ` in ${Math.round(first.latencyMs)} ms` : ''}`
          : `${result.counts.passed} of ${result.checks.length} passed`,
      limit: result.checks.length === 1 ? 'healthy answer' : 'all checks pass',
      message: result.passed
        ? `${result.checks.map((c) => c.name).join(', ')} answered healthy`
        : failed.map((c) => `${c.name}: ${c.error ?? c.outcome}`).join('; '),
      link:
        config.spec.checks.length === 1 && config.spec.checks[0]!.request.target.kind === 'url'
          ? config.spec.checks[0]!.request.target.url
          : undefined,
      details: result,
    };
  },
};
