/**
 * What the end-to-end example tests share: one "production" made of real parts, started per test file.
 *
 * - kube-sim with its controllers on the real clock, the simulated apps answering through their Services,
 *   the traffic generator sending them requests, and its metrics listener;
 * - a real Prometheus (Debian's) scraping that listener every second, so every PromQL query of an example
 *   is evaluated by Prometheus over what the apps really answered;
 * - a real PostgreSQL (initdb on a free port), a real registry (Debian's docker-registry, basic auth);
 * - a loopback GitHub REST API (repository, releases, deployments, GraphQL) recording every request;
 * - the app's public URL: a loopback server whose /health asks the Service in kube-sim, as a load
 *   balancer in front of the cluster would;
 * - the workspace: a real git repository (commits, the previous release's tag) made from a fixture folder.
 *
 * Real time: Prometheus scrapes on the wall clock, so the examples' pauses and monitoring are shortened
 * through the workflows' own variables (MONITOR_FOR, ANALYSIS_INTERVAL, ...), as a user would for a trial run.
 */
import { cpSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { systemClock } from '@deploy-actions/core/clock';
import { type Deployment, KubeClient, type KubeObject, waitForRollout } from '@deploy-actions/core/kube';
import { RegistryClient } from '@deploy-actions/core/registry';
import {
  type RunWorkflowOptions,
  runWorkflowFile,
  type StepResult,
  type WorkflowResult,
} from '@deploy-actions/dispatch/workflow/index';
import { KubeSim } from '@deploy-actions/kube-sim';
import { backendsFor } from '@deploy-actions/kube-sim/apps/traffic';
import { installControllers } from '@deploy-actions/kube-sim/defaults';
import { runAction } from '@deploy-actions/testkit/cluster';
import { TestRepo } from '@deploy-actions/testkit/git-repo';
import { postgresMissing, type RunningPostgres, startPostgres } from '@deploy-actions/testkit/postgres';
import { prometheusMissing, type RunningPrometheus, startPrometheus } from '@deploy-actions/testkit/prometheus';
import { type RunningRegistry, registryMissing, startRegistry } from '@deploy-actions/testkit/registry';
import { pushTestImage } from '@deploy-actions/testkit/registry-images';
import { expect } from 'vitest';
import migrate from '../../actions/migrate/src/main';

export const root = join(import.meta.dirname, '..', '..');
export const examples = join(root, 'workflows-examples');
export const fixtures = join(import.meta.dirname, '..', 'fixtures', 'examples');
export const ACTOR = 'octocat';
export const REPOSITORY = 'acme/app';

/** Why the end-to-end examples cannot run on this machine (a missing Debian package), or undefined. */
export const stackMissing = (): string | undefined => prometheusMissing() ?? postgresMissing() ?? registryMissing();

// ---------------------------------------------------------------------------------------------------------
// The loopback GitHub API

export interface GitHubRelease {
  id: number;
  tag_name: string;
  name: string;
  body: string;
  draft: boolean;
  prerelease: boolean;
  html_url: string;
}

export interface LoopbackGitHub {
  url: string;
  requests: { method: string; path: string; body: unknown }[];
  releases: GitHubRelease[];
  /** Deployment statuses posted, in order, with the deployment's environment. */
  deploymentStatuses: { environment: string; state: string }[];
  stop(): Promise<void>;
}

async function startGitHub(): Promise<LoopbackGitHub> {
  const requests: LoopbackGitHub['requests'] = [];
  const releases: GitHubRelease[] = [];
  const deployments = new Map<number, { environment: string }>();
  const deploymentStatuses: LoopbackGitHub['deploymentStatuses'] = [];
  let nextId = 1;
  const repoPath = `/repos/${REPOSITORY}`;
  const answer = (method: string, path: string, body: Record<string, unknown>): [number, unknown] => {
    if (method === 'POST' && path === '/graphql') return [200, { data: { repository: {} } }];
    if (method === 'GET' && path === repoPath)
      return [
        200,
        {
          name: 'app',
          full_name: REPOSITORY,
          description: 'The Acme app',
          html_url: `https://github.com/${REPOSITORY}`,
          default_branch: 'main',
          license: null,
        },
      ];
    const commit = new RegExp(`^${repoPath}/commits/([0-9a-f]{40})$`).exec(path);
    if (method === 'GET' && commit)
      return [200, { sha: commit[1], commit: { committer: { date: '2026-12-07T06:00:00Z' } } }];
    const byTag = new RegExp(`^${repoPath}/releases/tags/(.+)$`).exec(path);
    if (method === 'GET' && byTag) {
      const found = releases.find((r) => r.tag_name === decodeURIComponent(byTag[1]!));
      return found ? [200, found] : [404, { message: 'Not Found' }];
    }
    if (method === 'GET' && path === `${repoPath}/releases`) return [200, releases];
    if (method === 'POST' && path === `${repoPath}/releases`) {
      const release: GitHubRelease = {
        id: nextId++,
        tag_name: String(body['tag_name']),
        name: String(body['name'] ?? body['tag_name']),
        body: String(body['body'] ?? ''),
        draft: body['draft'] === true,
        prerelease: body['prerelease'] === true,
        html_url: `https://github.com/${REPOSITORY}/releases/tag/${String(body['tag_name'])}`,
      };
      releases.push(release);
      return [201, release];
    }
    const releaseId = new RegExp(`^${repoPath}/releases/(\\d+)$`).exec(path);
    if (method === 'PATCH' && releaseId) {
      const found = releases.find((r) => r.id === Number(releaseId[1]));
      if (!found) return [404, { message: 'Not Found' }];
      Object.assign(found, body);
      return [200, found];
    }
    if (method === 'POST' && path === `${repoPath}/deployments`) {
      const id = nextId++;
      deployments.set(id, { environment: String(body['environment'] ?? '') });
      return [201, { id, environment: body['environment'], ref: body['ref'] }];
    }
    if (method === 'GET' && path === `${repoPath}/deployments`) return [200, []];
    const status = new RegExp(`^${repoPath}/deployments/(\\d+)/statuses$`).exec(path);
    if (method === 'POST' && status) {
      const deployment = deployments.get(Number(status[1]));
      deploymentStatuses.push({ environment: deployment?.environment ?? '', state: String(body['state']) });
      return [201, { id: nextId++, state: body['state'] }];
    }
    return [404, { message: 'Not Found' }];
  };
  const server = createServer(async (req, res) => {
    let text = '';
    for await (const chunk of req) text += chunk;
    const path = new URL(req.url ?? '/', 'http://loopback').pathname;
    const body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    requests.push({ method: req.method ?? 'GET', path, body });
    const [code, json] = answer(req.method ?? 'GET', path, body);
    res.writeHead(code, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(json));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    releases,
    deploymentStatuses,
    stop: () => new Promise((done) => server.close(() => done())),
  };
}

// ---------------------------------------------------------------------------------------------------------
// The stack

export interface Stack {
  sim: KubeSim;
  client: KubeClient;
  kubeconfig: string;
  prometheus: RunningPrometheus;
  postgres: RunningPostgres;
  registry: RunningRegistry;
  registryClient: RegistryClient;
  github: LoopbackGitHub;
  /** The app's public URL: `/health` answers `{ status_code }` from the Service `appService` in kube-sim. */
  appUrl: string;
  stop(): Promise<void>;
}

/** One cluster: kube-sim with its controllers and apps, and a real Prometheus scraping the apps. */
export interface Cluster {
  sim: KubeSim;
  client: KubeClient;
  kubeconfig: string;
  prometheus: RunningPrometheus;
  stop(): Promise<void>;
}

export async function startCluster(namespaces: string[]): Promise<Cluster> {
  const sim = await KubeSim.start({ scenario: { namespaces, seed: 7 } });
  installControllers(sim);
  sim.behaviour.set('*', { readyAfter: '50ms', http: { errorRate: 0.002, latencyMs: { p50: 20, p99: 80 } } });
  const kubeconfig = sim.kubeconfig();
  const client = await KubeClient.connect({ kubeconfig, env: {}, workspace: root });
  // The metrics listener comes up with the controllers, just after start.
  for (let waited = 0; !sim.metricsUrl && waited < 5_000; waited += 10) await new Promise((r) => setTimeout(r, 10));
  const prometheus = await startPrometheus({ targets: [new URL(sim.metricsUrl).host], scrapeInterval: '1s' }).catch(
    async (error: unknown) => {
      await sim.stop();
      throw error;
    },
  );
  return {
    sim,
    client,
    kubeconfig,
    prometheus,
    stop: async () => {
      await prometheus.stop();
      await sim.stop();
    },
  };
}

export interface StackOptions {
  namespaces: string[];
  /** namespace/service behind the public URL. */
  appService: { namespace: string; name: string };
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const stops: (() => Promise<void> | void)[] = [];
  const stop = async () => {
    for (const step of stops.reverse()) await step();
  };
  try {
    const cluster = await startCluster(options.namespaces);
    stops.push(() => cluster.stop());
    const { sim, client, kubeconfig, prometheus } = cluster;
    const postgres = await startPostgres();
    stops.push(() => postgres.stop());
    const registry = await startRegistry({ auth: 'basic', username: ACTOR });
    stops.push(() => registry.stop());
    const registryClient = new RegistryClient({
      credentials: () => ({ username: registry.username, password: registry.password }),
    });
    const github = await startGitHub();
    stops.push(() => github.stop());
    const app = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://app').pathname;
      const answer = sim.apps.answer(options.appService.namespace, options.appService.name, path);
      res
        .writeHead(answer.status, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status_code: answer.status }));
    });
    await new Promise<void>((done) => app.listen(0, '127.0.0.1', done));
    stops.push(() => new Promise<void>((done) => app.close(() => done())));
    const appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
    return { sim, client, kubeconfig, prometheus, postgres, registry, registryClient, github, appUrl, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * The database as the previous release left it: a fresh database (see createDatabase) with migration V1
 * applied by migrate itself from the release's `db/migrations`, then `seed` (SQL) run in it. Its URL.
 */
export async function previousDatabase(stack: Stack, release: ReleaseRepo, name: string, seed: string) {
  const url = createDatabase(stack, name);
  const first = await runAction(
    migrate,
    { 'database-url': url, migrations: 'db/migrations', target: '1' },
    { context: { workspace: release.repo.dir } },
  );
  if (first.code !== 0) throw new Error(`migrate V1 failed: ${first.errors.join('\n')}`);
  stack.postgres.psql(seed, url);
  return url;
}

/**
 * An app as the previous release left it: a Service `name` (port 80 → 8080, selecting `app: name` and
 * `labels`) and a Deployment `name` of `replicas` pods running `image`, rolled out.
 */
export async function createApp(
  cluster: { client: KubeClient },
  app: {
    namespace: string;
    name: string;
    image: string;
    replicas: number;
    labels?: Record<string, string>;
    port?: number;
  },
) {
  const { namespace, name, image, replicas } = app;
  const labels = { app: name, ...app.labels };
  const port = app.port ?? 80;
  await cluster.client.create('Service', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace },
    spec: { selector: labels, ports: [{ port, targetPort: port === 80 ? 8080 : port }] },
  } as KubeObject);
  await cluster.client.create('Deployment', {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels: { app: name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels }, spec: { containers: [{ name, image }] } },
    },
  } satisfies Deployment);
  await rolledOut(cluster, namespace, name);
}

