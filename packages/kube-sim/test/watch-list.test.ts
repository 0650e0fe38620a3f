// WatchList (KEP-3157): watches with sendInitialEvents=true, as client-go's WatchListClient (helm 4) opens
// them: the current objects as ADDED, a BOOKMARK annotated k8s.io/initial-events-end, then live events.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findHelm, helmMissing } from '../../testkit/src/helm';
import { installControllers } from '../src/defaults';
import { KubeSim } from '../src/index';

let sim: KubeSim;
let kc: k8s.KubeConfig;
let core: k8s.CoreV1Api;

beforeAll(async () => {
  sim = await KubeSim.start();
  kc = new k8s.KubeConfig();
  kc.loadFromString(sim.kubeconfig());
  core = kc.makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: 'wl' } } });
  for (const name of ['a', 'b'])
    await core.createNamespacedConfigMap({ namespace: 'wl', body: { metadata: { name } } });
});

afterAll(async () => {
  await sim?.stop();
});

type Seen = { type: string; name?: string; rv: string; annotations?: Record<string, string> };

/** Opens a watch through client-node with the given query and records what arrives. */
async function watchList(query: Record<string, string | number | boolean | undefined>) {
  const seen: Seen[] = [];
  const controller = await new k8s.Watch(kc).watch(
    '/api/v1/namespaces/wl/configmaps',
    query,
    (type, obj) =>
      seen.push({
        type,
        name: obj.metadata?.name,
        rv: obj.metadata?.resourceVersion,
        ...(obj.metadata?.annotations ? { annotations: obj.metadata.annotations } : {}),
      }),
    () => {},
  );
  return { seen, stop: () => controller.abort() };
}

const WATCH_LIST = { sendInitialEvents: true, resourceVersionMatch: 'NotOlderThan', allowWatchBookmarks: true };

