/**
 * Datadog metrics query API (`GET /api/v1/query?from&to&query`): the value is
 * the last non-null point of the single series over [at − window, at].
 * The keys travel only in headers; callers mask them (see `secretsOf`).
 */
import {
  type MetricProvider,
  ProviderUnavailable,
  type QueryOptions,
  rejected,
  requestJson,
  toNumber,
} from './provider';

interface DatadogAnswer {
  status?: string;
  error?: string;
  errors?: string[];
  series?: Array<{ pointlist?: Array<[number, number | null]>; scope?: string; metric?: string }>;
}

export class DatadogProvider implements MetricProvider {
  constructor(
    private readonly address: string,
    private readonly apiKey: string,
    private readonly applicationKey: string,
  ) {}

  async validate(query: string, options: QueryOptions): Promise<void> {
    await this.query(query, { ...options, window: Math.max(options.window, 300_000) });
  }

  async query(query: string, options: QueryOptions): Promise<number | undefined> {
    const url = new URL('/api/v1/query', this.address);
    url.searchParams.set('from', String(Math.floor((options.at - options.window) / 1000)));
    url.searchParams.set('to', String(Math.floor(options.at / 1000)));
    url.searchParams.set('query', query);
    const answer = await requestJson('Datadog', url.toString(), {
      headers: { 'DD-API-KEY': this.apiKey, 'DD-APPLICATION-KEY': this.applicationKey },
      signal: options.signal,
    });
    const body = answer.body as DatadogAnswer | undefined;
    const message = body?.errors?.join('; ') ?? body?.error ?? answer.text.slice(0, 300);
    if (answer.status === 400) throw rejected('Datadog', query, message, 'Try the query in a Datadog notebook first.');
    if (answer.status === 401 || answer.status === 403)
      throw rejected('Datadog', query, `HTTP ${answer.status}: ${message} (check api-key and application-key)`);
    if (answer.status !== 200 || body === undefined)
      throw new ProviderUnavailable(`Datadog answered HTTP ${answer.status}: ${message}`);
    if (body.status === 'error') throw rejected('Datadog', query, message);
    const series = body.series ?? [];
    if (series.length === 0) return undefined;
    if (series.length > 1) {
      throw rejected(
        'Datadog',
        query,
        `it returned ${series.length} series (${series
          .slice(0, 3)
          .map((item) => item.scope)
          .join(', ')}) but a check needs one`,
        'Aggregate it, e.g. sum:trace.http.request.errors{version:{{canary}}}.as_count()',
      );
    }
    const points = series[0]!.pointlist ?? [];
    for (let index = points.length - 1; index >= 0; index--) {
      const value = toNumber(points[index]![1]);
      if (value !== undefined) return value;
    }
    return undefined;
  }
}