/** Waits (wall clock, 30 s at most) until a Deployment of `cluster` has rolled out. */
export const rolledOut = (cluster: { client: KubeClient }, namespace: string, name: string) =>
  waitForRollout(cluster.client, { kind: 'Deployment', namespace, name }, { clock: systemClock, timeoutMs: 30_000 });

/** A database for one test, owned by a login with a password (masked by the actions), and its URL. */
export function createDatabase(stack: Stack, name: string): string {
  const password = `pw-${name}-5e1f`;
  stack.postgres.psql(`CREATE ROLE ${name} LOGIN PASSWORD '${password}'`);
  stack.postgres.psql(`CREATE DATABASE ${name} OWNER ${name}`);
  return `postgres://${name}:${password}@127.0.0.1:${stack.postgres.port}/${name}`;
}

// ---------------------------------------------------------------------------------------------------------
// The repository being released

export interface ReleaseRepo {
  repo: TestRepo;
  /** The commit being released. */
  sha: string;
}

/**
 * A git repository with `fixture`'s files as the previous release (tagged `previousTag`), then `changes`
 * (conventional commit subjects) on top: what `actions/checkout` with `fetch-depth: 0` leaves.
 */
export function releaseRepo(
  fixture: string,
  previousTag: string,
  changes: string[],
  /** More fixture folders, each copied to a folder of the repository: `{ 'helm': 'helm' }`. */
  folders: Record<string, string> = {},
): ReleaseRepo {
  const repo = new TestRepo('example-release-');
  cpSync(join(fixtures, fixture), repo.dir, { recursive: true });
  for (const [from, to] of Object.entries(folders))
    cpSync(join(fixtures, from), join(repo.dir, to), { recursive: true });
  repo.git('add', '-A');
  repo.git('commit', '--quiet', '-m', 'chore: the app as released');
  repo.tag(previousTag);
  for (const subject of changes) repo.commit(subject);
  return { repo, sha: repo.head() };
}

