/**
 * bench/preflight: 12 gates against local services — kube-sim (cluster, workload, references, backup,
 * manifests with a server dry-run), a loopback GitHub API (checks, approvals), a real Prometheus (metrics),
 * the Debian registry (image), a loopback health endpoint (url) and report files (security, coverage) —
 * run together as preflight runs them, against the same gates one after another, in the same run,
 * alternating which goes first. Round trips cost what they cost from a runner: kube-sim answers after
 * 40 ms, the GitHub API and the health endpoint after 100 ms (Prometheus and the registry as fast as they
 * do locally). Prints the medians and the ratio (target <= 0.3x). Preflight's own work (policy, reports,
 * manifests, summary) is inside both figures.
 *
 *   npx tsx bench/preflight/run.ts [rounds]
 */
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inputs } from '../../actions/preflight/src/main';
import { systemClock } from '../../packages/core/src/clock';
import { mapSource } from '../../packages/core/src/inputs';
import { KubeClient } from '../../packages/core/src/kube/client';
import { type PreflightInputValues, runPreflight } from '../../packages/core/src/preflight';
import { RegistryClient } from '../../packages/core/src/registry';
import { createMemoryRuntime } from '../../packages/core/src/runtime';
import { KubeSim } from '../../packages/kube-sim/src';
import { BehaviourTable } from '../../packages/kube-sim/src/behaviour';
import { startControllers } from '../../packages/kube-sim/src/controllers/start';
import { prometheusMissing, startPrometheus } from '../../packages/testkit/src/prometheus';
import { registryMissing, startRegistry } from '../../packages/testkit/src/registry';
import { pushTestImage } from '../../packages/testkit/src/registry-images';
import { median, reportResult, seconds } from '../support';

const rounds = Number(process.argv[2] ?? 5);
// Round trips as a runner sees them over the internet (a managed cluster's API server, api.github.com, a
// staging URL); Prometheus and the registry answer as fast as they do locally, which favours one-by-one.
const LATENCY = { kube: 40, github: 100, health: 100 };
const NS = 'shop';
const SHA = '3f2c1e0d9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e';
const work = mkdtempSync(join(tmpdir(), 'bench-preflight-'));
const stops: Array<() => unknown> = [];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function listen(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  stops.push(() => server.close());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

// kube-sim with its controllers on the real clock (its latency fault is added once the scene is set).
const sim = await KubeSim.start({ scenario: { namespaces: [NS] } });
stops.push(() => sim.stop());
const behaviour = new BehaviourTable().set('*', { readyAfter: '200ms' }).set('postgres:*', { exitAfter: '100ms' });
const controllers = startControllers(sim.store, systemClock, behaviour);
stops.push(() => controllers.stop());
const kubeconfig = join(work, 'kubeconfig');
sim.writeKubeconfig(kubeconfig, { namespace: NS });
const client = await KubeClient.connect({ kubeconfig, env: {}, workspace: work });
for (const [kind, name, data] of [
  ['ConfigMap', 'web-config', { MODE: 'production' }],
  ['Secret', 'web-db', { password: 'cw==' }],
] as const) {
  await client.create(kind, { apiVersion: 'v1', kind, metadata: { name, namespace: NS }, data });
}
await client.create('Deployment', {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: NS },
  spec: {
    replicas: 3,
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: {
        containers: [
          {
            name: 'web',
            image: 'ghcr.io/acme/web:v1',
            envFrom: [{ configMapRef: { name: 'web-config' } }],
            env: [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'web-db', key: 'password' } } }],
            resources: { requests: { cpu: '250m', memory: '256Mi' } },
          },
        ],
      },
    },
  },
});
// The nightly backup: a Job the job controller runs to completion.
await client.create('Job', {
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name: 'db-backup-1', namespace: NS },
  spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'dump', image: 'postgres:16' }] } } },
});
await sleep(1500); // the pods become Ready, the backup Job completes
sim.faults.add({ latencyMs: LATENCY.kube });

