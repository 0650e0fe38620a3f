/**
 * metrics: Prometheus conditions ("database connections < 15", "CPU < 60%") in the analysis format
 * canary-promote reads, each queried once at the run's clock and judged against its max / min.
 */
import { UserError } from '../errors';
import { createProvider } from '../metrics/engine';
import { placeholdersIn } from '../metrics/placeholders';
import { formatValue, ThresholdJudge } from '../metrics/rules';
import { type MetricSpec, parseAnalysisSpec, type ThresholdMetric } from '../metrics/spec';
import { configError, optionalString } from './config';
import type { GateDefinition } from './types';

interface MetricsConfig {
  metrics: ThresholdMetric[];
}

export const metricsGate: GateDefinition<MetricsConfig> = {
  name: 'metrics',
  title: 'Metric conditions',
  prepare(raw, source) {
    const prometheus = optionalString(raw, 'prometheus', source);
    let specs: MetricSpec[];
    try {
      specs = parseAnalysisSpec(raw['analysis'], {
        input: source.inputs?.['analysis'] ?? `${source.path}.analysis`,
        ...(prometheus ? { defaultAddress: { prometheus } } : {}),
      });
    } catch (error) {
      // The address most often comes from the prometheus-address input: say so where a metric lacks one.
      if (!prometheus && /'address' is required for provider prometheus/.test((error as Error).message))
        throw new UserError(
          `${(error as Error).message.replace(/ \(got nothing\)$/, '')}: give it in the metric, or through the input prometheus-address`,
          { hint: 'prometheus-address: http://prometheus:9090' },
        );
      if (source.inputs?.['analysis'] !== undefined) throw error;
      throw configError(source, 'analysis', (error as Error).message.replace(/^Input '[^']*'(: )?,? ?/, ''));
    }
    if (specs.length === 0)
      throw configError(
        source,
        'analysis',
        'names no metric',
        '- { name: db-connections, query: sum(pg_stat_activity_count), max: 15 }',
      );
    const metrics: ThresholdMetric[] = [];
    for (const spec of specs) {
      if (spec.kind !== 'threshold') {
        throw configError(
          source,
          'analysis',
          `metric '${spec.name}' compares versions or reads canary pods: before a release only max/min conditions apply`,
        );
      }
      const placeholders = placeholdersIn(spec.query);
      if (placeholders.length > 0) {
        throw configError(
          source,
          'analysis',
          `metric '${spec.name}' uses {{${placeholders[0]}}}: there is no canary or stable version before a release`,
        );
      }
      metrics.push(spec);
    }
    return { metrics };
  },
  async run(config, ctx) {
    const at = ctx.clock.now();
    const results = await Promise.all(
      config.metrics.map(async (metric) => {
        const judge = new ThresholdJudge({ ...metric, consecutive: 1, failureLimit: undefined });
        try {
          const value = await createProvider(metric.provider).query(metric.query, {
            at,
            window: metric.interval,
            signal: ctx.signal,
          });
          return { metric: metric.name, value, judgement: judge.judge(value), threshold: judge.threshold };
        } catch (error) {
          if (error instanceof UserError) throw error;
          return {
            metric: metric.name,
            value: undefined,
            judgement: undefined,
            threshold: judge.threshold,
            error: (error as Error).message,
          };
        }
      }),
    );
    const problems: string[] = [];
    let unsure = false;
    for (const r of results) {
      if (r.error !== undefined) problems.push(`${r.metric}: ${r.error}`);
      else if (r.judgement?.outcome === 'breach')
        problems.push(`${r.metric} = ${formatValue(r.value!)}, limit ${r.threshold}`);
      else if (r.judgement?.outcome === 'no-data') {
        if (r.judgement.failure !== undefined) problems.push(`${r.metric}: no data`);
        else unsure = true;
      }
    }
    const shown = results
      .map((r) => `${r.metric} ${r.value === undefined ? 'no data' : formatValue(r.value)}`)
      .join(', ');
    return {
      status: problems.length > 0 ? 'fail' : unsure ? 'warn' : 'pass',
      value: shown,
      limit: results.map((r) => `${r.metric} ${r.threshold}`).join(', '),
      message:
        problems.length > 0
          ? problems.join('; ')
          : `${results.length} metric condition(s) hold${unsure ? ' (some had no data)' : ''}`,
      details: results.map(({ metric, value, threshold, error }) => ({
        metric,
        value: value ?? null,
        threshold,
        error: error ?? null,
      })),
    };
  },
};
