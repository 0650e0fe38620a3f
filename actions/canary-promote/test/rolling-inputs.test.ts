/**
 * canary-promote's rolling and helm inputs end to end: image-pull-secrets and
 * prune against kube-sim (what lands on the pod template, what is deleted and
 * what is kept), and helm-lint / chart-version through a fake `helm` on PATH
 * that records its argument arrays (it deploys nothing and proves nothing
 * about Helm itself).
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import type { Deployment } from '@deploy-actions/core/kube';
import { type Cluster, startCluster } from '@deploy-actions/testkit/cluster';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import canaryPromote from '../src/main';

const NS = 'shop';
const bin = mkdtempSync(join(tmpdir(), 'canary-fake-helm-'));
const savedPath = process.env.PATH;
let c: Cluster;

const ours = (app: string) => ({ 'app.kubernetes.io/managed-by': 'deploy-actions', 'deploy-actions.dev/app': app });

function write(path: string, text: string) {
  mkdirSync(dirname(join(c.workspace, path)), { recursive: true });
  writeFileSync(join(c.workspace, path), text);
}

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata: { name: shop }
spec:
  replicas: 2
  selector: { matchLabels: { app: shop } }
  template:
    metadata: { labels: { app: shop } }
    spec: { containers: [{ name: app, image: "ghcr.io/acme/shop:1.0" }] }
`;
const configMap = (name: string) =>
  `---\napiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name} }\ndata: { a: "1" }\n`;

const run = (inputs: Record<string, string>) => c.run(inputs);
const find = (resource: string, name: string) => c.find(resource, name);

beforeAll(async () => {
  c = await startCluster({
    namespace: NS,
    controllers: 'bare',
    readyAfter: '2s',
    env: { GITHUB_REPOSITORY: 'acme/shop', GITHUB_RUN_ID: '77' },
    action: canaryPromote,
  });
});

afterAll(async () => {
  await c?.stop();
  process.env.PATH = savedPath;
});

describe('strategy rolling: image-pull-secrets and prune', () => {
  it('prune deletes what the manifests dropped, keeps other apps and the canary record; pull secrets land on the pod template', async () => {
    write('k8s/shop/app.yaml', DEPLOYMENT + configMap('shop-old') + configMap('shop-settings'));
    const first = await run({ strategy: 'rolling', manifests: 'k8s/shop', app: 'shop' });
    expect(first.code).toBe(0);
    // Another app's object with our labels; the deploy's own state record carries them too.
    await c.client.create('ConfigMap', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'cart-config', namespace: NS, labels: ours('cart') },
    });
    expect(find('v1/configmaps', 'deploy-actions-shop')).toMatchObject({ metadata: { labels: ours('shop') } });

    write('k8s/shop/app.yaml', DEPLOYMENT + configMap('shop-settings'));
    const inputs = {
      strategy: 'rolling',
      manifests: 'k8s/shop',
      app: 'shop',
      prune: 'true',
      'image-pull-secrets': 'ghcr-pull, dockerhub-pull',
    };
    // A dry run only lists what prune would delete.
    const dry = await run({ ...inputs, 'dry-run': 'true' });
    expect(dry.code).toBe(0);
    expect(dry.outputs['result']).toBe('planned');
    expect(find('v1/configmaps', 'shop-old')).toBeDefined();
    expect(dry.summary).toContain('| configmap/shop-old | shop | planned |');

    const { code, outputs, summary } = await run(inputs);
    expect(code).toBe(0);
    expect(outputs['result']).toBe('deployed');
    expect(find('v1/configmaps', 'shop-old')).toBeUndefined();
    expect(find('v1/configmaps', 'shop-settings')).toBeDefined();
    expect(find('v1/configmaps', 'cart-config')).toBeDefined();
    expect(find('v1/configmaps', 'deploy-actions-shop')).toBeDefined();
    const shop = find('apps/v1/deployments', 'shop') as Deployment;
    expect(shop.spec?.template?.spec?.imagePullSecrets).toEqual([{ name: 'ghcr-pull' }, { name: 'dockerhub-pull' }]);
    expect(summary).toContain('**With:** image-pull-secrets `ghcr-pull, dockerhub-pull` · prune `true`');
    expect(summary).toContain('| configmap/shop-old | shop | pruned |');
  });

  it('refuses rolling-only and helm-only inputs with another strategy, and bad names, before anything changes', async () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ strategy: 'canary', deployments: 'shop', prune: 'true' }, /Input 'prune'.*applies to strategy rolling only/],
      [{ strategy: 'helm', release: 'shop', chart: './c', 'image-pull-secrets': 'x' }, /'image-pull-secrets'.*rolling/],
      [{ strategy: 'rolling', manifests: 'k8s/shop', 'helm-lint': 'true' }, /Input 'helm-lint'.*strategy helm only/],
      [{ strategy: 'rolling', manifests: 'k8s/shop', 'image-pull-secrets': 'Bad_Name' }, /"Bad_Name" is not a Secret/],
      [{ strategy: 'helm', release: 'shop', chart: './c', 'chart-version': '--devel' }, /Input 'chart-version'/],
      [
        { strategy: 'rolling', deployments: 'shop', images: 'app=x:2', prune: 'true' },
        /Input 'prune'.*needs manifests/,
      ],
    ];
    const before = JSON.stringify(c.sim.store.list('v1/configmaps', NS));
    for (const [inputs, error] of cases) {
      const { code, errors } = await run(inputs);
      expect(code, JSON.stringify(inputs)).toBe(1);
      expect(errors.join('\n')).toMatch(error);
    }
    expect(JSON.stringify(c.sim.store.list('v1/configmaps', NS))).toBe(before);
  });
});

describe('strategy helm: helm-lint and chart-version (fake helm on PATH)', () => {
  const MANIFEST = DEPLOYMENT.replace('metadata: { name: shop }', 'metadata: { name: shop, namespace: shop }');
  beforeAll(() => {
    writeFileSync(
      join(bin, 'helm'),
      `#!${process.execPath}
const fs = require('node:fs');
const path = require('node:path');
const args = process.argv.slice(2);
fs.appendFileSync(path.join(__dirname, 'calls.jsonl'), JSON.stringify(args) + '\\n');
const manifest = ${JSON.stringify(MANIFEST)};
switch (args[0]) {
  case 'version': console.log('v3.16.2'); break;
  case 'history': console.log(JSON.stringify([{ revision: 1, status: 'superseded' }, { revision: 2, status: 'deployed' }])); break;
  case 'lint': console.log('1 chart(s) linted, 0 chart(s) failed'); break;
  case 'template': console.log(manifest); break;
  case 'upgrade': console.log('Release "shop" has been upgraded.'); break;
  case 'status': console.log(JSON.stringify({ name: 'shop', version: 3, info: { status: 'deployed' }, chart: { metadata: { version: '1.4.2', appVersion: '1.0' } }, manifest })); break;
  default: console.error('unexpected ' + args[0]); process.exit(2);
}
`,
    );
    chmodSync(join(bin, 'helm'), 0o755);
    process.env.PATH = `${bin}${delimiter}${savedPath}`;
    write('charts/shop/Chart.yaml', 'apiVersion: v2\nname: shop\nversion: 1.4.2\n');
  });

  it('runs helm lint and helm template first, with --version on template and upgrade but not on lint', async () => {
    const { code, outputs, summary } = await run({
      strategy: 'helm',
      release: 'shop',
      chart: 'charts/shop',
      'chart-version': '1.4.2',
      'helm-lint': 'true',
      'helm-set': 'image.tag=1.0',
    });
    expect(code).toBe(0);
    expect(outputs['result']).toBe('deployed');
    const calls = readFileSync(join(bin, 'calls.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as string[]);
    const set = ['--set', 'image.tag=1.0'];
    expect(calls.slice(0, 5)).toEqual([
      ['version', '--short'],
      ['history', 'shop', '--namespace', NS, '-o', 'json'],
      ['lint', 'charts/shop', ...set],
      ['template', 'shop', 'charts/shop', '--namespace', NS, ...set, '--version', '1.4.2'],
      [
        'upgrade',
        '--install',
        'shop',
        'charts/shop',
        '--namespace',
        NS,
        ...set,
        '--version',
        '1.4.2',
        '--wait',
        '--timeout',
        '1800s',
      ],
    ]);
    expect(summary).toContain('**With:** helm-lint `true` · chart-version `1.4.2`');
  });
});