// GitHub on loopback, in GitHub's shapes: REST, and GraphQL for the approvals gate's commit query.
const pull = {
  number: 7,
  html_url: 'https://github.com/acme/shop/pull/7',
  state: 'closed',
  merged_at: '2026-12-07T10:00:00Z',
};
const reviews = [
  { user: { login: 'ana' }, state: 'APPROVED' },
  { user: { login: 'ben' }, state: 'APPROVED' },
];
const github = await listen(async (req, res) => {
  await sleep(LATENCY.github);
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  res.setHeader('content-type', 'application/json');
  const run = (name: string) => ({
    id: name.length,
    name,
    status: 'completed',
    conclusion: 'success',
    html_url: `https://github.com/acme/shop/actions/runs/1/job/${name.length}`,
  });
  const answers: Record<string, unknown> = {
    [`/repos/acme/shop/commits/${SHA}/check-runs`]: { total_count: 3, check_runs: ['build', 'test', 'lint'].map(run) },
    [`/repos/acme/shop/commits/${SHA}/statuses`]: [{ context: 'ci/security', state: 'success', target_url: null }],
    [`/repos/acme/shop/commits/${SHA}/pulls`]: [pull],
    '/repos/acme/shop/pulls/7/reviews': reviews,
  };
  if (req.method === 'POST' && path === '/graphql') {
    // The approvals gate's commit query (associatedPullRequests with their reviews), from the same data.
    const node = {
      number: pull.number,
      url: pull.html_url,
      state: 'MERGED',
      mergedAt: pull.merged_at,
      reviews: {
        pageInfo: { hasNextPage: false },
        nodes: reviews.map((r) => ({ author: r.user, state: r.state, submittedAt: null })),
      },
    };
    return res.end(JSON.stringify({ data: { repository: { object: { associatedPullRequests: { nodes: [node] } } } } }));
  }
  res.statusCode = path in answers ? 200 : 404;
  res.end(JSON.stringify(answers[path] ?? { message: 'Not Found' }));
});

const health = await listen(async (_req, res) => {
  await sleep(LATENCY.health);
  res.end('{"status":"ok"}');
});

// Prometheus scraping a database exporter, and the registry holding the image, when installed.
let prometheusUrl: string | undefined;
if (prometheusMissing() === undefined) {
  const exporter = await listen((_req, res) =>
    res.end('pg_stat_activity_count{datname="shop"} 9\npg_settings_max_connections 20\n'),
  );
  const prometheus = await startPrometheus({ targets: [exporter], waitForQuery: 'pg_settings_max_connections' });
  stops.push(() => prometheus.stop());
  prometheusUrl = prometheus.url;
} else console.log(`metrics gate left out: ${prometheusMissing()}`);
let image: string | undefined;
if (registryMissing() === undefined) {
  const registry = await startRegistry();
  stops.push(() => registry.stop());
  await pushTestImage(new RegistryClient(), registry.host, 'acme/web', 'v2', { format: 'oci' });
  image = `${registry.host}/acme/web:v2`;
} else console.log(`image gate left out: ${registryMissing()}`);

