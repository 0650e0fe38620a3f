/**
 * The NextGen market app (workflows-examples/nextgen-canary.yml) end to end against real parts (see
 * ./support.ts). The app runs on Azure Container Instances behind an Application Gateway; here the
 * "cloud" is kube-sim: the stable and canary instances are Deployments, the gateway's canary rule is an
 * nginx canary Ingress, and `az` is a stand-in on PATH that sends its arguments to a loopback "Azure API"
 * which makes those changes (rule weight, container create/update). The traffic generator sends users
 * through the gateway, the real Prometheus measures each version, so the runbook's thresholds (1% errors
 * for 2 checks, p99 2,000 ms for 3) are judged on what the users got.
 */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { Deployment, KubeObject } from '@deploy-actions/core/kube';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  changelogSection,
  digestOf,
  expectCleanInputs,
  migrationHistory,
  previousDatabase,
  pushStagingImage,
  releaseRepo,
  rolledOut,
  runExample,
  type Stack,
  sampleServing,
  stackMissing,
  startStack,
  step,
  trace,
} from './support';

const missing = stackMissing();
const FILE = 'nextgen-canary.yml';
const NS = 'nextgen';

describe.skipIf(missing)(`${FILE}: the market app end to end${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let stack: Stack;
  let IMAGE: string;
  let azure: Server;
  let azureUrl: string;
  /** Every az call the Azure API stand-in received. */
  const azCalls: string[][] = [];
  const bin = mkdtempSync(join(tmpdir(), 'az-bin-'));

  const instance = (role: 'stable' | 'canary', image: string, replicas: number): Deployment => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: `prod-${role}`, namespace: NS, labels: { app: 'market' } },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'market', role } },
      template: {
        metadata: { labels: { app: 'market', role } },
        spec: { containers: [{ name: 'market', image }] },
      },
    },
  });
  const setImage = (name: string, image: string) => {
    const current = structuredClone(stack.sim.store.get('apps/v1/deployments', NS, name)) as Deployment;
    current.spec!.template!.spec!.containers![0]!.image = image;
    stack.sim.store.update(current);
  };
  const gatewayWeight = () =>
    (stack.sim.store.find('networking.k8s.io/v1/ingresses', NS, 'market-canary') as KubeObject).metadata?.annotations?.[
      'nginx.ingress.kubernetes.io/canary-weight'
    ];
  const setGatewayWeight = (weight: string) => {
    const canary = structuredClone(stack.sim.store.get('networking.k8s.io/v1/ingresses', NS, 'market-canary'));
    canary.metadata.annotations = {
      ...canary.metadata.annotations,
      'nginx.ingress.kubernetes.io/canary-weight': weight,
    };
    stack.sim.store.update(canary);
  };
  const imageOf = (name: string) =>
    (stack.sim.store.find('apps/v1/deployments', NS, name) as Deployment | undefined)?.spec?.template?.spec
      ?.containers?.[0]?.image;

  /** What the Azure API does for the calls the workflow makes. */
  const az = async (argv: string[]) => {
    azCalls.push(argv);
    const flag = (name: string) => argv[argv.indexOf(name) + 1]!;
    if (argv.slice(0, 4).join(' ') === 'network application-gateway rule update') setGatewayWeight(flag('--weight'));
    else if (argv.slice(0, 2).join(' ') === 'container create') {
      if (stack.sim.store.find('apps/v1/deployments', NS, 'prod-canary')) setImage('prod-canary', flag('--image'));
      else await stack.client.create('Deployment', instance('canary', flag('--image'), 1));
    } else if (argv.slice(0, 2).join(' ') === 'container update') setImage('prod-stable', flag('--image'));
    else throw new Error(`the Azure stand-in does not know: az ${argv.join(' ')}`);
  };

  beforeAll(async () => {
    stack = await startStack({ namespaces: [NS], appService: { namespace: NS, name: 'market' } });
    IMAGE = `${stack.registry.host}/nextgen/market`;
    stack.sim.behaviour.set('*', { readyAfter: '50ms', http: { errorRate: 0, latencyMs: 30 } });
    azure = createServer(async (req, res) => {
      let body = '';
      for await (const chunk of req) body += chunk;
      try {
        await az(JSON.parse(body) as string[]);
        res.writeHead(200).end('{}');
      } catch (error) {
        res.writeHead(400).end((error as Error).message);
      }
    });
    await new Promise<void>((done) => azure.listen(0, '127.0.0.1', done));
    azureUrl = `http://127.0.0.1:${(azure.address() as AddressInfo).port}`;
    writeFileSync(
      join(bin, 'az'),
      `#!/usr/bin/env node
fetch(process.env.AZURE_SIM_URL, { method: 'POST', body: JSON.stringify(process.argv.slice(2)) })
  .then(async (res) => { if (!res.ok) { console.error(await res.text()); process.exit(1); } })
  .catch((error) => { console.error(error.message); process.exit(1); });
`,
    );
    chmodSync(join(bin, 'az'), 0o755);
    const service = (name: string, role: string) =>
      stack.client.create('Service', {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name, namespace: NS },
        spec: { selector: { app: 'market', role }, ports: [{ port: 80, targetPort: 8080 }] },
      } as KubeObject);
    await service('market', 'stable');
    await service('market-canary', 'canary');
    // The Application Gateway: its main rule to the stable instances, its canary rule at weight 0.
    const ingress = (name: string, backend: string, annotations: Record<string, string>) =>
      stack.client.create('Ingress', {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'Ingress',
        metadata: { name, namespace: NS, annotations },
        spec: {
          ingressClassName: 'nginx',
          rules: [
            {
              host: 'prod-api.nextgen.example.com',
              http: {
                paths: [
                  { path: '/', pathType: 'Prefix', backend: { service: { name: backend, port: { number: 80 } } } },
                ],
              },
            },
          ],
        },
      } as KubeObject);
    await ingress('market', 'market', {});
    await ingress('market-canary', 'market-canary', {
      'nginx.ingress.kubernetes.io/canary': 'true',
      'nginx.ingress.kubernetes.io/canary-weight': '0',
    });
    await stack.client.create('Deployment', instance('stable', `${IMAGE}:v2.0.0`, 2));
    await rolledOut(stack, NS, 'prod-stable');
    stack.sim.traffic.start({ service: 'market', namespace: NS, rps: 200 });
    await stack.prometheus.waitForData('http_requests_total{app="market",version="v2.0.0"}');
  }, 60_000);
  afterAll(async () => {
    await new Promise((done) => azure?.close(done));
    await stack?.stop();
  });

  async function release(name: string, previous: string, tag: string, changes: string[]) {
    const repo = releaseRepo('nextgen', previous, changes);
    repo.repo.tag(tag);
    const database = await previousDatabase(stack, repo, name, 'INSERT INTO invoices (amount_cents) VALUES (4200)');
    const staging = await pushStagingImage(stack, 'nextgen/market', repo.sha);
    azCalls.length = 0;
    const sampler = sampleServing(stack, NS, 'market');
    // The canary job; its load gate (10,000 req/s, timing-dependent on a shared machine) is run at full
    // rate by test/examples.test.ts, and taken as passed here, as `needs` says.
    const result = await runExample(stack, FILE, repo, {
      job: 'canary',
      needs: { 'load-gate': { result: 'success' } },
      github: { ref: `refs/tags/${tag}`, ref_name: tag },
      env: { PATH: `${bin}${delimiter}${process.env['PATH']}`, HOME: repo.repo.dir, AZURE_SIM_URL: azureUrl },
      secrets: { PROD_DATABASE_URL: database, AZURE_CREDENTIALS: '{"clientId":"c","clientSecret":"azure-s3cret"}' },
      vars: {
        STAGING_URL: stack.appUrl,
        PRODUCTION_URL: stack.appUrl,
        CANARY_PAUSE: '4s',
        ANALYSIS_INTERVAL: '1s',
        SMOKE_RETRY_INTERVAL: '500ms',
      },
      // The cloud step our actions do not do: the canary container instance, through the same Azure API.
      standIns: {
        'canary-instance': async (s) => {
          await az([
            'container',
            'create',
            '--resource-group',
            'prod-nextgen',
            '--name',
            'prod-canary-1',
            '--image',
            s.env['CANARY_IMAGE']!,
          ]);
          await rolledOut(stack, NS, 'prod-canary');
          return { outcome: 'success', log: [`prod-canary-1 started with ${s.env['CANARY_IMAGE']}`] };
        },
      },
    });
    return { result, samples: sampler.stop(), repo, database, staging };
  }

  const weights = () => azCalls.filter((argv) => argv.includes('--weight')).map((argv) => argv.at(-1));

  it('a good release: v2.1.0 retagged, migrated, gateway 5 → 25 → 50 %, analysed by Prometheus, promoted, released', async () => {
    const { result, samples, repo, database, staging } = await release('nextgen_good', 'v2.0.0', 'v2.1.0', [
      'feat: invoices carry a currency',
    ]);
    expect(result.conclusion, trace(result)).toBe('success');
    expectCleanInputs(result);
    expect(step(result, 'canary', 'The tested image under the release tag').outputs['version']).toBe('v2.1.0');
    expect(await digestOf(stack, 'nextgen/market:v2.1.0')).toBe(staging.digest);
    expect(step(result, 'canary', 'Pre-production checklist').status).toBe('success');
    expect(migrationHistory(stack, database)).toEqual(['1 create invoices', '2 invoice currency']);
    const canary = step(result, 'canary', 'Canary 5% → 25% → 50% → 100%');
    expect(canary.outputs).toMatchObject({ result: 'promoted', weight: '100' });
    expect(weights()).toEqual(['5', '25', '50']);
    expect(imageOf('prod-stable')).toBe(`${IMAGE}:v2.1.0`);
    // Users reached the canary at the gateway's weights, and the stable never lost its endpoints.
    const canaryShares = new Set(samples.map((s) => s.percent['v2.1.0'] ?? 0));
    for (const share of [5, 25, 50]) expect(canaryShares).toContain(share);
    expect(samples.filter((s) => s.percent['unavailable'])).toEqual([]);
    expect(canary.summary).toContain('latency-p99');
    expect(step(result, 'canary', 'Production health').status).toBe('success');
    expect(changelogSection(repo, '2.1.0')).toContain('invoices carry a currency');
    expect(stack.github.releases.find((r) => r.tag_name === 'v2.1.0')?.body).toContain(staging.digest);
    expect(JSON.stringify(result)).not.toContain('azure-s3cret');
    // The gateway back to the stable instances, which now run v2.1.0.
    setGatewayWeight('0');
  }, 150_000);

  it('a bad day: the canary answers in 2.5 s, p99 over 2,000 ms for 3 checks aborts at 5%, the stable serves', async () => {
    stack.sim.behaviour.set(`${IMAGE}:v2.2.0`, { readyAfter: '50ms', http: { errorRate: 0, latencyMs: 2500 } });
    const { result, samples } = await release('nextgen_bad', 'v2.1.0', 'v2.2.0', ['feat: invoice reminders']);
    expect(result.conclusion, trace(result)).toBe('failure');
    const canary = step(result, 'canary', 'Canary 5% → 25% → 50% → 100%');
    expect(canary.status).toBe('failure');
    expect(canary.outputs['result']).toBe('aborted');
    expect(canary.reason).toMatch(/latency-p99/);
    expect(weights()).toEqual(['5', '0']);
    expect(gatewayWeight()).toBe('0');
    // The stable (v2.1.0) served at least 95% all along and everything once aborted; it was never changed.
    expect(samples.filter((s) => (s.percent['v2.1.0'] ?? 0) < 95)).toEqual([]);
    expect(samples.at(-1)!.percent).toEqual({ 'v2.1.0': 100 });
    expect(imageOf('prod-stable')).toBe(`${IMAGE}:v2.1.0`);
    expect(step(result, 'canary', 'Release notes').status).toBe('skipped');
    expect(stack.github.releases.find((r) => r.tag_name === 'v2.2.0')).toBeUndefined();
    expect(canary.summary).toMatch(/aborted/i);
  }, 150_000);
});