/** The image CI built for `sha` and staging tested, pushed as `<registry>/<repository>-staging:sha-<sha>`. */
export async function pushStagingImage(stack: Stack, repository: string, sha: string) {
  return pushTestImage(stack.registryClient, stack.registry.host, `${repository}-staging`, `sha-${sha}`);
}

/** The digest a tag points at in the test registry (undefined when the tag does not exist). */
export async function digestOf(stack: Stack, reference: string): Promise<string | undefined> {
  return (await stack.registryClient.manifestExists(`${stack.registry.host}/${reference}`))?.digest;
}

// ---------------------------------------------------------------------------------------------------------
// Running an example

export function runExample(
  stack: Stack,
  file: string,
  release: ReleaseRepo,
  options: RunWorkflowOptions = {},
): Promise<WorkflowResult> {
  return runWorkflowFile(join(examples, file), {
    workspace: release.repo.dir,
    clock: systemClock,
    env: { PATH: process.env['PATH'], HOME: release.repo.dir },
    ...options,
    github: {
      sha: release.sha,
      repository: REPOSITORY,
      repository_owner: 'acme',
      actor: ACTOR,
      run_id: '7001',
      api_url: stack.github.url,
      ...options.github,
    },
    secrets: {
      KUBECONFIG: stack.kubeconfig,
      GITHUB_TOKEN: 'ghs_exampletoken0000',
      REGISTRY_PASSWORD: stack.registry.password,
      ...options.secrets,
    },
    vars: {
      REGISTRY: stack.registry.host,
      PROMETHEUS_URL: stack.prometheus.url,
      APP_URL: stack.appUrl,
      ...options.vars,
    },
  });
}

