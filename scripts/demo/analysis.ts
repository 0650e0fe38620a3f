/**
 * The runbook's analysis as canary-promote's `analysis` input: error rate over 1 % for 2 checks, p99 over
 * 2,000 ms for 3. Read by a real Prometheus scraping kube-sim's apps when the `prometheus` package is
 * installed (the runbook's own kind of query), else from the demo's loopback JSON source (metrics.ts).
 */

import { prometheusMissing, type RunningPrometheus, startPrometheus } from '@deploy-actions/testkit/prometheus';
import { APP } from './cluster';

/** Seconds of traffic each check reads: the runbook's [1m] window, accelerated. */
const WINDOW = '3s';

export interface AnalysisSource {
  prometheus?: RunningPrometheus;
  /** Why Prometheus is not used (the loopback source is). */
  skipped?: string;
}

/** Prometheus scraping kube-sim's apps twice a second, when installed. */
export async function startAnalysisSource(appMetricsUrl: string): Promise<AnalysisSource> {
  const missing = process.env['DEMO_NO_PROMETHEUS'] ? 'DEMO_NO_PROMETHEUS is set' : prometheusMissing();
  if (missing !== undefined) return { skipped: missing };
  const prometheus = await startPrometheus({
    targets: [new URL(appMetricsUrl).host],
    // Twice a second: a new version's first errors show in rate() within a second, as the runbook's checks every 10 s do in minutes.
    scrapeInterval: '500ms',
    waitForQuery: `http_requests_total{app="${APP}"}`,
  });
  return { prometheus };
}

const selector = (version: string, extra = '') => `app="${APP}",version="${version}"${extra}`;

/** The two metrics, `{{canary}}` filled in by canary-promote. */
export function canaryAnalysis(source: AnalysisSource, loopbackUrl: string): string {
  if (source.prometheus === undefined)
    return [
      `- { name: error-rate, provider: web, url: '${loopbackUrl}/versions/{{canary}}', json-path: $.errorRate, max: 0.01, consecutive: 2 }`,
      `- { name: latency-p99-ms, provider: web, url: '${loopbackUrl}/versions/{{canary}}', json-path: $.p99Ms, max: 2000, consecutive: 3 }`,
    ].join('\n');
  const address = source.prometheus.url;
  const errors = `(sum(rate(http_requests_total{${selector('{{canary}}', ',code=~"5.."')}}[${WINDOW}])) or vector(0)) / sum(rate(http_requests_total{${selector('{{canary}}')}}[${WINDOW}]))`;
  const p99 = `histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{${selector('{{canary}}')}}[${WINDOW}])))`;
  return [
    `- { name: error-rate, provider: prometheus, address: '${address}', query: '${errors}', max: 0.01, consecutive: 2 }`,
    `- { name: latency-p99-seconds, provider: prometheus, address: '${address}', query: '${p99}', max: 2, consecutive: 3 }`,
  ].join('\n');
}

/** preflight's metrics gate: the stable version's error rate now. */
export function stableGate(source: AnalysisSource, loopbackUrl: string, stable: string): string {
  if (source.prometheus === undefined)
    return `- { name: stable-error-rate, provider: web, url: '${loopbackUrl}/versions/${stable}', json-path: $.errorRate, max: 0.01 }`;
  const query = `(sum(rate(http_requests_total{${selector(stable, ',code=~"5.."')}}[${WINDOW}])) or vector(0)) / sum(rate(http_requests_total{${selector(stable)}}[${WINDOW}]))`;
  return `- { name: stable-error-rate, provider: prometheus, address: '${source.prometheus.url}', query: '${query}', max: 0.01 }`;
}
