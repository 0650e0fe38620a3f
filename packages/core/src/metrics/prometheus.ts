/** Prometheus HTTP API: instant queries (`/api/v1/query`) evaluated at the check's time. */
import {
  type MetricProvider,
  ProviderUnavailable,
  type QueryOptions,
  rejected,
  requestJson,
  toNumber,
} from './provider';

interface PrometheusAnswer {
  status?: string;
  errorType?: string;
  error?: string;
  data?: { resultType?: string; result?: unknown };
}

export class PrometheusProvider implements MetricProvider {
  private readonly endpoint: string;

  constructor(
    address: string,
    private readonly headers: Record<string, string> = {},
  ) {
    this.endpoint = `${address.replace(/\/+$/, '')}/api/v1/query`;
  }

  async validate(query: string, options: QueryOptions): Promise<void> {
    await this.query(query, options);
  }

  async query(query: string, options: QueryOptions): Promise<number | undefined> {
    // POST form: long PromQL does not hit URL length limits, and URLSearchParams encodes it.
    const form = new URLSearchParams({ query, time: (options.at / 1000).toFixed(3) });
    const answer = await requestJson('Prometheus', this.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...this.headers },
      body: form.toString(),
      signal: options.signal,
    });
    const body = answer.body as PrometheusAnswer | undefined;
    if (answer.status === 400 || answer.status === 422) {
      // bad_data (parse errors) and execution errors: the query itself is wrong.
      throw rejected(
        'Prometheus',
        query,
        `${body?.errorType ?? 'error'}: ${body?.error ?? answer.text.slice(0, 300)}`,
        'Try the query in the Prometheus UI (Graph tab) first.',
      );
    }
    if (answer.status === 401 || answer.status === 403) {
      throw rejected(
        'Prometheus',
        query,
        `HTTP ${answer.status}: not allowed; set headers (e.g. Authorization) on the metric`,
      );
    }
    if (answer.status !== 200 || body?.status !== 'success') {
      throw new ProviderUnavailable(
        `Prometheus answered HTTP ${answer.status}: ${body?.error ?? answer.text.slice(0, 200)}`,
      );
    }
    const { resultType, result } = body.data ?? {};
    if (resultType === 'scalar') return toNumber((result as [number, string])[1]);
    if (resultType === 'vector') {
      const series = result as Array<{ metric: Record<string, string>; value: [number, string] }>;
      if (series.length === 0) return undefined;
      if (series.length > 1) {
        const labels = series
          .slice(0, 3)
          .map((item) => JSON.stringify(item.metric))
          .join(', ');
        throw rejected(
          'Prometheus',
          query,
          `it returned ${series.length} series (${labels}...) but a check needs one number`,
          'Aggregate it, e.g. sum(...) or max(...).',
        );
      }
      return toNumber(series[0]!.value[1]);
    }
    throw rejected(
      'Prometheus',
      query,
      `it returned a ${resultType} but a check needs one number (an instant vector of one series, or a scalar)`,
      'Remove the range selector [1m] at the end, or wrap it in rate(...).',
    );
  }
}