async function rawGet(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const { request } = await import('node:https');
  return new Promise((done, fail) => {
    const req = request(`${sim.url}${path}`, { ca: sim.caPem }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => {
        text += d;
      });
      res.on('end', () => done({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', fail);
    req.end();
  });
}

describe('watch with sendInitialEvents=true', () => {
  it('streams the current objects, then the initial-events-end bookmark at the list version, then live events', async () => {
    const listRv = sim.store.resourceVersion;
    const { seen, stop } = await watchList({ ...WATCH_LIST, resourceVersion: '' });
    await expect.poll(() => seen.length).toBe(3);
    expect(seen).toEqual([
      { type: 'ADDED', name: 'a', rv: expect.any(String) },
      { type: 'ADDED', name: 'b', rv: expect.any(String) },
      { type: 'BOOKMARK', rv: listRv, annotations: { 'k8s.io/initial-events-end': 'true' } },
    ]);
    await core.createNamespacedConfigMap({ namespace: 'wl', body: { metadata: { name: 'c' } } });
    await expect.poll(() => seen.map((e) => `${e.type} ${e.name ?? ''}`)).toContain('ADDED c');
    stop();
    await core.deleteNamespacedConfigMap({ namespace: 'wl', name: 'c' });
  });

  it('sends every current object for a given resourceVersion too (NotOlderThan is a floor, not a resume point)', async () => {
    const rv = sim.store.resourceVersion;
    await core.createNamespacedConfigMap({ namespace: 'wl', body: { metadata: { name: 'd' } } });
    const { seen, stop } = await watchList({ ...WATCH_LIST, resourceVersion: rv });
    await expect.poll(() => seen.some((e) => e.type === 'BOOKMARK')).toBe(true);
    expect(seen.map((e) => `${e.type} ${e.name ?? ''}`)).toEqual(['ADDED a', 'ADDED b', 'ADDED d', 'BOOKMARK ']);
    expect(seen[3]!.rv).toBe(sim.store.resourceVersion);
    stop();
    await core.deleteNamespacedConfigMap({ namespace: 'wl', name: 'd' });
  });

  it('with sendInitialEvents=false starts at now: no initial events and no initial-events-end bookmark', async () => {
    const { seen, stop } = await watchList({ ...WATCH_LIST, sendInitialEvents: false });
    await core.createNamespacedConfigMap({ namespace: 'wl', body: { metadata: { name: 'e' } } });
    await expect.poll(() => seen.map((e) => `${e.type} ${e.name}`)).toEqual(['ADDED e']);
    stop();
  });

  it('refuses the combinations the API server refuses, as 422 Invalid ListOptions', async () => {
    const base = '/api/v1/namespaces/wl/configmaps';
    const noMatch = await rawGet(`${base}?watch=true&sendInitialEvents=true&allowWatchBookmarks=true`);
    expect(noMatch).toEqual({
      status: 422,
      body: {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message:
          'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan',
        reason: 'Invalid',
        details: {
          name: '',
          group: 'meta.k8s.io',
          kind: 'ListOptions',
          causes: [
            {
              reason: 'FieldValueForbidden',
              message: 'Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan',
              field: 'resourceVersionMatch',
            },
          ],
        },
        code: 422,
      },
    });
    const exact = await rawGet(
      `${base}?watch=true&sendInitialEvents=true&resourceVersionMatch=Exact&resourceVersion=1`,
    );
    expect(exact.status).toBe(422);
    expect(exact.body.message).toBe(
      'ListOptions.meta.k8s.io "" is invalid: [resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan, resourceVersionMatch: Unsupported value: "Exact": supported values: "NotOlderThan"]',
    );
    const matchAlone = await rawGet(`${base}?watch=true&resourceVersionMatch=NotOlderThan&resourceVersion=1`);
    expect(matchAlone.status).toBe(422);
    expect(matchAlone.body.message).toContain(
      'resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided',
    );
    // Without watch=true it is a list, which never takes sendInitialEvents.
    const list = await rawGet(`${base}?sendInitialEvents=true&resourceVersionMatch=NotOlderThan&resourceVersion=1`);
    expect(list.status).toBe(422);
    expect(list.body.message).toBe(
      'ListOptions.meta.k8s.io "" is invalid: sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list',
    );
    const listMatch = await rawGet(`${base}?resourceVersionMatch=NotOlderThan`);
    expect(listMatch.status).toBe(422);
    expect(listMatch.body.message).toContain('resourceVersionMatch is forbidden unless resourceVersion is provided');
    // A list with a valid match still answers.
    expect((await rawGet(`${base}?resourceVersionMatch=NotOlderThan&resourceVersion=0`)).status).toBe(200);
  });
});

const helm = findHelm();
if (!helm) console.warn(`watch-list.test.ts: ${helmMissing}: helm install --wait skipped`);

describe.skipIf(!helm)('helm 4 install --wait (WatchListClient on)', () => {
  it('sees the chart Ready through a WatchList watch, without KUBE_FEATURE_WatchListClient=false', async () => {
    const cluster = installControllers(sim);
    cluster.behaviour.set('registry.local/tiny:*', { readyAfter: '0s' });
    const dir = mkdtempSync(join(tmpdir(), 'kube-sim-helm-'));
    const chart = join(dir, 'tiny');
    mkdirSync(join(chart, 'templates'), { recursive: true });
    writeFileSync(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: tiny\nversion: 0.1.0\n');
    writeFileSync(
      join(chart, 'templates', 'deployment.yaml'),
      [
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata: { name: tiny }',
        'spec:',
        '  replicas: 2',
        '  selector: { matchLabels: { app: tiny } }',
        '  template:',
        '    metadata: { labels: { app: tiny } }',
        '    spec: { containers: [{ name: app, image: "registry.local/tiny:1" }] }',
        '',
      ].join('\n'),
    );
    const kubeconfig = join(dir, 'kubeconfig');
    sim.writeKubeconfig(kubeconfig);
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: dir, KUBECONFIG: kubeconfig };
    delete env['KUBE_FEATURE_WatchListClient'];
    const before = sim.stats.count('watch', 'deployments.apps');
    const started = performance.now();
    const out = await new Promise<{ code: number; text: string }>((done) => {
      execFile(
        helm!,
        ['install', 'tiny', chart, '--namespace', 'wl', '--wait', '--timeout', '20s'],
        { env, timeout: 40_000 },
        (error, stdout, stderr) => done({ code: error ? Number(error.code ?? 1) : 0, text: `${stdout}${stderr}` }),
      );
    });
    expect(out.text).toContain('STATUS: deployed');
    expect(out.code).toBe(0);
    // Before WatchList, helm waited 30 s for the bookmark and failed.
    expect(performance.now() - started).toBeLessThan(15_000);
    expect(sim.stats.count('watch', 'deployments.apps')).toBeGreaterThan(before);
    expect(sim.store.get('apps/v1/deployments', 'wl', 'tiny').status?.readyReplicas).toBe(2);
  }, 60_000);
});
