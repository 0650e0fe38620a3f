/**
 * API machinery load on kube-sim (no controllers): 200 Deployments × 10 pods, 20 open watches, then a
 * "rolling update" done by hand over REST (patch each Deployment, a new ReplicaSet, replace its 10 pods
 * and write their status), 16 requests in flight. Prints client and server latency p50/p99, watch events
 * delivered, and peak RSS. Run: npx tsx bench/kube-sim-api/run.ts [deployments] [podsPerDeployment]
 */
import { Agent, request } from 'node:https';
import { performance } from 'node:perf_hooks';
import { KubeSim } from '../../packages/kube-sim/src/index';
import { reportResult } from '../support';

const DEPLOYMENTS = Number(process.argv[2] ?? 200);
const PODS = Number(process.argv[3] ?? 10);
const WATCHES = 20;
const IN_FLIGHT = 16;

const sim = await KubeSim.start();
const agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT + WATCHES + 4, ca: sim.caPem });
const clientLatencies: number[] = [];
let peakRss = 0;
const rssTimer = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 50);

function call(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      `${sim.url}${path}`,
      {
        method,
        agent,
        headers: data ? { 'content-type': contentType, 'content-length': Buffer.byteLength(data) } : {},
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          clientLatencies.push(performance.now() - started);
          if ((res.statusCode ?? 500) >= 300) reject(new Error(`${method} ${path}: ${res.statusCode}`));
          else resolve(res.statusCode!);
        });
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

async function pool<T>(items: T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

let watchEvents = 0;
function openWatch(path: string): void {
  const req = request(`${sim.url}${path}?watch=true&resourceVersion=${sim.store.resourceVersion}`, { agent }, (res) => {
    res.on('data', (chunk: Buffer) => {
      for (const b of chunk) if (b === 10) watchEvents++;
    });
  });
  req.on('error', () => {});
  req.end();
}

const ns = '/api/v1/namespaces/default';
const apps = '/apis/apps/v1/namespaces/default';
const names = Array.from({ length: DEPLOYMENTS }, (_, i) => `app-${i}`);
const template = (name: string, image: string) => ({
  metadata: { labels: { app: name } },
  spec: { containers: [{ name: 'app', image, ports: [{ containerPort: 8080 }] }] },
});
const pod = (name: string, i: number, rev: number, owner: { name: string; uid: string }) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: `${name}-r${rev}-${i}`,
    labels: { app: name, rev: String(rev) },
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', controller: true, ...owner }],
  },
  spec: template(name, `img:${rev}`).spec,
});

const setupStart = performance.now();
await pool(names, async (name) => {
  await call('POST', `${apps}/deployments`, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: { replicas: PODS, selector: { matchLabels: { app: name } }, template: template(name, 'img:1') },
  });
  await call('POST', `${apps}/replicasets`, {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: `${name}-r1` },
    spec: { replicas: PODS, selector: { matchLabels: { app: name } }, template: template(name, 'img:1') },
  });
  const rs = sim.store.get('apps/v1/replicasets', 'default', `${name}-r1`);
  for (let i = 0; i < PODS; i++)
    await call('POST', `${ns}/pods`, pod(name, i, 1, { name: rs.metadata.name, uid: rs.metadata.uid }));
});
const setupMs = performance.now() - setupStart;

for (let i = 0; i < WATCHES; i++) {
  openWatch(i % 2 === 0 ? '/api/v1/pods' : i % 4 === 1 ? '/apis/apps/v1/deployments' : '/apis/apps/v1/replicasets');
}
while (sim.store.watchCount < WATCHES + 1) await new Promise((r) => setTimeout(r, 5));

sim.stats.reset();
clientLatencies.length = 0;
const rollStart = performance.now();
await pool(names, async (name) => {
  await call(
    'PATCH',
    `${apps}/deployments/${name}`,
    { spec: { template: template(name, 'img:2') } },
    'application/strategic-merge-patch+json',
  );
  await call('POST', `${apps}/replicasets`, {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: `${name}-r2` },
    spec: { replicas: PODS, selector: { matchLabels: { app: name } }, template: template(name, 'img:2') },
  });
  const rs = sim.store.get('apps/v1/replicasets', 'default', `${name}-r2`);
  for (let i = 0; i < PODS; i++) {
    await call('POST', `${ns}/pods`, pod(name, i, 2, { name: rs.metadata.name, uid: rs.metadata.uid }));
    const created = sim.store.get('v1/pods', 'default', `${name}-r2-${i}`);
    await call('PUT', `${ns}/pods/${name}-r2-${i}/status`, {
      ...created,
      status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
    });
    await call('DELETE', `${ns}/pods/${name}-r1-${i}`);
  }
  await call('GET', `${ns}/pods?labelSelector=${encodeURIComponent(`app=${name}`)}`);
  await call('DELETE', `${apps}/replicasets/${name}-r1`);
  await call('GET', `${apps}/deployments/${name}`);
});
const rollMs = performance.now() - rollStart;
await new Promise((r) => setTimeout(r, 200));
clearInterval(rssTimer);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const fmt = (n: number) => n.toFixed(2);
console.log(
  `kube-sim API bench: ${DEPLOYMENTS} deployments x ${PODS} pods, ${WATCHES} watches, ${IN_FLIGHT} requests in flight`,
);
console.log(`setup: ${sim.store.count('v1/pods')} pods now, setup took ${fmt(setupMs)} ms`);
console.log(
  `rolling update: ${clientLatencies.length} requests in ${fmt(rollMs)} ms (${fmt((clientLatencies.length / rollMs) * 1000)} req/s)`,
);
console.log(
  `client latency ms: p50 ${fmt(pct(clientLatencies, 50))}  p99 ${fmt(pct(clientLatencies, 99))}  max ${fmt(pct(clientLatencies, 100))}`,
);
console.log(`server latency ms: p50 ${fmt(sim.stats.percentile(50))}  p99 ${fmt(sim.stats.percentile(99))}`);
console.log(`watch events delivered: ${watchEvents} (server counted ${sim.stats.watchEvents})`);
console.log(`peak RSS: ${(peakRss / 1024 / 1024).toFixed(0)} MB`);
reportResult({
  measure: `kube-sim API machinery (${DEPLOYMENTS} Deployments x ${PODS} pods, ${WATCHES} watches): client p99, peak RSS`,
  ours: `${fmt(pct(clientLatencies, 99))} ms, ${(peakRss / 1024 / 1024).toFixed(0)} MB`,
});
agent.destroy();
await sim.stop();