// The workspace: report files as the tools write them, manifests, and the policy file.
cpSync(new URL('../../actions/preflight/test/fixtures/', import.meta.url).pathname, join(work, 'reports'), {
  recursive: true,
});
mkdirSync(join(work, 'k8s'));
writeFileSync(
  join(work, 'k8s/web.yaml'),
  `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: 3
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: web
          image: ghcr.io/acme/web:v2
          envFrom: [{ configMapRef: { name: web-config } }]
          env: [{ name: DB_PASSWORD, valueFrom: { secretKeyRef: { name: web-db, key: password } } }]
---
apiVersion: v1
kind: Service
metadata: { name: web }
spec: { selector: { app: web }, ports: [{ port: 80, targetPort: 8080 }] }
`,
);
const gates = [
  'checks: {}',
  'approvals: { min: 2 }',
  'cluster: { min-headroom: 10% }',
  'workload: { deployments: [web] }',
  'references: { manifests: [k8s/], deployments: [web] }',
  'backup: { job-prefix: db-backup-, max-age: 24h }',
  'security: { reports: [reports/trivy.json, reports/grype.json, reports/results.sarif, reports/npm-audit.json], severity: critical, allow: [{ id: CVE-2024-5535 }] }',
  'coverage: { report: reports/lcov.info, min: 80% }',
  `url: { url: "http://${health}/health" }`,
  'manifests: { files: [k8s/] }',
  ...(prometheusUrl
    ? [
        `metrics: { prometheus: "${prometheusUrl}", analysis: [{ name: db-connections, query: 'sum(pg_stat_activity_count)', max: 15 }] }`,
      ]
    : []),
  ...(image ? [`image: { image: "${image}" }`] : []),
  // With a service missing, the window gate keeps the count at 12.
  ...(prometheusUrl && image ? [] : ['window: { allow: ["00:00-24:00 UTC"] }']),
];
writeFileSync(
  join(work, 'policy.yml'),
  `environments:\n  production:\n    gates:\n${gates.map((g) => `      ${g}`).join('\n')}\n`,
);

const env = {
  GITHUB_REPOSITORY: 'acme/shop',
  GITHUB_API_URL: `http://${github}`,
  GITHUB_SHA: SHA,
  GITHUB_RUN_ID: '4242',
};
const values = inputs.parse(
  mapSource({ policy: 'policy.yml', environment: 'production', kubeconfig, token: 'ghs_bench' }),
  { workspace: work },
);

async function once(sequential: boolean): Promise<{ wallMs: number; gates: Record<string, number> }> {
  const rt = createMemoryRuntime({ clock: systemClock, workspace: work, env });
  const started = performance.now();
  const outcome = await runPreflight(rt, values as PreflightInputValues, { sequential });
  const wallMs = performance.now() - started;
  const document = outcome.result as {
    gates: Array<{ name: string; status: string; durationMs: number; message: string }>;
  };
  const failed = document.gates.filter((g) => g.status !== 'pass');
  if (failed.length > 0)
    throw new Error(`gates did not pass: ${failed.map((g) => `${g.name}: ${g.message}`).join('; ')}`);
  return { wallMs, gates: Object.fromEntries(document.gates.map((g) => [g.name, g.durationMs])) };
}

try {
  await once(false); // warm-up: module loads, connections
  const together: number[] = [];
  const oneByOne: number[] = [];
  let lastGates: Record<string, number> = {};
  for (let round = 0; round < rounds; round++) {
    for (const sequential of round % 2 === 0 ? [false, true] : [true, false]) {
      const sample = await once(sequential);
      (sequential ? oneByOne : together).push(sample.wallMs);
      if (!sequential) lastGates = sample.gates;
    }
  }
  const ours = median(together);
  const peer = median(oneByOne);
  console.log(
    `${gates.length} gates: ${Object.entries(lastGates)
      .map(([name, ms]) => `${name} ${ms} ms`)
      .join(', ')}`,
  );
  console.log(
    `together ${seconds(ours)}, one after another ${seconds(peer)}: ${(ours / peer).toFixed(2)}x (target <= 0.3x), ${rounds} rounds; latency kube ${LATENCY.kube} ms, GitHub ${LATENCY.github} ms, url ${LATENCY.health} ms`,
  );
  reportResult({
    measure: `${gates.length} gates against local services (wall time)`,
    ours: seconds(ours),
    peer: seconds(peer),
    peerName: 'the same gates one after another',
    ratio: `${(ours / peer).toFixed(2)}x`,
    target: '<= 0.3x',
    met: ours / peer <= 0.3,
  });
} finally {
  for (const stop of stops.reverse()) await stop();
}
