/**
 * A real Prometheus (Debian's `prometheus` package) for tests: free loopback
 * port, generated config, temporary storage, short scrape interval. `start`
 * waits for /-/ready and, when asked, until a query has data; `stop` kills the
 * process and removes the storage.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './net';

export interface PrometheusOptions {
  /** `host:port` targets to scrape (one job). */
  targets: string[];
  /** Scrape interval, default `1s`. */
  scrapeInterval?: string;
  /** Wait until this query returns a non-empty result (bounded by `readyTimeoutMs`). */
  waitForQuery?: string;
  readyTimeoutMs?: number;
  binary?: string;
}

export interface RunningPrometheus {
  url: string;
  stop(): Promise<void>;
  /** Poll until `query` has data or the deadline passes (then throws with the last answer). */
  waitForData(query: string, timeoutMs?: number): Promise<void>;
}

export const PROMETHEUS_BINARY = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';

/** Why Prometheus tests must be skipped here, or undefined when the binary is present. */
export function prometheusMissing(binary = PROMETHEUS_BINARY): string | undefined {
  return existsSync(binary)
    ? undefined
    : `${binary} not found: apt-get install -y --no-install-recommends prometheus (CI installs it)`;
}

async function pollUntil(what: string, timeoutMs: number, attempt: () => Promise<string | true>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const answer = await attempt().catch((error: Error) => error.message);
    if (answer === true) return;
    last = answer;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`Prometheus: ${what} not within ${timeoutMs} ms (last: ${last.slice(0, 300)})`);
}

export async function startPrometheus(options: PrometheusOptions): Promise<RunningPrometheus> {
  const storage = await mkdtemp(join(tmpdir(), 'prometheus-test-'));
  const port = await freePort();
  const interval = options.scrapeInterval ?? '1s';
  const config = [
    'global:',
    `  scrape_interval: ${interval}`,
    `  evaluation_interval: ${interval}`,
    'scrape_configs:',
    '  - job_name: test',
    '    static_configs:',
    `      - targets: [${options.targets.map((target) => JSON.stringify(target)).join(', ')}]`,
    '',
  ].join('\n');
  const configPath = join(storage, 'prometheus.yml');
  await writeFile(configPath, config);
  const child: ChildProcess = spawn(
    options.binary ?? PROMETHEUS_BINARY,
    [
      `--config.file=${configPath}`,
      `--storage.tsdb.path=${join(storage, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(storage, { recursive: true, force: true });
  };
  const waitForData = (query: string, timeoutMs = options.readyTimeoutMs ?? 20_000) =>
    pollUntil(`data for ${query}`, timeoutMs, async () => {
      const response = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query })}`);
      const body = (await response.json()) as { data?: { result?: unknown[] } };
      return (body.data?.result?.length ?? 0) > 0 ? true : JSON.stringify(body);
    });
  try {
    await pollUntil('/-/ready', options.readyTimeoutMs ?? 20_000, async () => {
      if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}: ${stderr}`);
      const response = await fetch(`${url}/-/ready`);
      return response.ok ? true : `HTTP ${response.status}`;
    });
    if (options.waitForQuery !== undefined) await waitForData(options.waitForQuery);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, stop, waitForData };
}
