/**
 * kube-sim with its controllers under load: 200 Deployments × 10 pods created over REST, 20 open watches,
 * then a rolling update of every Deployment (one PATCH each) carried out by the simulated controllers and
 * kubelet in real time, while 16 clients poll Deployment status as `rollout status` would. Prints request
 * latency p50/p99 (client-observed and server-side), watch events delivered, controller writes and peak
 * RSS against the targets (p99 < 20 ms, memory < 500 MB). The clients run in a worker thread, as the
 * suite's actions run in their own process: client latency is what a separate client sees.
 * Run: npx tsx bench/kube-sim/run.ts [deployments] [podsPerDeployment]
 */
import { Agent, request } from 'node:https';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { installControllers } from '../../packages/kube-sim/src/defaults';
import { KubeSim } from '../../packages/kube-sim/src/index';

const DEPLOYMENTS = Number(process.argv[2] ?? 200);
const PODS = Number(process.argv[3] ?? 10);
const WATCHES = 20;
const CLIENTS = 16;
const TARGET_P99_MS = 20;
const TARGET_RSS_MB = 500;

/**
 * The same bench before the issue #3 work (commit a5f8cdb), measured on this 2-core machine in runs
 * alternating with the current code (so both saw the same load from other processes; load average 3-4):
 * medians of 5 runs. Keyed by the row names below; printed as the "before" column.
 */
const BEFORE: Record<string, string> = {
  'client latency p50 (ms)': '8.5',
  'client latency p99 (ms)': '46.3',
  'server latency p50 (ms)': '0.8',
  'server latency p99 (ms)': '19.6',
  'server event-loop delay p99 (ms)': '30.0',
  'peak RSS (MB)': '687',
  'live heap after a full GC (MB)': '193',
  'watch events delivered': '127305',
  'rollout of all (s)': '5.1',
  'CPU time of the process, user + sys (s)': '10.6',
};

interface Report {
  latencies: number[];
  /** Event-loop delay p99 of the client thread (ms): its own share of what the clients observe. */
  clientLoopP99: number;
  /** Peak heap of the client thread (it shares the process's RSS). */
  clientHeap: number;
  watchEvents: number;
  setupMs: number;
  patchedMs: number;
  rollMs: number;
}