export function step(result: WorkflowResult, job: string, label: string, phase: 'main' | 'post' = 'main'): StepResult {
  const found = result.jobs
    .find((j) => j.id === job)
    ?.steps.find((s) => (s.label === label || s.uses === label) && (s.phase ?? 'main') === phase);
  if (!found)
    throw new Error(
      `no step "${label}" in job ${job}: ${JSON.stringify(result.jobs.map((j) => j.steps.map((s) => s.label)))}`,
    );
  return found;
}

/** A one-line account of every step, for assertion messages. */
export const trace = (result: WorkflowResult) =>
  result.jobs
    .flatMap((job) =>
      job.steps.map(
        (s) => `${job.id} / ${s.label} [${s.phase ?? 'main'}]: ${s.status}${s.reason ? ` (${s.reason})` : ''}`,
      ),
    )
    .join('\n');

/** No step of ours warned about an unknown input or failed for a missing one. */
export function expectCleanInputs(result: WorkflowResult) {
  for (const s of result.jobs.flatMap((job) => job.steps.filter((step) => step.action !== undefined))) {
    expect({
      step: s.label,
      warnings: s.annotations.filter((a) => /Unexpected input|Input required/.test(a.message)),
    }).toEqual({ step: s.label, warnings: [] });
  }
}

export const images = (stack: Stack, namespace: string, name: string) =>
  (
    stack.sim.store.find('apps/v1/deployments', namespace, name) as Deployment | undefined
  )?.spec?.template?.spec?.containers?.map((c) => c.image);

/** Rows of the migration history (sql runner's default table), oldest first. */
export function migrationHistory(stack: Stack, databaseUrl: string): string[] {
  return stack.postgres
    .psql("SELECT version || ' ' || description FROM deploy_actions_migrations ORDER BY installed_rank", databaseUrl)
    .split('\n')
    .filter(Boolean);
}

/** The CHANGELOG.md section of `version` (from its heading to the next one). */
export function changelogSection(release: ReleaseRepo, version: string): string {
  const text = readFileSync(join(release.repo.dir, 'CHANGELOG.md'), 'utf8');
  const start = text.indexOf(`## [${version}]`);
  if (start < 0) throw new Error(`CHANGELOG.md has no section for ${version}:\n${text}`);
  const next = text.indexOf('\n## [', start + 1);
  return text.slice(start, next < 0 ? undefined : next);
}

/**
 * Samples, every `everyMs` while a run is under way, what the users of a Service get, without sending a
 * request: the router's split (Ingress canary weight, HTTPRoute, ... as the traffic generator reads it)
 * times the versions of each backend's Ready pods, in percent by version (`unavailable`: a backend with
 * weight and no Ready pod). Stop it to get the samples.
 */
export function sampleServing(cluster: { sim: KubeSim }, namespace: string, service: string, everyMs = 100) {
  const samples: { at: number; percent: Record<string, number> }[] = [];
  const sample = () => {
    const percent: Record<string, number> = {};
    const backends = backendsFor(cluster.sim.store, namespace, service).filter((b) => b.weight > 0);
    const total = backends.reduce((sum, b) => sum + b.weight, 0);
    for (const backend of backends) {
      const pods = cluster.sim.apps.readyPods(namespace, backend.service);
      const share = (100 * backend.weight) / total;
      if (pods.length === 0) percent['unavailable'] = (percent['unavailable'] ?? 0) + share;
      for (const pod of pods) {
        const labels = (pod.metadata.labels ?? {}) as Record<string, string>;
        const version =
          labels['version'] ??
          String(pod.spec?.containers?.[0]?.image ?? '')
            .split(':')
            .at(-1)!;
        percent[version] = (percent[version] ?? 0) + share / pods.length;
      }
    }
    for (const key of Object.keys(percent)) percent[key] = Math.round(percent[key]! * 10) / 10;
    samples.push({ at: Date.now(), percent });
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      return samples;
    },
  };
}