if (isMainThread) {
  const sim = await KubeSim.start({ historyLimit: Number(process.env.HISTORY ?? 20_000) });
  installControllers(sim, process.env.SLICE_MS ? { yieldAfterMs: Number(process.env.SLICE_MS) } : {});
  // Pods become Ready 200 ms after they start: a rollout of 10 pods takes a few waves of real time.
  sim.behaviour.set('*', { readyAfter: '200ms' });
  let peakRss = 0;
  let peakHeap = 0;
  let peakExternal = 0;
  const rssTimer = setInterval(() => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
    peakExternal = Math.max(peakExternal, m.external);
  }, 50);
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  let rvBefore = 0;
  const worker = new Worker(new URL(import.meta.url), { workerData: { url: sim.url, ca: sim.caPem } });
  const report = await new Promise<Report>((resolve, reject) => {
    worker.on('error', reject);
    worker.on('message', (m: { phase: 'rolling' } | { phase: 'done'; report: Report }) => {
      if (m.phase === 'rolling') {
        sim.stats.reset();
        loopDelay.enable();
        rvBefore = Number(sim.store.resourceVersion);
      } else resolve(m.report);
    });
  });
  loopDelay.disable();
  clearInterval(rssTimer);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  const writes = Number(sim.store.resourceVersion) - rvBefore;
  // Both threads, from start to the end of the rollout (as `time` reports it, minus the exit).
  const cpu = process.cpuUsage();
  // With --expose-gc: the live heap after the rollout (what the store and controllers really hold).
  const gc = (globalThis as { gc?: () => void }).gc;
  let liveHeapMb = '';
  if (gc) {
    gc();
    liveHeapMb = (process.memoryUsage().heapUsed / 1024 / 1024).toFixed(0);
  }
  const { latencies } = report;
  const pct = (xs: number[], p: number) => {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
  };
  const fmt = (n: number) => n.toFixed(1);
  const rssMb = peakRss / 1024 / 1024;
  const clientP99 = pct(latencies, 99);
  const serverP99 = sim.stats.percentile(99);
  const rows: [string, string, string, string][] = [
    ['client latency p50 (ms)', fmt(pct(latencies, 50)), '', ''],
    ['client latency p99 (ms)', fmt(clientP99), `< ${TARGET_P99_MS}`, clientP99 < TARGET_P99_MS ? 'ok' : 'MISSED'],
    ['server latency p50 (ms)', fmt(sim.stats.percentile(50)), '', ''],
    ['server latency p99 (ms)', fmt(serverP99), `< ${TARGET_P99_MS}`, serverP99 < TARGET_P99_MS ? 'ok' : 'MISSED'],
    ['server event-loop delay p99 (ms)', fmt(loopDelay.percentile(99) / 1e6), '', ''],
    ['client event-loop delay p99 (ms)', fmt(report.clientLoopP99), '', ''],
    ['peak RSS (MB)', rssMb.toFixed(0), `< ${TARGET_RSS_MB}`, rssMb < TARGET_RSS_MB ? 'ok' : 'MISSED'],
    ['peak heap used, server thread (MB)', (peakHeap / 1024 / 1024).toFixed(0), '', ''],
    ...(liveHeapMb ? [['live heap after a full GC (MB)', liveHeapMb, '', ''] as [string, string, string, string]] : []),
    ['peak external memory (MB)', (peakExternal / 1024 / 1024).toFixed(0), '', ''],
    ['peak heap used, client thread (MB)', (report.clientHeap / 1024 / 1024).toFixed(0), '', ''],
    ['watch events delivered', String(report.watchEvents), '', ''],
    ['writes (controllers + clients)', String(writes), '', ''],
    ['requests during rollout', String(latencies.length), '', ''],
    ['rollout of all (s)', fmt(report.rollMs / 1000), '', ''],
    ['CPU time of the process, user + sys (s)', fmt((cpu.user + cpu.system) / 1e6), '', ''],
  ];
  console.log(
    `kube-sim with controllers: ${DEPLOYMENTS} deployments x ${PODS} pods, ${WATCHES} watches, ${CLIENTS} clients polling status (worker thread)`,
  );
  console.log(
    `setup (create + first rollout): ${fmt(report.setupMs / 1000)} s; ${sim.store.count('v1/pods')} pods at the end`,
  );
  console.log(`all ${DEPLOYMENTS} PATCHes sent in ${fmt(report.patchedMs)} ms`);
  console.log('');
  console.log('| measure | value | target | | before (a5f8cdb) |');
  console.log('| --- | ---: | ---: | --- | ---: |');
  for (const [m, v, t, ok] of rows) console.log(`| ${m} | ${v} | ${t} | ${ok} | ${BEFORE[m] ?? ''} |`);
  await worker.terminate();
  await sim.stop();
  process.exit(0);
} else {
  const { url, ca } = workerData as { url: string; ca: string };
  const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS + WATCHES + 4, ca });
  let latencies: number[] = [];

  function call(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<string> {
    return new Promise((resolve, reject) => {
      const started = performance.now();
      const data = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        `${url}${path}`,
        {
          method,
          agent,
          headers: data ? { 'content-type': contentType, 'content-length': Buffer.byteLength(data) } : {},
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (chunk: string) => {
            text += chunk;
          });
          res.on('end', () => {
            latencies.push(performance.now() - started);
            if ((res.statusCode ?? 500) >= 300)
              reject(new Error(`${method} ${path}: ${res.statusCode} ${text.slice(0, 200)}`));
            else resolve(text);
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
      Array.from({ length: CLIENTS }, async () => {
        while (next < items.length) await fn(items[next++]!);
      }),
    );
  }

  let watchEvents = 0;
  let watchesOpen = 0;
  let clientHeap = 0;
  const clientLoop = monitorEventLoopDelay({ resolution: 5 });
  const heapTimer = setInterval(() => {
    clientHeap = Math.max(clientHeap, process.memoryUsage().heapUsed);
  }, 50);
  function openWatch(path: string): void {
    const req = request(`${url}${path}?watch=true`, { agent }, (res) => {
      watchesOpen++;
      res.on('data', (chunk: Buffer) => {
        // One event per line; indexOf keeps the counting cheap.
        for (let at = chunk.indexOf(10); at >= 0; at = chunk.indexOf(10, at + 1)) watchEvents++;
      });
    });
    req.on('error', () => {});
    req.end();
  }

  const apps = '/apis/apps/v1/namespaces/default';
  const names = Array.from({ length: DEPLOYMENTS }, (_, i) => `app-${i}`);
  const template = (name: string, image: string) => ({
    metadata: { labels: { app: name } },
    spec: { containers: [{ name: 'app', image, ports: [{ containerPort: 8080 }] }] },
  });

  /** Poll one Deployment until it reports a finished rollout of `image`, as `kubectl rollout status` judges it. */
  async function waitRolledOut(name: string, image: string): Promise<void> {
    for (;;) {
      const d = JSON.parse(await call('GET', `${apps}/deployments/${name}`));
      const s = d.status ?? {};
      const done =
        d.spec.template.spec.containers[0].image === image &&
        (s.observedGeneration ?? 0) >= d.metadata.generation &&
        s.updatedReplicas === PODS &&
        s.replicas === PODS &&
        s.availableReplicas === PODS;
      if (done) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const setupStart = performance.now();
  await pool(names, async (name) => {
    await call('POST', `${apps}/deployments`, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name },
      spec: { replicas: PODS, selector: { matchLabels: { app: name } }, template: template(name, 'img:1') },
    });
  });
  await pool(names, (name) => waitRolledOut(name, 'img:1'));
  const setupMs = performance.now() - setupStart;

  for (let i = 0; i < WATCHES; i++) {
    openWatch(i % 2 === 0 ? '/api/v1/pods' : i % 4 === 1 ? '/apis/apps/v1/deployments' : '/apis/apps/v1/replicasets');
  }
  while (watchesOpen < WATCHES) await new Promise((r) => setTimeout(r, 5));
  await new Promise((r) => setTimeout(r, 500)); // let the initial ADDED events drain
  watchEvents = 0;
  latencies = [];
  clientLoop.enable();
  parentPort!.postMessage({ phase: 'rolling' });
  const rollStart = performance.now();
  await pool(names, async (name) => {
    await call(
      'PATCH',
      `${apps}/deployments/${name}`,
      { spec: { template: template(name, 'img:2') } },
      'application/strategic-merge-patch+json',
    );
  });
  const patchedMs = performance.now() - rollStart;
  await pool(names, (name) => waitRolledOut(name, 'img:2'));
  const rollMs = performance.now() - rollStart;
  await new Promise((r) => setTimeout(r, 300));
  clearInterval(heapTimer);
  clientLoop.disable();
  const clientLoopP99 = clientLoop.percentile(99) / 1e6;
  const report: Report = { latencies, clientLoopP99, clientHeap, watchEvents, setupMs, patchedMs, rollMs };
  parentPort!.postMessage({ phase: 'done', report });
}
